// What the fused attention kernels (forward and backward) share: tile traits,
// the 16-byte tile loader, each thread's fragment coordinates and fragment
// packing. The score transform has a header per concern: alibi.cuh, masks.cuh,
// online_softmax.cuh, dropout.cuh; the per-sequence geometry is
// contract/seq_info.h. PTX wrappers (ldmatrix, mma_16816) come from the GEMM
// (cuda/gemm/gemm_tensorcore.cuh) so there is one copy of that asm.
//
// Fragment vocabulary (mma.sync m16n8k16, see gemm_tensorcore.cuh): in a warp,
// g = lane / 4 and t = lane % 4. An accumulator c[4] of a 16x8 tile holds
// (row g, cols 2t, 2t+1) in c0, c1 and (row g + 8, same cols) in c2, c3. The A
// fragment of a 16x16 tile is {(g, 2t..), (g+8, 2t..), (g, 2t+8..), (g+8, 2t+8..)}
// as f16x2 / bf16x2, so two neighbouring accumulators (n-frags 2k, 2k+1) repack
// into one A fragment without leaving registers (FA2's register-resident P).
#pragma once
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <type_traits>
#include "../common/dtype_io.cuh"
#include "../gemm/gemm_tensorcore.cuh"
#include "../../contract/attention_params.h"
#include "../../contract/seq_info.h"

namespace germ::kernels::attn_detail {

using gemm_detail::ldmatrix_x4;
using gemm_detail::ldmatrix_x4_trans;
using gemm_detail::mma_16816;

constexpr int kThreads = 128;  // 4 warps in every fused kernel

// ---- tile traits ---------------------------------------------------------------
//
// Forward: each CTA owns kBlockM query rows of one (batch, head); each of the 4
// warps owns kMFrags x 16 of them and sweeps kBlockN keys per step. Register
// budget per thread (f32): S = kMFrags*kBlockN/2, O = kMFrags*D/2, Q fragments
// kMFrags*D/4 (Q stays in registers for the whole key loop).
//   d=32 : 128 x 64. S 64 + O 32 + Q 16: two m-frags per warp let every K / V
//          fragment read from shared memory feed two MMAs.
//   d=64 : 128 x 64. S 64 + O 64 + Q 32 (243 registers, 2 CTAs/SM); 128 keys
//          would double S and spill.
//   d=128: 64 x 64, one m-frag per warp: S 32 + O 64 + Q 32. 128 rows would need
//          O 128 + S 64 + Q 64 > 255 registers.
// kMinBlocks: __launch_bounds__ CTAs/SM. kQInRegs false re-reads Q from shared
// memory per k-step (32 fewer registers). Measured at d=64 on the H100 (f16,
// B=32, H=12, softmax1+ALiBi, N=4096): 2 CTAs with Q in registers 296 TFLOP/s
// (243 registers); 3 CTAs (168 registers) 220 with Q in registers (568 B
// spilled), 282 with Q re-read (152 B spilled); 2 CTAs with Q re-read 278.
// Shared memory rows are padded by 8 elements (16 B): conflict-free ldmatrix and
// cp.async stores without swizzle arithmetic (same argument as gemm_traits.h).
template <int D> struct FwdTraits;
template <> struct FwdTraits<32> { static constexpr int kBlockM = 128, kBlockN = 64, kMinBlocks = 1; static constexpr bool kQInRegs = true; };
template <> struct FwdTraits<64> { static constexpr int kBlockM = 128, kBlockN = 64, kMinBlocks = 2; static constexpr bool kQInRegs = true; };
template <> struct FwdTraits<128> { static constexpr int kBlockM = 64, kBlockN = 64, kMinBlocks = 1; static constexpr bool kQInRegs = true; };

// Backward: each CTA owns kBlockN = 64 keys (16 per warp, so dK and dV stay in
// registers: 2 * D/2 floats) and loops over query blocks of kBlockM rows.
// S^T and dP^T (keys x queries) are kBlockM/2 floats each.
//   d<=64: 64 queries per step. d=128: 32, since dK + dV already take 128.
// kMinBlocks is the __launch_bounds__ occupancy target (CTAs of 4 warps per SM).
// The kernel is latency-bound: capping d<=64 at 168 registers (3 CTAs, 12 warps
// per SM instead of 8; a few spilled bytes) doubled its speed on the H100. 32
// queries x 4 CTAs measured the same at d=64. d=128 needs its 255.
template <int D> struct BwdTraits {
  static constexpr int kBlockN = 64, kBlockM = D <= 64 ? 64 : 32, kMinBlocks = D <= 64 ? 3 : 2;
};

// ex2.approx.ftz: exp2 without exp2f's denormal fix-up (P below 2^-126 flushes
// to 0, far under f16 / bf16 resolution); ex2(-inf) = +0.
__device__ __forceinline__ float ex2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

template <int D> constexpr int kLd = D + 8;  // padded shared row (elements)

// ---- async copy (cp.async on sm_80+, plain load/store on sm_75) ----------------
// The same pipeline code runs on both: on Turing the "async" copy completes at
// once, so the waits are no-ops and the barriers alone order the buffers.
__device__ __forceinline__ void copy_16(void* dst, const void* src, bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(gemm_detail::smem_u32(dst)), "l"(src),
               "r"(valid ? 16 : 0));
#else
  *reinterpret_cast<uint4*>(dst) = valid ? *reinterpret_cast<const uint4*>(src) : make_uint4(0, 0, 0, 0);
#endif
}
__device__ __forceinline__ void copy_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}
__device__ __forceinline__ void copy_wait_all() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group 0;\n" ::);
#endif
}

// Rows [0, R) x D columns of g (row stride `ld` elements) into s (row kLd<D>);
// rows >= rows_valid are zero-filled, so padding keys contribute exact zeros
// (a NaN left in shared memory would survive a 0 * NaN in the P V product).
template <int R, int D, typename T>
__device__ __forceinline__ void load_tile(T* s, const T* g, int64_t ld, int rows_valid, int tid) {
  constexpr int kChunksPerRow = D / 8, kChunks = R * kChunksPerRow;
  static_assert(kChunks % kThreads == 0, "whole chunks per thread");
#pragma unroll
  for (int i = 0; i < kChunks / kThreads; ++i) {
    const int id = tid + i * kThreads;
    const int r = id / kChunksPerRow, c = (id % kChunksPerRow) * 8;
    const bool ok = r < rows_valid;
    copy_16(s + r * kLd<D> + c, ok ? g + r * ld + c : g, ok);
  }
}

// ---- fragments -------------------------------------------------------------------

// This thread's place: tid in the CTA, its warp and lane, g and t of the
// fragment vocabulary above, and quad (lane / 8) and r8 (lane % 8), which pick
// the 8x8 matrix and the row whose address the lane gives an ldmatrix.x4.
struct Lane {
  int tid, lane, warp, g, t, quad, r8;
};
__device__ __forceinline__ Lane this_lane() {
  const int tid = threadIdx.x, lane = tid & 31;
  return Lane{tid, lane, tid >> 5, lane >> 2, lane & 3, lane >> 3, lane & 7};
}

// Two neighbouring n8 accumulators from one A fragment and an ldmatrix.x4 of
// B that holds both n-frags' B fragments (b[0..1] the first, b[2..3] the second).
template <typename T>
__device__ __forceinline__ void mma_16816_x2(float (&c0)[4], float (&c1)[4], const uint32_t (&a)[4],
                                             const uint32_t (&b)[4]) {
  mma_16816<T>(c0, a, b[0], b[1]);
  mma_16816<T>(c1, a, b[2], b[3]);
}

// A fragment for k-step kk from accumulators of n-frags 2kk and 2kk+1.
template <typename T>
__device__ __forceinline__ void acc_to_a(uint32_t (&a)[4], const float (&c0)[4], const float (&c1)[4]) {
  a[0] = pack2<T>(c0[0], c0[1]);
  a[1] = pack2<T>(c0[2], c0[3]);
  a[2] = pack2<T>(c1[0], c1[1]);
  a[3] = pack2<T>(c1[2], c1[3]);
}

__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

}  // namespace germ::kernels::attn_detail

namespace germ::kernels {
// Host helpers of the fused launchers (attention_fwd.cu).
int attention_code_arch();
cudaError_t attention_fused_check(const AttentionParams& p);
}  // namespace germ::kernels
