// Weight-only 4-bit GEMM for few tokens (m <= 16): the memory-bound case,
// where the packed weight (k / 2 bytes per output row) is all the traffic
// that matters. Contract and values as w4.cu (qgemm_args.h, qgemm_math.h):
// y = epilogue(x W^T), W's values exactly dequantize()'s f32 values rounded
// to x's dtype, products exact in f32 (two 11- or 8-bit significands), sums in
// f32 (the tensor cores' accumulation, as w4.cu's).
//
// Why tensor cores and not a CUDA-core dot product: with m tokens every
// weight value costs m FMAs on CUDA cores, so at m = 16 an 8192^2 weight
// needs ~1 G FMAs, ~3x the time its 33.5 MB take to stream from HBM. Here W
// is the MMA's A operand (16 weight rows x k16) and the tokens its B operand
// (n8; two n8 tiles for m > 8): a weight value costs only its dequantization.
//
// Each warp owns 16 weight rows. Per step it streams 128 k of them: lane
// (g, t) loads one 16-byte chunk (32 codes, k = 32t .. 32t + 31 of the step)
// of rows g and g + 8 straight from global memory into registers, no shared
// memory staging. The MMA's k order inside a step is free (a dot product's
// terms can be taken in any order), so the fragment of lane (g, t) at MMA s
// (0..7) is read from its own chunk: logical k {2t, 2t+1, 2t+8, 2t+9} are
// actual k 32t + 4s + {0, 1, 2, 3}, i.e. bytes 2s and 2s + 1 of the chunk.
// x is staged in shared memory in that same order ("fragment order"), so the
// B fragment of (g, t, s) is one 8-byte load of token g, conflict-free.
//
// Dequantization in registers, one group (>= 32 codes) per chunk, so its
// scale / zero is loaded once per chunk: int4 builds float(code) - zero
// exactly with the 2^23 trick (bits 0x4B000000 | nibble is 2^23 + nibble),
// NF4 reads its 16-value table from the lanes' registers by shuffle; then the
// same mul_rn as dequantize() and one cvt per pair into x's dtype.
//
// A block is 8 warps (128 rows) and one K slice (split-K when there are too
// few row blocks to fill the GPU); x is staged kChunk k at a time.
#include <algorithm>
#include <cstdint>
#include "../gemm/gemm_tensorcore.cuh"
#include "qgemm.h"
#include "w4_common.cuh"

namespace germ::kernels::qgemm_detail {
namespace {

using gemm_detail::mma_16816;

constexpr int kWarps = 8, kThreads = 32 * kWarps;
constexpr int kRowsPerWarp = 16, kRowsPerBlock = kWarps * kRowsPerWarp;
constexpr int kStep = 128;                   // k per warp step: 4 lanes x 32 codes per row
constexpr int kChunk = 1024;                 // k of x held in shared memory at once
constexpr int kStepsPerChunk = kChunk / kStep;
constexpr int kXLd = kChunk + 16;            // T per token row: + 8 words makes the fragment reads conflict-free

// Shared-memory position of element a (0..127) of a step: fragment order,
// [mma s][lane t][4 consecutive k].
__device__ __forceinline__ int frag_pos(int a) { return ((a >> 2) & 7) * 16 + (a >> 5) * 4 + (a & 3); }

// One lane's share of a step for one weight row: 32 codes and their group.
struct Chunk {
  uint4 q;
  float scale, bias;  // int4: value = (2^23 + nibble') - bias, bias = 2^23 + zero (8 when symmetric)
};

template <bool kNf4>
__device__ __forceinline__ Chunk load_chunk(const W4Args& p, const W4Tables& tab, int64_t row, int64_t kc, bool valid) {
  Chunk c{make_uint4(0, 0, 0, 0), 0.f, 8388608.f};  // out of range: value * 0 = 0
  if (!valid) return c;
  c.q = __ldg(reinterpret_cast<const uint4*>(p.wq + row * (p.k / 2) + kc / 2));
  // k < 2^31 (checked by the plan): a 32-bit division per chunk
  const QParams q = w4_group_params(p, row * p.s_ld + uint32_t(kc) / uint32_t(p.group), tab.dyn);
  c.scale = q.scale;
  if (!kNf4) c.bias = add_rn(8388608.f, p.codes == W4Codes::Int4Sym ? 8.f : q.zero);
  return c;
}

// The f32 value of nibble `nib` (0..15): dequantize()'s mul_rn(lut[nib] - zero, scale).
// int4: magic = 0x4B000000 | 8 (symmetric: nib ^ 8 is code + 8) or 0x4B000000,
// and (2^23 + nib') - (2^23 + zero) is code - zero exactly (all below 2^24).
template <bool kNf4>
__device__ __forceinline__ float code_value(uint32_t nib, float lut, uint32_t magic, const Chunk& c) {
  if constexpr (kNf4) return mul_rn(__shfl_sync(0xffffffffu, lut, int(nib)), c.scale);
  return mul_rn(__fsub_rn(__uint_as_float(nib ^ magic), c.bias), c.scale);
}

// Registers of MMA s from a chunk: codes k 4s + {0, 1} and 4s + {2, 3}.
template <typename T, bool kNf4>
__device__ __forceinline__ void dequant_pairs(const Chunk& c, int s, float lut, uint32_t magic, uint32_t* r01,
                                              uint32_t* r23) {
  const uint32_t word = s < 2 ? c.q.x : s < 4 ? c.q.y : s < 6 ? c.q.z : c.q.w;
  const uint32_t h = word >> ((s & 1) * 16);
  *r01 = pack2<T>(code_value<kNf4>(h & 15, lut, magic, c), code_value<kNf4>((h >> 4) & 15, lut, magic, c));
  *r23 = pack2<T>(code_value<kNf4>((h >> 8) & 15, lut, magic, c), code_value<kNf4>((h >> 12) & 15, lut, magic, c));
}

// x[:, k0 .. k0 + kChunk) into shared memory in fragment order, zeros past m
// and k: 16-byte loads (k % 32 == 0 and x 16-byte aligned, by the plan).
template <typename T, int kTokens>
__device__ __forceinline__ void stage_x(T* xs, const W4Args& p, int64_t k0) {
  constexpr int kVecs = kChunk / 8;
  const T* gx = static_cast<const T*>(p.x);
  for (int v = threadIdx.x; v < kTokens * kVecs; v += kThreads) {
    const int tok = v / kVecs, a = (v % kVecs) * 8;
    const int64_t kk = k0 + a;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (tok < p.m && kk < p.k) val = __ldg(reinterpret_cast<const uint4*>(gx + tok * p.k + kk));
    T* row = xs + tok * kXLd + (a / kStep) * kStep;
    *reinterpret_cast<uint2*>(row + frag_pos(a % kStep)) = make_uint2(val.x, val.y);
    *reinterpret_cast<uint2*>(row + frag_pos(a % kStep + 4)) = make_uint2(val.z, val.w);
  }
}

template <typename T, int kNT, bool kNf4, typename Out>
__global__ void __launch_bounds__(kThreads) w4_gemv_kernel(W4Args p, float* part, DynamicMap map) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int kTokens = 8 * kNT;
  __shared__ W4Tables tab;
  __shared__ __align__(16) T xs[kTokens * kXLd];
  tab.fill(p, map);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int64_t row_a = int64_t(blockIdx.x) * kRowsPerBlock + warp * kRowsPerWarp + g, row_b = row_a + 8;
  const bool in_a = row_a < p.n, in_b = row_b < p.n;
  const float lut = kNf4 ? nf4_value(lane & 15) : 0.f;
  const uint32_t magic = 0x4B000000u | (p.codes == W4Codes::Int4Sym ? 8u : 0u);
  int64_t s0, s1;
  split_range(ceil_div(p.k, kStep), gridDim.y, blockIdx.y, &s0, &s1);

  float acc[kNT][4];
#pragma unroll
  for (int j = 0; j < kNT; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.f;

  for (int64_t c0 = s0; c0 < s1; c0 += kStepsPerChunk) {
    const int64_t c1 = min(s1, c0 + kStepsPerChunk);
    __syncthreads();  // the previous chunk's fragment reads are done
    stage_x<T, kTokens>(xs, p, c0 * kStep);
    __syncthreads();
    // Register double buffer: the next step's chunks load while this one computes.
    auto load = [&](int64_t st, Chunk* ca, Chunk* cb) {
      const int64_t kc = st * kStep + t * 32;
      *ca = load_chunk<kNf4>(p, tab, row_a, kc, in_a && kc < p.k);
      *cb = load_chunk<kNf4>(p, tab, row_b, kc, in_b && kc < p.k);
    };
    Chunk ca, cb;
    load(c0, &ca, &cb);
    for (int64_t st = c0; st < c1; ++st) {
      Chunk na = ca, nb = cb;
      if (st + 1 < c1) load(st + 1, &na, &nb);
      const T* xstep = xs + (st - c0) * kStep + t * 4;
#pragma unroll
      for (int s = 0; s < 8; ++s) {
        uint32_t a[4];
        dequant_pairs<T, kNf4>(ca, s, lut, magic, &a[0], &a[2]);
        dequant_pairs<T, kNf4>(cb, s, lut, magic, &a[1], &a[3]);
#pragma unroll
        for (int j = 0; j < kNT; ++j) {
          const uint2 b = *reinterpret_cast<const uint2*>(xstep + (g + 8 * j) * kXLd + s * 16);
          mma_16816<T>(acc[j], a, b.x, b.y);
        }
      }
      ca = na;
      cb = nb;
    }
  }

  // acc[j]: rows g, g (tokens 2t, 2t + 1), g + 8, g + 8 of weight rows, tokens + 8j.
#pragma unroll
  for (int j = 0; j < kNT; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int64_t col = e < 2 ? row_a : row_b, tok = 8 * j + 2 * t + (e & 1);
      if (col >= p.n || tok >= p.m) continue;
      if (gridDim.y == 1) store_epilogue<Out>(p.ep, p.n, tok, col, acc[j][e]);
      else part[(int64_t(blockIdx.y) * p.m + tok) * p.n + col] = acc[j][e];
    }
#endif
}

template <typename T, int kNT, bool kNf4>
cudaError_t launch(const W4Args& a, const Plan& pl, float* part, cudaStream_t stream) {
  return dispatch_out(a.ep.out_dtype, false, [&](auto otag) -> cudaError_t {
    using Out = decltype(otag);
    if constexpr (std::is_same<Out, int32_t>::value) {
      return cudaErrorInvalidValue;
    } else {
      w4_gemv_kernel<T, kNT, kNf4, Out><<<dim3(unsigned(pl.tiles), unsigned(pl.splits)), kThreads, 0, stream>>>(
          a, part, dynamic_map());
      return cudaGetLastError();
    }
  });
}

template <typename T, int kNT>
cudaError_t launch_codes(const W4Args& a, const Plan& pl, float* part, cudaStream_t stream) {
  return a.codes == W4Codes::Nf4 ? launch<T, kNT, true>(a, pl, part, stream) : launch<T, kNT, false>(a, pl, part, stream);
}

}  // namespace

bool w4_gemv_plan(const W4Args& a, int ptx, int sm_count, Plan* pl) {
  if (ptx < 80 || a.m < 1 || a.m > kW4GemvMaxM || a.k % 32 != 0 || a.group % 32 != 0 || a.k >= (int64_t(1) << 31))
    return false;
  if (!aligned_to(a.x, 16) || !aligned_to(a.wq, 16)) return false;
  const int64_t row_blocks = ceil_div(a.n, kRowsPerBlock), steps = ceil_div(a.k, kStep);
  if (row_blocks > 0x7fffffff) return false;
  // Four blocks per SM (each keeps 8 warps x 1 KB of weight in flight), each
  // K slice at least 4 steps; splits recomputed so that no slice is empty.
  int64_t splits = ceil_div(4 * int64_t(sm_count), row_blocks);
  splits = std::min<int64_t>(std::min<int64_t>(splits, 32), std::max<int64_t>(1, steps / 4));
  splits = std::max<int64_t>(1, splits);
  splits = ceil_div(steps, ceil_div(steps, splits));
  pl->gemv = true;
  pl->tiles = row_blocks;
  pl->splits = static_cast<int>(splits);
  return true;
}

cudaError_t w4_gemv(const W4Args& a, const Plan& pl, float* part, cudaStream_t stream) {
  if (a.x_dtype == KDType::BF16)
    return a.m > 8 ? launch_codes<__nv_bfloat16, 2>(a, pl, part, stream) : launch_codes<__nv_bfloat16, 1>(a, pl, part, stream);
  return a.m > 8 ? launch_codes<__half, 2>(a, pl, part, stream) : launch_codes<__half, 1>(a, pl, part, stream);
}

}  // namespace germ::kernels::qgemm_detail
