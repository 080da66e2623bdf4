// Weight-only 4-bit GEMM (W4A16 / NF4-A16; contract: W4Args in qgemm_args.h,
// values: qgemm_math.h). y = epilogue(x W^T) with x f16 / bf16 and W's packed
// codes dequantized inside the main loop:
//
//   global --cp.async--> shared: the x tile (as the f16 GEMM loads it) and the
//                        packed weight tile, 4 bits per value (the bytes that
//                        dominate small-M traffic are moved once, still packed)
//   shared --ldmatrix--> x fragments
//   shared --one byte per register--> B fragments: the m16n8k16 B fragment of
//                        thread (g, t) is W[n0 + g][k 2t, 2t + 1] and [k 2t + 8,
//                        2t + 9]: with two codes per byte, exactly bytes t and
//                        t + 4 of the row's k16 slice. Each byte becomes two
//                        values (lut[code] - zero) * scale in f32 (the very
//                        operations of dequantize()), rounded to x's dtype and
//                        packed into the register the MMA reads.
//
// The group scale of (row, k16 step) is read from global memory (cached); a
// k16 step never crosses a group because the tensor-core path needs group %
// 16 == 0 (64 and 128, NF4 blocks of 64, per channel / tensor with k % 32 ==
// 0). sm_80+: cp.async ring and m16n8k16 for f16 and bf16; sm_75: register-
// staged double buffer and two m16n8k8 per k16, f16 only (bf16 runs the SIMT
// kernel there). Anything the tensor-core path does not take (k % 32 != 0,
// odd groups, unaligned x) runs a warp-per-output SIMT kernel with the same
// values. Few tokens (m <= 16, sm_80+): w4_gemv.cu's streaming kernel; else
// split-K with f32 partials summed in split order.
#include <cstdint>
#include "../gemm/gemm_tensorcore.cuh"
#include "qgemm.h"
#include "qgemm_pipeline.cuh"
#include "w4_common.cuh"

namespace germ::kernels {
namespace {

using gemm_detail::ldmatrix_x4;
using gemm_detail::mma_16816;
using gemm_detail::TileIO;
using namespace qgemm_detail;

// BM x BN x BK (BK in x elements), warps as WARPS_M x WARPS_N.
template <int BM_, int BN_, int BK_, int WARPS_M_, int WARPS_N_, int STAGES_>
struct W4Traits {
  static constexpr int BM = BM_, BN = BN_, BK = BK_;
  static constexpr int kWarpsM = WARPS_M_, kWarpsN = WARPS_N_, kThreads = 32 * WARPS_M_ * WARPS_N_;
  static constexpr int kWarpTileM = BM / kWarpsM, kWarpTileN = BN / kWarpsN;
  static constexpr int kMFrags = kWarpTileM / 16, kNFrags = kWarpTileN / 8;
  static constexpr int kStagesAsync = STAGES_, kStagesRegs = 2, kPad = 8;
  static_assert(BK % 32 == 0 && kWarpTileM % 16 == 0 && kWarpTileN % 8 == 0, "whole fragments");
};
// Few tokens (the memory-bound case): one m16 row of fragments, 64 weight rows
// per block and BK 128 so a stage moves 4 KB of packed weight; 4 stages = 38 KB.
using W4Small = W4Traits<16, 64, 128, 1, 4, 4>;
// Many tokens: 64 x 128, 8 warps of 32 x 32, 3 stages = 46 KB (no opt-in).
using W4Large = W4Traits<64, 128, 64, 2, 4, 3>;

template <class Tr, typename T>
struct W4Gemm {
  using TileX = TileIO<T, Tr::BM, Tr::BK, Tr::kThreads, Tr::kPad>;
  using TileW = TileIO<uint16_t, Tr::BN, Tr::BK / 4, Tr::kThreads, Tr::kPad>;  // 4 codes per 16-bit unit
  static constexpr int kTileXElems = Tr::BM * TileX::kLd;                    // T elements
  static constexpr int kTileWBytes = Tr::BN * TileW::kLd * 2;
  static constexpr int kStageBytes = kTileXElems * 2 + kTileWBytes;
  static constexpr int smem_bytes(int stages) { return stages * kStageBytes; }

  static __device__ __forceinline__ void mma_step(const T* sX, const uint8_t* sW, int ks, int64_t k0, int64_t n0,
                                                  int warp_m0, int warp_n0, int lane, const W4Args& p,
                                                  const W4Tables& tab, float (&acc)[Tr::kMFrags][Tr::kNFrags][4]) {
    const int g = lane >> 2, t = lane & 3;
    uint32_t a[Tr::kMFrags][4];
#pragma unroll
    for (int i = 0; i < Tr::kMFrags; ++i)
      ldmatrix_x4(a[i], sX + (warp_m0 + i * 16 + (lane & 15)) * TileX::kLd + ks * 16 + (lane >> 4) * 8);
    const int64_t kk = k0 + ks * 16;
#pragma unroll
    for (int j = 0; j < Tr::kNFrags; ++j) {
      const int nl = warp_n0 + j * 8 + g;
      const int64_t gn = n0 + nl;
      // Rows past n and k past the end were zero-filled; their scale is not read.
      const QParams q = gn < p.n && kk < p.k ? w4_group_params(p, gn * p.s_ld + kk / p.group, tab.dyn) : QParams{0.f, 0.f};
      const uint8_t* row = sW + nl * (TileW::kLd * 2) + ks * 8;
      const int b0 = row[t], b1 = row[t + 4];
      const uint32_t r0 = pack2<T>(tab.value(b0 & 15, q), tab.value(b0 >> 4, q));
      const uint32_t r1 = pack2<T>(tab.value(b1 & 15, q), tab.value(b1 >> 4, q));
#pragma unroll
      for (int i = 0; i < Tr::kMFrags; ++i) mma_16816<T>(acc[i][j], a[i], r0, r1);
    }
  }

  template <typename Out>
  static __device__ __forceinline__ void run(const W4Args& p, int splits, float* part, char* smem,
                                             const W4Tables& tab) {
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int warp_m0 = (warp / Tr::kWarpsN) * Tr::kWarpTileM, warp_n0 = (warp % Tr::kWarpsN) * Tr::kWarpTileN;
    const int64_t tiles_n = ceil_div(p.n, Tr::BN);
    const int64_t m0 = (blockIdx.x / tiles_n) * Tr::BM, n0 = (blockIdx.x % tiles_n) * Tr::BN;
    const int64_t w_units = p.k / 4;  // 16-bit units per weight row
    int64_t kt0, kt1;
    split_range(ceil_div(p.k, Tr::BK), splits, blockIdx.y, &kt0, &kt1);
    const T* gX = static_cast<const T*>(p.x);
    const uint16_t* gW = reinterpret_cast<const uint16_t*>(p.wq);

    float acc[Tr::kMFrags][Tr::kNFrags][4];
    for_each_acc<Tr::kMFrags, Tr::kNFrags>(0, 0, 0, [&](int i, int j, int e, int, int) { acc[i][j][e] = 0.f; });

    auto stage_x = [&](int64_t kt, int S) { return reinterpret_cast<T*>(smem + ((kt - kt0) % S) * kStageBytes); };
    auto stage_w = [&](int64_t kt, int S) {
      return reinterpret_cast<uint16_t*>(smem + ((kt - kt0) % S) * kStageBytes + kTileXElems * 2);
    };
    auto compute = [&](int64_t kt, int S) {
      const T* sX = stage_x(kt, S);
      const uint8_t* sW = reinterpret_cast<const uint8_t*>(stage_w(kt, S));
#pragma unroll
      for (int ks = 0; ks < Tr::BK / 16; ++ks)
        mma_step(sX, sW, ks, kt * Tr::BK, n0, warp_m0, warp_n0, lane, p, tab, acc);
    };
#if __CUDA_ARCH__ >= 800
    constexpr int S = Tr::kStagesAsync;
    async_ring<S>(kt0, kt1, [&](int64_t kt) {
      TileX::load_async(stage_x(kt, S), gX, p.k, m0, kt * Tr::BK, p.m, p.k, tid);
      TileW::load_async(stage_w(kt, S), gW, w_units, n0, kt * (Tr::BK / 4), p.n, w_units, tid);
    }, [&](int64_t kt) { compute(kt, S); });
#elif __CUDA_ARCH__ >= 750
    if constexpr (std::is_same<T, __half>::value) {
      uint4 rx[TileX::kPerThread], rw[TileW::kPerThread];
      register_double_buffer(kt0, kt1, [&](int64_t kt) {
        TileX::load_regs(rx, gX, p.k, m0, kt * Tr::BK, p.m, p.k, tid);
        TileW::load_regs(rw, gW, w_units, n0, kt * (Tr::BK / 4), p.n, w_units, tid);
      }, [&](int64_t kt) {
        TileX::store_regs(stage_x(kt, 2), rx, tid);
        TileW::store_regs(stage_w(kt, 2), rw, tid);
      }, [&](int64_t kt) { compute(kt, 2); });
    }
#endif

    write_tile(acc, m0, n0, p.m, p.n, warp_m0, warp_n0, lane, splits, part,
               [&](int64_t row, int64_t col, float v) { store_epilogue<Out>(p.ep, p.n, row, col, v); });
  }
};

template <class Tr, typename T, typename Out>
__global__ void __launch_bounds__(Tr::kThreads) w4_tc_kernel(W4Args p, int splits, float* part, DynamicMap map) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  if constexpr (std::is_same<T, __half>::value || __CUDA_ARCH__ >= 800) {
    __shared__ W4Tables tab;
    tab.fill(p, map);
    extern __shared__ uint4 smem_raw[];
    W4Gemm<Tr, T>::template run<Out>(p, splits, part, reinterpret_cast<char*>(smem_raw), tab);
  }
#endif
}

// Sums the splits' f32 partials in split order, then the epilogue.
template <typename Out>
__global__ void w4_reduce_kernel(QEpilogue ep, int64_t m, int64_t n, int splits, const float* __restrict__ part) {
  const int64_t total = m * n;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    float s = 0.f;
    for (int z = 0; z < splits; ++z) s += part[z * total + i];
    store_epilogue<Out>(ep, n, i / n, i % n, s);
  }
}

// Fallback: one warp per output, lanes over k; the same weight values
// (rounded through T, as the tensor-core path feeds them), f32 sums.
template <typename T, typename Out>
__global__ void __launch_bounds__(256) w4_simt_kernel(W4Args p, DynamicMap map) {
  __shared__ W4Tables tab;
  tab.fill(p, map);
  const int lane = threadIdx.x & 31;
  const int64_t total = p.m * p.n, step = int64_t(gridDim.x) * (blockDim.x / 32);
  const T* xs = static_cast<const T*>(p.x);
  for (int64_t o = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32; o < total; o += step) {
    const int64_t row = o / p.n, col = o % p.n;
    const uint8_t* w = p.wq + col * (p.k / 2);
    float s = 0.f;
    for (int64_t c = lane; c < p.k; c += 32) {
      const QParams q = w4_group_params(p, col * p.s_ld + c / p.group, tab.dyn);
      const float wv = to_f32(from_f32<T>(tab.value((w[c / 2] >> (4 * (c & 1))) & 15, q)));
      s += to_f32(xs[row * p.k + c]) * wv;
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
    if (lane == 0) store_epilogue<Out>(p.ep, p.n, row, col, s);
  }
}

template <typename T>
Plan plan(const W4Args& a) {
  Plan pl;
  DeviceInfo d;
  if (device_info(&d) != cudaSuccess || d.cc < 75) return pl;
  int ptx = 0;
  if (ptx_version(w4_tc_kernel<W4Small, T, float>, &ptx) != cudaSuccess) return pl;
  const bool arch_ok = std::is_same<T, __half>::value ? ptx >= 75 : ptx >= 80;
  if (w4_gemv_plan(a, ptx, d.sm_count, &pl)) return pl;
  pl.tc = arch_ok && a.k % 32 == 0 && a.group % 16 == 0 && aligned_to(a.x, 16) && aligned_to(a.wq, 16);
  if (!pl.tc) return pl;
  const int64_t large_tiles = ceil_div(a.m, W4Large::BM) * ceil_div(a.n, W4Large::BN);
  pl.large = a.m > W4Small::BM * 4 && large_tiles >= d.sm_count;
  if (pl.large) { pl.tiles = large_tiles; return pl; }
  pl.tiles = ceil_div(a.m, W4Small::BM) * ceil_div(a.n, W4Small::BN);
  pl.splits = split_k(pl.tiles, ceil_div(a.k, W4Small::BK), d.sm_count);
  return pl;
}

Plan plan_for(const W4Args& a) { return a.x_dtype == KDType::BF16 ? plan<__nv_bfloat16>(a) : plan<__half>(a); }

// Split-K: the partials' ordered sum and the epilogue.
template <typename Out>
cudaError_t reduce_splits(const W4Args& a, const Plan& pl, const float* part, cudaStream_t stream) {
  if (pl.splits > 1)
    w4_reduce_kernel<Out><<<grid_stride_blocks(a.m * a.n, 256), 256, 0, stream>>>(a.ep, a.m, a.n, pl.splits, part);
  return cudaGetLastError();
}

template <class Tr, typename T, typename Out>
cudaError_t launch_tc(const W4Args& a, const Plan& pl, float* part, cudaStream_t stream) {
  const cudaError_t e = launch_planned<Tr>(w4_tc_kernel<Tr, T, Out>, W4Gemm<Tr, T>::smem_bytes(Tr::kStagesAsync),
                                           W4Gemm<Tr, T>::smem_bytes(Tr::kStagesRegs), pl, stream, a, pl.splits, part,
                                           dynamic_map());
  if (e != cudaSuccess) return e;
  return reduce_splits<Out>(a, pl, part, stream);
}

}  // namespace

size_t qgemm_w4_workspace_bytes(const W4Args& a) {
  return a.m > 0 && a.n > 0 ? plan_for(a).workspace_bytes(a.m, a.n, sizeof(float)) : 0;
}

cudaError_t qgemm_w4(const W4Args& a, void* workspace, cudaStream_t stream) {
  if (a.m < 0 || a.n < 0 || a.k <= 0 || a.k % 2 != 0 || a.group <= 0) return cudaErrorInvalidValue;
  if (a.x_dtype != KDType::F16 && a.x_dtype != KDType::BF16) return cudaErrorInvalidValue;
  if (a.m == 0 || a.n == 0) return cudaSuccess;
  if (ceil_div(a.m, W4Small::BM) * ceil_div(a.n, W4Small::BN) > 0x7fffffff) return cudaErrorInvalidValue;
  const Plan pl = plan_for(a);
  if (pl.splits > 1 && workspace == nullptr) return cudaErrorInvalidValue;
  auto* part = static_cast<float*>(workspace);
  return dispatch_float_dtype(a.x_dtype, [&](auto xtag) -> cudaError_t {
    using T = decltype(xtag);
    if constexpr (std::is_same<T, float>::value) {
      return cudaErrorInvalidValue;
    } else {
      return dispatch_out(a.ep.out_dtype, false, [&](auto otag) -> cudaError_t {
        using Out = decltype(otag);
        if constexpr (std::is_same<Out, int32_t>::value) {
          return cudaErrorInvalidValue;
        } else {
          if (pl.gemv) {
            const cudaError_t e = w4_gemv(a, pl, part, stream);
            return e != cudaSuccess ? e : reduce_splits<Out>(a, pl, part, stream);
          }
          if (!pl.tc) {
            w4_simt_kernel<T, Out><<<grid_stride_blocks(a.m * a.n, 8), 256, 0, stream>>>(a, dynamic_map());
            return cudaGetLastError();
          }
          return pl.large ? launch_tc<W4Large, T, Out>(a, pl, part, stream)
                          : launch_tc<W4Small, T, Out>(a, pl, part, stream);
        }
      });
    }
  });
}

}  // namespace germ::kernels
