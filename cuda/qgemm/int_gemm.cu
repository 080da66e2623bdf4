// Integer GEMM on tensor cores: W8A8 / W6A6 on int8 codes and W4A4 on packed
// signed nibbles (contract: IntGemmArgs in qgemm_args.h; rescale:
// qgemm_math.h). y = epilogue((sx[i] sw[j]) * sum_k xq[i, k] wq[j, k]).
//
// Both operands are K-contiguous int8 ([m][k] and the nn.Linear [n][k]),
// which is exactly mma.sync's "row.col" for int8. The pipeline is the f16
// GEMM's (gemm_tensorcore.cuh, whose tile loaders and ldmatrix wrappers this
// file reuses): an int8 pair is moved as one 16-bit element, so a shared
// tile of BK int8 is BK / 2 "elements", 16-byte cp.async chunks stay 16 bytes,
// and ldmatrix's 8 x 8 b16 matrices are 8 rows x 16 int8. One k16 step of the
// f16 fragment layout is then one k32 step of int8:
//   sm_80+ : cp.async ring, mma.sync m16n8k32 s8.s8.s32 per fragment;
//   sm_75  : register-staged double buffer, and m16n8k32 = four m8n8k16 s8
//            (rows 0-7 / 8-15 x k 0-15 / 16-31), which is all Turing has.
// Accumulators are int32 and exact (|sum| < 2^31 for k < 131072).
//
// W4A4 runs the same tiles over the packed bytes: a byte holds two codes, so
// one k16 step of 16-bit units is k64 of int4, and ldmatrix hands each thread
// exactly the int4 fragment of mma.sync m16n8k64 (8 nibbles per register,
// the lowest k in the lowest bits: quantize()'s packing). Per architecture:
//   sm_80..89: mma.sync m16n8k64 s4 (twice the int8 rate, and half the bytes);
//   sm_75    : four m8n8k32 s4 (Turing's int4 MMA);
//   sm_90+   : Hopper has no int4 in wgmma and runs int4 mma.sync at a
//              fraction of the int8 rate, so each s4 register is widened in
//              registers to two int8x4 (nibble sign-extension with __vsub4)
//              and fed to two m16n8k32 s8: the data still moves packed
//              (global, shared, ldmatrix), only the MMA sees int8. A dot
//              product does not care how k is permuted as long as A and B
//              agree, and lo / hi halves of A and B registers map k the same
//              way (k 8t..8t+3 and 8t+4..8t+7), so the sums are exact.
//
// Requirements for the tensor-core path (the host checks): rows of whole
// 16-byte chunks (k % 16 == 0 for int8, k % 32 == 0 for int4) and 16-byte
// aligned xq / wq. Anything else runs a warp-per-output
// SIMT kernel (exact int32 too). Small problems split K (qgemm_common.cuh);
// the int32 partial sums are added in split order, so results are exact and
// identical to the CPU backend's whatever the split.
//
// On an H100 (compute 9.0, built with sm_90 in the list) large W8A8 / W6A6
// problems go to the int8 wgmma + TMA kernel instead (int_gemm_wgmma_sm90a.cu),
// which computes the same exact sums and the same epilogue.
#include <cstdint>
#include "../gemm/gemm_tensorcore.cuh"
#ifdef GERM_HAVE_SM90A
#include "../gemm/gemm_sm90a.h"
#include "int_gemm_sm90a.h"
#endif
#include "qgemm.h"
#include "qgemm_common.cuh"
#include "qgemm_pipeline.cuh"

namespace germ::kernels {
namespace {

using gemm_detail::ldmatrix_x4;
using gemm_detail::TcTraits;
using gemm_detail::TileIO;
using namespace qgemm_detail;

// Tile configs in 16-bit units along K (BK 32 = 64 int8). Large: the f16
// GEMM's 128 x 128 (same shared-memory footprint and warp layout). Small:
// 32 x 64, 4 warps, BK 128 int8, 3 stages (41 KB, no opt-in) for M up to a
// few hundred tokens, where the weight's bytes dominate and many blocks (plus
// split-K) must stream it.
using IntLarge = TcTraits<128, 128, 32, 2, 4, 4, 2>;
using IntSmall = TcTraits<32, 64, 64, 2, 2, 3, 1>;

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750 && __CUDA_ARCH__ < 800
// sm_75 has no m16n8 integer MMA: the m16n8 product as four m8n8 ones, int8
// (k16 each) or, kS4, int4 (k32 each). a0: rows 0-7 of the first K half, a1:
// rows 8-15 of it, a2 / a3: the same of the second half; b0 / b1: the K
// halves. The m8n8 accumulator (row g, cols 2t, 2t+1) is d0, d1 for rows 0-7
// and d2, d3 for rows 8-15.
template <bool kS4>
__device__ __forceinline__ void mma_m8n8_x4(int (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    int& lo = d[(i & 1) * 2];
    int& hi = d[(i & 1) * 2 + 1];
    const uint32_t b = i < 2 ? b0 : b1;
    if constexpr (kS4)
      asm volatile("mma.sync.aligned.m8n8k32.row.col.s32.s4.s4.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
                   : "+r"(lo), "+r"(hi) : "r"(a[i]), "r"(b));
    else
      asm volatile("mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
                   : "+r"(lo), "+r"(hi) : "r"(a[i]), "r"(b));
  }
}
#endif

// d += a * b, int8 m16n8k32 (A: 4 regs of 4 int8, B: 2 regs, D: 4 int32).
__device__ __forceinline__ void mma_s8_16832(int (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
               "{%0,%1,%2,%3};\n"
               : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  mma_m8n8_x4<false>(d, a, b0, b1);
#endif
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
// An int8x4 from the low 4 nibbles of v, each sign-extended into its own byte.
__device__ __forceinline__ uint32_t s4_to_s8x4(uint32_t v) {
  const uint32_t spread = (v & 0xfu) | ((v & 0xf0u) << 4) | ((v & 0xf00u) << 8) | ((v & 0xf000u) << 12);
  return __vsub4(spread ^ 0x08080808u, 0x08080808u);  // (n ^ 8) - 8 per byte
}
#endif

// d += a * b, int4 m16n8k64 (A: 4 regs of 8 nibbles, B: 2 regs, D: 4 int32).
__device__ __forceinline__ void mma_s4_16864(int (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  const uint32_t alo[4] = {s4_to_s8x4(a[0]), s4_to_s8x4(a[1]), s4_to_s8x4(a[2]), s4_to_s8x4(a[3])};
  const uint32_t ahi[4] = {s4_to_s8x4(a[0] >> 16), s4_to_s8x4(a[1] >> 16), s4_to_s8x4(a[2] >> 16),
                           s4_to_s8x4(a[3] >> 16)};
  mma_s8_16832(d, alo, s4_to_s8x4(b0), s4_to_s8x4(b1));
  mma_s8_16832(d, ahi, s4_to_s8x4(b0 >> 16), s4_to_s8x4(b1 >> 16));
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k64.row.col.s32.s4.s4.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
               "{%0,%1,%2,%3};\n"
               : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  mma_m8n8_x4<true>(d, a, b0, b1);
#endif
}

// Codes per 16-bit unit of a row: 2 int8, or 4 int4.
template <int kBits>
constexpr int kCodesPerUnit = kBits == 4 ? 4 : 2;

template <class Tr, int kBits>
struct IntGemm {
  using Tile = uint16_t;  // two int8 or four int4 codes
  using TileA = TileIO<Tile, Tr::BM, Tr::BK, Tr::kThreads, Tr::kPad>;
  using TileB = TileIO<Tile, Tr::BN, Tr::BK, Tr::kThreads, Tr::kPad>;
  static constexpr int kTileAElems = Tr::BM * TileA::kLd;
  static constexpr int kStageElems = kTileAElems + Tr::BN * TileB::kLd;
  static constexpr int smem_bytes(int stages) { return stages * kStageElems * 2; }

  // One step of 16 units (k32 int8 / k64 int4): the f16 GEMM's fragment
  // addressing for K-contiguous A and B.
  static __device__ __forceinline__ void mma_step(const Tile* sA, const Tile* sB, int ks, int warp_m0, int warp_n0,
                                                  int lane, int (&acc)[Tr::kMFrags][Tr::kNFrags][4]) {
    const int quad = lane >> 3, r8 = lane & 7;
    uint32_t a[Tr::kMFrags][4], b[Tr::kNFrags][2];
#pragma unroll
    for (int i = 0; i < Tr::kMFrags; ++i)
      ldmatrix_x4(a[i], sA + (warp_m0 + i * 16 + (lane & 15)) * TileA::kLd + ks * 16 + (lane >> 4) * 8);
#pragma unroll
    for (int j = 0; j < Tr::kNFrags; j += 2) {
      uint32_t r[4];
      ldmatrix_x4(r, sB + (warp_n0 + j * 8 + (quad >> 1) * 8 + r8) * TileB::kLd + ks * 16 + (quad & 1) * 8);
      b[j][0] = r[0]; b[j][1] = r[1]; b[j + 1][0] = r[2]; b[j + 1][1] = r[3];
    }
#pragma unroll
    for (int i = 0; i < Tr::kMFrags; ++i)
#pragma unroll
      for (int j = 0; j < Tr::kNFrags; ++j) {
        if constexpr (kBits == 4) mma_s4_16864(acc[i][j], a[i], b[j][0], b[j][1]);
        else mma_s8_16832(acc[i][j], a[i], b[j][0], b[j][1]);
      }
  }

  // blockIdx.x: output tile (row-major over tiles), blockIdx.y: K split.
  // splits == 1 runs the epilogue; otherwise int32 partials go to
  // part[split][m][n] for the reduction kernel.
  template <typename Out>
  static __device__ __forceinline__ void run(const IntGemmArgs& p, int splits, int32_t* part, Tile* smem) {
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int warp_m0 = (warp / Tr::kWarpsN) * Tr::kWarpTileM, warp_n0 = (warp % Tr::kWarpsN) * Tr::kWarpTileN;
    const int64_t tiles_n = ceil_div(p.n, Tr::BN);
    const int64_t tm = blockIdx.x / tiles_n, tn = blockIdx.x % tiles_n;
    const int64_t m0 = tm * Tr::BM, n0 = tn * Tr::BN, k_units = p.k / kCodesPerUnit<kBits>;
    int64_t kt0, kt1;
    split_range(ceil_div(k_units, Tr::BK), splits, blockIdx.y, &kt0, &kt1);
    const Tile* gA = reinterpret_cast<const Tile*>(p.xq);
    const Tile* gB = reinterpret_cast<const Tile*>(p.wq);

    int acc[Tr::kMFrags][Tr::kNFrags][4];
    for_each_acc<Tr::kMFrags, Tr::kNFrags>(0, 0, 0, [&](int i, int j, int e, int, int) { acc[i][j][e] = 0; });
    // Stage (kt - kt0) % stages of the ring.
    auto stage = [&](int64_t kt, int stages) { return smem + ((kt - kt0) % stages) * kStageElems; };
    auto compute = [&](int64_t kt, int stages) {
      const Tile* s = stage(kt, stages);
#pragma unroll
      for (int ks = 0; ks < Tr::BK / 16; ++ks) mma_step(s, s + kTileAElems, ks, warp_m0, warp_n0, lane, acc);
    };
#if __CUDA_ARCH__ >= 800
    constexpr int S = Tr::kStagesAsync;
    async_ring<S>(kt0, kt1, [&](int64_t kt) {
      TileA::load_async(stage(kt, S), gA, k_units, m0, kt * Tr::BK, p.m, k_units, tid);
      TileB::load_async(stage(kt, S) + kTileAElems, gB, k_units, n0, kt * Tr::BK, p.n, k_units, tid);
    }, [&](int64_t kt) { compute(kt, S); });
#elif __CUDA_ARCH__ >= 750
    uint4 ra[TileA::kPerThread], rb[TileB::kPerThread];
    register_double_buffer(kt0, kt1, [&](int64_t kt) {
      TileA::load_regs(ra, gA, k_units, m0, kt * Tr::BK, p.m, k_units, tid);
      TileB::load_regs(rb, gB, k_units, n0, kt * Tr::BK, p.n, k_units, tid);
    }, [&](int64_t kt) {
      TileA::store_regs(stage(kt, 2), ra, tid);
      TileB::store_regs(stage(kt, 2) + kTileAElems, rb, tid);
    }, [&](int64_t kt) { compute(kt, 2); });
#endif

    write_tile(acc, m0, n0, p.m, p.n, warp_m0, warp_n0, lane, splits, part,
               [&](int64_t row, int64_t col, int32_t v) { int_store<Out>(p, row, col, v); });
  }
};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#define GERM_INT_MIN_BLOCKS(Tr) 1
#else
#define GERM_INT_MIN_BLOCKS(Tr) Tr::kMinBlocks
#endif

template <class Tr, int kBits, typename Out>
__global__ void __launch_bounds__(Tr::kThreads, GERM_INT_MIN_BLOCKS(Tr))
    int_tc_kernel(IntGemmArgs p, int splits, int32_t* part) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  extern __shared__ uint4 smem_raw[];
  IntGemm<Tr, kBits>::template run<Out>(p, splits, part, reinterpret_cast<uint16_t*>(smem_raw));
#endif
}

// Sums the splits' int32 partials in split order, then the epilogue.
template <typename Out>
__global__ void int_reduce_kernel(IntGemmArgs p, int splits, const int32_t* __restrict__ part) {
  const int64_t total = p.m * p.n;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    int32_t s = 0;
    for (int z = 0; z < splits; ++z) s += part[z * total + i];
    int_store<Out>(p, i / p.n, i % p.n, s);
  }
}

// Fallback for unaligned or odd k: one warp per output, lanes stride K
// (coalesced int8 reads of both rows), exact int32 butterfly sum.
template <typename Out>
__global__ void __launch_bounds__(256) int_simt_kernel(IntGemmArgs p) {
  const int lane = threadIdx.x & 31;
  const int64_t total = p.m * p.n, step = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t o = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32; o < total; o += step) {
    const int64_t row = o / p.n, col = o % p.n, stride = p.bits == 4 ? (p.k + 1) / 2 : p.k;
    const int8_t* x = p.xq + row * stride;
    const int8_t* w = p.wq + col * stride;
    int32_t s = 0;
    for (int64_t c = lane; c < p.k; c += 32) s += int_code(x, c, p.bits) * int_code(w, c, p.bits);
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
    if (lane == 0) int_store<Out>(p, row, col, s);
  }
}

Plan plan(const IntGemmArgs& a) {
  Plan pl;
  DeviceInfo d;
  if (device_info(&d) != cudaSuccess || d.cc < 75) return pl;
  pl.tc = a.k % (a.bits == 4 ? 32 : 16) == 0 && aligned_to(a.xq, 16) && aligned_to(a.wq, 16);
  if (!pl.tc) return pl;
  const int64_t large_tiles = ceil_div(a.m, IntLarge::BM) * ceil_div(a.n, IntLarge::BN);
  pl.large = large_tiles >= d.sm_count;
  if (pl.large) { pl.tiles = large_tiles; return pl; }
  pl.tiles = ceil_div(a.m, IntSmall::BM) * ceil_div(a.n, IntSmall::BN);
  pl.splits = split_k(pl.tiles, ceil_div(a.k / (a.bits == 4 ? 4 : 2), IntSmall::BK), d.sm_count);
  return pl;
}

template <class Tr, int kBits, typename Out>
cudaError_t launch_tc(const IntGemmArgs& a, const Plan& pl, int32_t* part, cudaStream_t stream) {
  const cudaError_t e = launch_planned<Tr>(int_tc_kernel<Tr, kBits, Out>, IntGemm<Tr, kBits>::smem_bytes(Tr::kStagesAsync),
                                           IntGemm<Tr, kBits>::smem_bytes(Tr::kStagesRegs), pl, stream, a, pl.splits,
                                           part);
  if (e != cudaSuccess) return e;
  if (pl.splits > 1)
    int_reduce_kernel<Out><<<grid_stride_blocks(a.m * a.n, 256), 256, 0, stream>>>(a, pl.splits, part);
  return cudaGetLastError();
}

}  // namespace

size_t qgemm_int_workspace_bytes(const IntGemmArgs& a) {
  return a.m > 0 && a.n > 0 ? plan(a).workspace_bytes(a.m, a.n, sizeof(int32_t)) : 0;
}

cudaError_t qgemm_int(const IntGemmArgs& a, void* workspace, cudaStream_t stream) {
  if (a.m < 0 || a.n < 0 || a.k <= 0 || (a.bits != 8 && a.bits != 4)) return cudaErrorInvalidValue;
  if (a.m == 0 || a.n == 0) return cudaSuccess;
  // Tiles index grid x (< 2^31); M or N that large would not fit memory anyway.
  if (ceil_div(a.m, IntSmall::BM) * ceil_div(a.n, IntSmall::BN) > 0x7fffffff) return cudaErrorInvalidValue;
  const Plan pl = plan(a);
  if (pl.splits > 1 && workspace == nullptr) return cudaErrorInvalidValue;
#ifdef GERM_HAVE_SM90A
  // Hopper: int8 wgmma + TMA (int_gemm_wgmma_sm90a.cu) for W8A8 / W6A6 once
  // 128 x 128 tiles fill the GPU (the plan's large tiles, so no K split and no
  // workspace); smaller problems stream the weight better through the small
  // tiles and split K. It declines what the copy engine cannot read. W4A4
  // stays below: wgmma has no int4.
  DeviceInfo dev;
  if (a.bits == 8 && pl.tc && pl.large && device_info(&dev) == cudaSuccess && dev.cc == 90 && sm90a_enabled()) {
    bool launched = false;
    const cudaError_t err = qgemm_int_sm90a(a, dev.sm_count, stream, &launched);
    if (launched || err != cudaSuccess) return err;
  }
#endif
  auto* part = static_cast<int32_t*>(workspace);
  return dispatch_out(a.ep.out_dtype, true, [&](auto tag) -> cudaError_t {
    using Out = decltype(tag);
    if (!pl.tc) {
      int_simt_kernel<Out><<<grid_stride_blocks(a.m * a.n, 8), 256, 0, stream>>>(a);
      return cudaGetLastError();
    }
    if (a.bits == 4)
      return pl.large ? launch_tc<IntLarge, 4, Out>(a, pl, part, stream) : launch_tc<IntSmall, 4, Out>(a, pl, part, stream);
    return pl.large ? launch_tc<IntLarge, 8, Out>(a, pl, part, stream) : launch_tc<IntSmall, 8, Out>(a, pl, part, stream);
  });
}

}  // namespace germ::kernels
