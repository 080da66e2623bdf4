// Hopper W8A8 / W6A6: acc = xq wq^T on int8 wgmma (m64nNk32 s8.s8 -> exact
// s32), then y = epilogue((sx[i] * sw[j]) * acc) or the raw int32 sums, the
// same per-element arithmetic as int_gemm.cu and the CPU backend
// (qgemm_common.cuh's int_output), so results match them bit for bit.
//
// Why: on an H100 the mma.sync int8 kernel (int_gemm.cu) runs at ~0.6x of
// cuBLAS f16, for the reason the f16 mma.sync kernel is slow there (one warp's
// register-fed MMAs at a time). The pipeline is the f16 Hopper GEMM's
// (../gemm/sm90a_gemm_loop.cuh): xq [m][k] and wq [n][k] are both
// K-contiguous, which is the only layout integer wgmma reads (K-major), and a
// 128-byte k-tile row is 128 int8 = 4 wgmma k32 steps, as it is 64 f16 = 4
// k16 steps there. TMA zero-fills K past its end, so K need only be a
// multiple of 16 (the copy engine's 16-byte row stride), not of 128.
//
// The epilogue is what made this kernel slow (ncu source sampling at 4096^3:
// 70% of stall samples there, mostly instruction-fetch stalls, then waits on
// scale loads): the unrolled 128 outputs per thread each carried an inlined
// GELU behind a branch (~10k instructions, far past the instruction cache),
// and each output's scale loads waited behind the previous output's store.
// So GELU is a compile-time choice (no GELU code at all in the common
// kernels), and the epilogue takes whole accumulator blocks, loading their
// scales ahead of the stores (int_store_block).
#include <cstdint>
#include <type_traits>
#include "../gemm/sm90a_gemm_loop.cuh"
#include "int_gemm_sm90a.h"
#include "qgemm_common.cuh"

namespace germ::kernels {
namespace {

using namespace gemm_detail;

// One pair of outputs, (row, col) and (row, col + 1), col even, row and col in
// range: one 2-element store when y's rows keep pairs aligned (n even, y
// aligned to a pair), else one by one.
template <typename Out>
__device__ __forceinline__ void store_out_pair(const IntGemmArgs& p, bool pairs_aligned, int64_t row, int64_t col,
                                               Out o0, Out o1) {
  Out* dst = static_cast<Out*>(p.ep.y) + row * p.n + col;
  if (col + 1 >= p.n) dst[0] = o0;
  else store_pair(dst, pairs_aligned, o0, o1);
}

// A thread's share of an m64 block (gemm_detail::BlockStore's layout): the
// exact int32 sums for i32, else qgemm_common.cuh's per-output arithmetic
// (rescale, bias, GELU, one rounding), so results stay bit for bit those of
// the other backends. The row scales are loaded once, and the column scales
// and bias of kGroup chunks at a time before any of their stores, so a
// thread waits out a load once per group, not once per output. kGroup 8
// holds 32 more registers; ping-pong warpgroups, which hold two blocks, spill
// with it and take 4.
template <typename Out, bool kGelu, int kGroup, int kAccum>
__device__ __forceinline__ void int_store_block(const IntGemmArgs& p, bool pairs_aligned, int64_t row, int64_t col0,
                                                const int32_t (&acc)[kAccum]) {
  constexpr int kChunks = kAccum / 4;
  static_assert(kChunks % kGroup == 0, "whole groups of 8-column chunks");
  constexpr bool kRaw = std::is_same<Out, int32_t>::value;
  const bool in0 = row < p.m, in1 = row + 8 < p.m;
  const bool has_bias = p.ep.bias != nullptr;
  float sx0 = 0.f, sx1 = 0.f;
  if constexpr (!kRaw) {
    if (in0) sx0 = p.sx[row];
    if (in1) sx1 = p.sx[row + 8];
  }
#pragma unroll
  for (int g = 0; g < kChunks; g += kGroup) {
    float sw[kGroup][2], bias[kGroup][2];
    if constexpr (!kRaw) {
#pragma unroll
      for (int j = 0; j < kGroup; ++j)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int64_t col = col0 + 8 * (g + j) + h;
          sw[j][h] = col < p.n ? p.sw[col * p.sw_stride] : 0.f;
          bias[j][h] = has_bias && col < p.n ? p.ep.bias[col] : 0.f;
        }
    }
#pragma unroll
    for (int j = 0; j < kGroup; ++j) {
      const int c = 4 * (g + j);
      const int64_t col = col0 + 8 * (g + j);
      if (col >= p.n) continue;
      auto out = [&](int i, float sx, int h) -> Out {
        if constexpr (kRaw) return acc[c + i];
        else return qgemm_detail::finish_value<Out>(int_rescale(acc[c + i], sx, sw[j][h]), has_bias, bias[j][h], kGelu);
      };
      if (in0) store_out_pair<Out>(p, pairs_aligned, row, col, out(0, sx0, 0), out(1, sx0, 1));
      if (in1) store_out_pair<Out>(p, pairs_aligned, row + 8, col, out(2, sx1, 0), out(3, sx1, 1));
    }
  }
}

template <class Tr, typename Out, bool kGelu>
__global__ void __launch_bounds__(Tr::kThreads, 1)
    int_gemm_wgmma_kernel(const __grid_constant__ CUtensorMap map_x, const __grid_constant__ CUtensorMap map_w,
                          const IntGemmArgs p, bool pairs_aligned) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  wgmma_gemm_body<Tr>(map_x, map_w, p.m, p.n, p.k, 1,
                      block_store([&](int64_t, int64_t row, int64_t col0, const int32_t (&acc)[Tr::kAccum]) {
                        int_store_block<Out, kGelu, Tr::kMSub == 1 ? 8 : 4>(p, pairs_aligned, row, col0, acc);
                      }));
#endif
}

// A [rows, k] int8 operand, read in 128-byte x box_rows boxes. The copy
// engine has no signed 8-bit type; it moves bytes, so UINT8 carries the codes
// unchanged (and its out-of-range fill, 0, is the int8 zero too).
bool encode_codes(CUtensorMap* map, const int8_t* codes, int64_t rows, int64_t k, int box_rows) {
  return encode_kmajor_operand(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, codes, rows, k, k, 1, 0, box_rows);
}

}  // namespace

cudaError_t qgemm_int_sm90a(const IntGemmArgs& a, int sm_count, cudaStream_t stream, bool* launched) {
  *launched = false;
  if (a.bits != 8 || a.m <= 0 || a.n <= 0 || a.k <= 0 || a.k % 16 != 0) return cudaSuccess;
  const int64_t lim = int64_t(1) << 31;  // TMA coordinates are 32-bit
  if (a.m >= lim || a.n >= lim || a.k >= lim) return cudaSuccess;

  const WgmmaKind kind = choose_wgmma_kind(a.m, a.n, 1, ceil_div(a.k, 128), sm_count);
  CUtensorMap map_x, map_w;
  if (!encode_codes(&map_x, a.xq, a.m, a.k, 128) ||
      !encode_codes(&map_w, a.wq, a.n, a.k, kind == WgmmaKind::Cooperative256 ? 256 : 128))
    return cudaSuccess;
  *launched = true;
  return qgemm_detail::dispatch_out(a.ep.out_dtype, true, [&](auto tag) -> cudaError_t {
    using Out = decltype(tag);
    const bool pairs_aligned = a.n % 2 == 0 && aligned_to(a.ep.y, 2 * sizeof(Out));
    return with_wgmma_traits<int8_t>(kind, [&](auto tr) {
      using Tr = decltype(tr);
      auto launch = [&](auto kernel) {
        return launch_persistent<Tr>(kernel, a.m, a.n, 1, sm_count, stream, map_x, map_w, a, pairs_aligned);
      };
      // Raw int32 sums have no epilogue, so no GELU variant.
      if constexpr (!std::is_same<Out, int32_t>::value)
        if (a.ep.gelu) return launch(int_gemm_wgmma_kernel<Tr, Out, true>);
      return launch(int_gemm_wgmma_kernel<Tr, Out, false>);
    });
  });
}

}  // namespace germ::kernels
