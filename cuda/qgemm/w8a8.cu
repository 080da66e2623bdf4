// W8A8 GEMM on int8 tensor cores (contract: qgemm_args.h; rescale:
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
// Requirements for the tensor-core path (the host checks): k % 16 == 0 (16-
// byte rows) and 16-byte aligned xq / wq. Anything else runs a warp-per-output
// SIMT kernel (exact int32 too). Small problems split K (qgemm_common.cuh);
// the int32 partial sums are added in split order, so results are exact and
// identical to the CPU backend's whatever the split.
#include <cstdint>
#include "../gemm/gemm_tensorcore.cuh"
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
using W8Large = TcTraits<128, 128, 32, 2, 4, 4, 2>;
using W8Small = TcTraits<32, 64, 64, 2, 2, 3, 1>;

// d += a * b, int8 m16n8k32 (A: 4 regs of 4 int8, B: 2 regs, D: 4 int32).
__device__ __forceinline__ void mma_s8_16832(int (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
               "{%0,%1,%2,%3};\n"
               : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  // a0: rows 0-7 k 0-15, a1: rows 8-15 k 0-15, a2 / a3: the same at k 16-31;
  // b0: k 0-15, b1: k 16-31. The m8n8 accumulator (row g, cols 2t, 2t+1) is
  // d0, d1 for rows 0-7 and d2, d3 for rows 8-15.
  asm volatile("mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(d[0]), "+r"(d[1]) : "r"(a[0]), "r"(b0));
  asm volatile("mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(d[2]), "+r"(d[3]) : "r"(a[1]), "r"(b0));
  asm volatile("mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(d[0]), "+r"(d[1]) : "r"(a[2]), "r"(b1));
  asm volatile("mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(d[2]), "+r"(d[3]) : "r"(a[3]), "r"(b1));
#endif
}

// One output element of W8A8 from its exact int32 sum.
template <typename Out>
__device__ __forceinline__ void w8a8_store(const W8A8Args& p, int64_t row, int64_t col, int32_t acc) {
  if constexpr (std::is_same<Out, int32_t>::value) {
    static_cast<int32_t*>(p.ep.y)[row * p.n + col] = acc;
  } else {
    store_epilogue<Out>(p.ep, p.n, row, col, w8a8_rescale(acc, p.sx[row], p.sw[col * p.sw_stride]));
  }
}

template <class Tr>
struct W8Gemm {
  using Tile = uint16_t;  // an int8 pair
  using TileA = TileIO<Tile, Tr::BM, Tr::BK, Tr::kThreads, Tr::kPad>;
  using TileB = TileIO<Tile, Tr::BN, Tr::BK, Tr::kThreads, Tr::kPad>;
  static constexpr int kTileAElems = Tr::BM * TileA::kLd;
  static constexpr int kStageElems = kTileAElems + Tr::BN * TileB::kLd;
  static constexpr int smem_bytes(int stages) { return stages * kStageElems * 2; }

  // One k32 step: the f16 GEMM's fragment addressing for K-contiguous A and B.
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
      for (int j = 0; j < Tr::kNFrags; ++j) mma_s8_16832(acc[i][j], a[i], b[j][0], b[j][1]);
  }

  // blockIdx.x: output tile (row-major over tiles), blockIdx.y: K split.
  // splits == 1 runs the epilogue; otherwise int32 partials go to
  // part[split][m][n] for the reduction kernel.
  template <typename Out>
  static __device__ __forceinline__ void run(const W8A8Args& p, int splits, int32_t* part, Tile* smem) {
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int warp_m0 = (warp / Tr::kWarpsN) * Tr::kWarpTileM, warp_n0 = (warp % Tr::kWarpsN) * Tr::kWarpTileN;
    const int64_t tiles_n = ceil_div(p.n, Tr::BN);
    const int64_t tm = blockIdx.x / tiles_n, tn = blockIdx.x % tiles_n;
    const int64_t m0 = tm * Tr::BM, n0 = tn * Tr::BN, k_units = p.k / 2;
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
               [&](int64_t row, int64_t col, int32_t v) { w8a8_store<Out>(p, row, col, v); });
  }
};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#define GERM_W8_MIN_BLOCKS(Tr) 1
#else
#define GERM_W8_MIN_BLOCKS(Tr) Tr::kMinBlocks
#endif

template <class Tr, typename Out>
__global__ void __launch_bounds__(Tr::kThreads, GERM_W8_MIN_BLOCKS(Tr))
    w8a8_tc_kernel(W8A8Args p, int splits, int32_t* part) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  extern __shared__ uint4 smem_raw[];
  W8Gemm<Tr>::template run<Out>(p, splits, part, reinterpret_cast<uint16_t*>(smem_raw));
#endif
}

// Sums the splits' int32 partials in split order, then the epilogue.
template <typename Out>
__global__ void w8a8_reduce_kernel(W8A8Args p, int splits, const int32_t* __restrict__ part) {
  const int64_t total = p.m * p.n;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    int32_t s = 0;
    for (int z = 0; z < splits; ++z) s += part[z * total + i];
    w8a8_store<Out>(p, i / p.n, i % p.n, s);
  }
}

// Fallback for unaligned or odd k: one warp per output, lanes stride K
// (coalesced int8 reads of both rows), exact int32 butterfly sum.
template <typename Out>
__global__ void __launch_bounds__(256) w8a8_simt_kernel(W8A8Args p) {
  const int lane = threadIdx.x & 31;
  const int64_t total = p.m * p.n, step = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t o = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32; o < total; o += step) {
    const int64_t row = o / p.n, col = o % p.n;
    const int8_t* x = p.xq + row * p.k;
    const int8_t* w = p.wq + col * p.k;
    int32_t s = 0;
    for (int64_t c = lane; c < p.k; c += 32) s += int32_t(x[c]) * int32_t(w[c]);
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
    if (lane == 0) w8a8_store<Out>(p, row, col, s);
  }
}

Plan plan(const W8A8Args& a) {
  Plan pl;
  DeviceInfo d;
  if (device_info(&d) != cudaSuccess || d.cc < 75) return pl;
  pl.tc = a.k % 16 == 0 && aligned_to(a.xq, 16) && aligned_to(a.wq, 16);
  if (!pl.tc) return pl;
  const int64_t large_tiles = ceil_div(a.m, W8Large::BM) * ceil_div(a.n, W8Large::BN);
  pl.large = large_tiles >= d.sm_count;
  if (pl.large) { pl.tiles = large_tiles; return pl; }
  pl.tiles = ceil_div(a.m, W8Small::BM) * ceil_div(a.n, W8Small::BN);
  pl.splits = split_k(pl.tiles, ceil_div(a.k / 2, W8Small::BK), d.sm_count);
  return pl;
}

template <class Tr, typename Out>
cudaError_t launch_tc(const W8A8Args& a, const Plan& pl, int32_t* part, cudaStream_t stream) {
  auto kernel = w8a8_tc_kernel<Tr, Out>;
  int smem = 0;
  const cudaError_t e = kernel_smem(kernel, W8Gemm<Tr>::smem_bytes(Tr::kStagesAsync),
                                    W8Gemm<Tr>::smem_bytes(Tr::kStagesRegs), &smem);
  if (e != cudaSuccess) return e;
  kernel<<<dim3(static_cast<unsigned>(pl.tiles), pl.splits), Tr::kThreads, smem, stream>>>(a, pl.splits, part);
  if (pl.splits > 1)
    w8a8_reduce_kernel<Out><<<grid_stride_blocks(a.m * a.n, 256), 256, 0, stream>>>(a, pl.splits, part);
  return cudaGetLastError();
}

}  // namespace

size_t qgemm_w8a8_workspace_bytes(const W8A8Args& a) {
  return a.m > 0 && a.n > 0 ? plan(a).workspace_bytes(a.m, a.n, sizeof(int32_t)) : 0;
}

cudaError_t qgemm_w8a8(const W8A8Args& a, void* workspace, cudaStream_t stream) {
  if (a.m < 0 || a.n < 0 || a.k <= 0) return cudaErrorInvalidValue;
  if (a.m == 0 || a.n == 0) return cudaSuccess;
  // Tiles index grid x (< 2^31); M or N that large would not fit memory anyway.
  if (ceil_div(a.m, W8Small::BM) * ceil_div(a.n, W8Small::BN) > 0x7fffffff) return cudaErrorInvalidValue;
  const Plan pl = plan(a);
  if (pl.splits > 1 && workspace == nullptr) return cudaErrorInvalidValue;
  auto* part = static_cast<int32_t*>(workspace);
  return dispatch_out(a.ep.out_dtype, true, [&](auto tag) -> cudaError_t {
    using Out = decltype(tag);
    if (!pl.tc) {
      w8a8_simt_kernel<Out><<<grid_stride_blocks(a.m * a.n, 8), 256, 0, stream>>>(a);
      return cudaGetLastError();
    }
    return pl.large ? launch_tc<W8Large, Out>(a, pl, part, stream) : launch_tc<W8Small, Out>(a, pl, part, stream);
  });
}

}  // namespace germ::kernels
