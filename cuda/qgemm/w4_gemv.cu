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
// Streaming. Each warp owns 16 weight rows and walks its block's K slice in
// steps of 256 k (2 KB of codes). The steps go global -> shared through a
// per-warp cp.async ring of kStages (two steps in flight while one is
// consumed; with two blocks of 8 warps per SM that is 64 KB in flight, what
// HBM's latency needs), copied 512 contiguous bytes per instruction and read
// back by each lane as 16-byte pieces: lane (g, t) takes codes 64t .. 64t + 63
// of the step for rows g and g + 8, as two pieces of 32 codes (u = 0, 1). x
// for the slice goes through a two-slot ring of 512-k chunks, its copies
// riding in the cp.async group of the chunk's first step, so x never waits on
// a separate load; one __syncthreads per chunk publishes it. The group
// parameters are prefetched into L2 when a step's codes are issued and read
// into registers one step ahead.
//
// The MMA's k order inside a step is free (a dot product's terms can be taken
// in any order): at MMA s (0..7) of piece u, lane (g, t)'s logical k {2t, 2t+1,
// 2t+8, 2t+9} are codes 4s + {0, 1, 2, 3} of its piece, i.e. the nibbles of
// word s / 2, half s % 2 of the 16 bytes. x is staged in that order ("fragment
// order"), so the B fragments of MMAs s and s + 1 are one 16-byte load.
//
// Dequantization is a table lookup: a piece's 32 codes share one group (the
// group is a multiple of 32), so each lane turns the group's 16 possible
// values -- dequantize()'s f32 mul_rn(code - zero, scale), or the NF4 level
// times absmax, rounded to x's dtype -- into byte tables (the low bytes of
// the 16 values in 4 registers, the high bytes in 4 more) and looks 4 codes up
// at once with prmt: ~2.75 instructions a value, against ~4 for building each
// value in f32 (and NF4 needed a shuffle a value). A table serves both pieces
// of a step when the group is a multiple of 64.
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
constexpr int kStep = 256;                              // k per warp step: 4 lanes x 64 codes per row
constexpr int kStages = 3;                              // weight ring per warp
constexpr int kStageBytes = kRowsPerWarp * kStep / 2;   // 2 KB
constexpr int kXSteps = 2;                              // steps per x chunk
constexpr int kXRowBytes = kXSteps * kStep * 2;         // one token's chunk: 512 k of 2-byte T
constexpr int kMinSlice = 4;                            // steps per K slice, at least
// A chunk's slot is refilled kStages - 1 steps before the chunk is read, after
// the barrier that starts the chunk before it: the two slots need this.
static_assert(kXSteps >= kStages - 1, "x chunk ring too short for the weight pipeline");

template <int kTokens>
constexpr int smem_bytes() {
  return kWarps * kStages * kStageBytes + 2 * kTokens * kXRowBytes + 256 * int(sizeof(float));
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800  // the kernel's helpers: its body is sm_80+ only
using gemm_detail::cp_async_16;

__device__ __forceinline__ void prefetch_l2(const void* p) { asm volatile("prefetch.global.L2 [%0];" ::"l"(p)); }

// prmt.b32 in its default mode: byte n of the result is byte (sel >> 4n) & 7
// of {b, a}, or that byte's sign bit copied 8 times when (sel >> 4n) & 8.
__device__ __forceinline__ uint32_t prmt(uint32_t a, uint32_t b, uint32_t sel) {
  uint32_t d;
  asm("prmt.b32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(sel));
  return d;
}

// The 16 values of one group as byte tables: lo[q] holds the low bytes of
// values 4q .. 4q + 3, hi[q] their high bytes.
struct Table {
  uint32_t lo[4], hi[4];
};

// v(j) is value j in f32; each pair is rounded to T as from_f32 rounds.
template <typename T, class V>
__device__ __forceinline__ Table make_table(V&& v) {
  Table tb;
#pragma unroll
  for (int q = 0; q < 4; ++q) {
    const uint32_t p0 = pack2<T>(v(4 * q), v(4 * q + 1)), p1 = pack2<T>(v(4 * q + 2), v(4 * q + 3));
    tb.lo[q] = prmt(p0, p1, 0x6420);
    tb.hi[q] = prmt(p0, p1, 0x7531);
  }
  return tb;
}

// The values of the 8 codes of word w as 4 MMA registers: codes {0, 1},
// {2, 3}, {4, 5}, {6, 7}, the even code in the low half. A code's low 3 bits
// pick a byte of two table registers (values 0..7 and 8..15); its bit 3,
// copied over a byte by prmt's sign mode, picks between the two.
__device__ __forceinline__ void lookup8(const Table& tb, uint32_t w, uint32_t (&r)[4]) {
  const uint32_t idx = w & 0x77777777u, w4 = w << 4;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const uint32_t sel = h ? idx >> 16 : idx;
    // bit 3 of codes 4h .. 4h + 3 sits at bits 7 of bytes {0, 1} (odd codes) of w or of w << 4 (even codes)
    const uint32_t m = prmt(w, w4, h ? 0xBFAE : 0x9D8C);
    const uint32_t lo0 = prmt(tb.lo[0], tb.lo[1], sel), lo1 = prmt(tb.lo[2], tb.lo[3], sel);
    const uint32_t hi0 = prmt(tb.hi[0], tb.hi[1], sel), hi1 = prmt(tb.hi[2], tb.hi[3], sel);
    const uint32_t lo = (lo0 & ~m) | (lo1 & m), hi = (hi0 & ~m) | (hi1 & m);
    r[2 * h] = prmt(lo, hi, 0x5140);
    r[2 * h + 1] = prmt(lo, hi, 0x7362);
  }
}

// One (row, piece)'s group parameters as read from memory: int4 scale and
// zero, NF4 absmax, or double-quantized NF4's absmax2 and 8-bit code (its bits
// in b); 0 for pieces past the edges (finite values; their x is zero).
struct Raw {
  float a, b;
};

// Index of the parameters of k index kk in the row whose first is `base` (row
// * s_ld). k < 2^31 (checked by the plan): a shift, or a 32-bit division for
// group sizes that are no power of two.
__device__ __forceinline__ int64_t group_index(const W4Args& p, int64_t base, uint32_t kk, int gshift) {
  return base + (gshift >= 0 ? kk >> gshift : kk / uint32_t(p.group));
}

template <bool kNf4>
__device__ __forceinline__ Raw load_raw(const W4Args& p, int64_t base, uint32_t kk, bool valid, int gshift) {
  if (!valid) return {0.f, 0.f};
  const int64_t si = group_index(p, base, kk, gshift);
  if (kNf4 && p.qabsmax) return {__ldg(p.absmax2 + si / kDoubleQuantBlock), __int_as_float(__ldg(p.qabsmax + si))};
  return {__ldg(p.scale + si), !kNf4 && p.zero ? __ldg(p.zero + si) : 0.f};
}

// The table of a piece: w4_group_params' scale / zero, then w4_value's
// arithmetic for each of the 16 codes (the code values are immediates).
template <typename T, bool kNf4>
__device__ __forceinline__ Table piece_table(const W4Args& p, Raw r, const float* dyn, float offset) {
  if constexpr (kNf4) {
    const float s = p.qabsmax ? add_rn(mul_rn(dyn[__float_as_int(r.b)], r.a), offset) : r.a;
    return make_table<T>([&](int j) { return mul_rn(nf4_value(j), s); });
  } else {
    if (p.codes == W4Codes::Int4Sym)  // nibble j is code (j ^ 8) - 8, zero point 0
      return make_table<T>([&](int j) { return mul_rn(float(j < 8 ? j : j - 16), r.a); });
    return make_table<T>([&](int j) { return mul_rn(__fsub_rn(float(j), r.b), r.a); });
  }
}

#endif

template <typename T, int kNT, bool kNf4, typename Out>
__global__ void __launch_bounds__(kThreads, 2) w4_gemv_kernel(W4Args p, float* part, DynamicMap map) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int kTokens = 8 * kNT;
  constexpr int kXSlotBytes = kTokens * kXRowBytes;
  extern __shared__ uint4 smem[];
  char* const wring = reinterpret_cast<char*>(smem);              // [warp][stage][2 KB]
  char* const xring = wring + kWarps * kStages * kStageBytes;     // [slot][token][512 k in fragment order]
  float* const dyn = reinterpret_cast<float*>(xring + 2 * kXSlotBytes);
  if (kNf4 && p.qabsmax)  // published by the first step's barrier
    for (int c = threadIdx.x; c < 256; c += kThreads) dyn[c] = map.v[c];

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
  const int64_t row0 = int64_t(blockIdx.x) * kRowsPerBlock + warp * kRowsPerWarp;
  const int64_t rows[2] = {row0 + g, row0 + g + 8};
  const int gshift = (p.group & (p.group - 1)) == 0 ? __ffsll(p.group) - 1 : -1;
  const bool per_piece = p.group % 64 != 0;  // else both pieces of a lane's step share a group
  const float offset = kNf4 && p.qabsmax ? __ldg(p.offset) : 0.f;
  const T* const gx = static_cast<const T*>(p.x);
  int64_t s0, s1;
  split_range(ceil_div(p.k, kStep), gridDim.y, blockIdx.y, &s0, &s1);
  const int steps = int(s1 - s0);

  // Step st's copies into stage `slot` of the warp's ring: its 16 rows x 128
  // bytes (4 x 512 contiguous bytes), laid out so lane (g, t) reads its piece
  // u of row g + 8r at 16-byte unit (2r + u) * 32 + lane; with a chunk's first
  // step, the chunk of x (all threads); and the step's group parameters into
  // L2. Per thread: weight unit c (0..3) is row row0 + wr + 4c, bytes 16 wc ..
  // 16 wc + 15 of the row's 128; x unit c (kTokens / 4 of them) is token
  // xt + 4c, k xa .. xa + 7 of the chunk, 16 contiguous bytes in fragment
  // order (step, piece u, MMA pair i, lane t), odd tokens with the 64-byte
  // halves of each 128 swapped so that a quarter warp's reads hit all banks.
  const int wr = lane >> 3, wc = lane & 7, xt = tid >> 6, xa = (tid & 63) * 8;
  const int wdst = ((wc & 1) * 32 + wr * 4 + (wc >> 1)) * 16;
  const int xdst = xt * kXRowBytes + (xa / kStep) * 512 + ((xa >> 5) & 1) * 256 + ((((xa >> 3) & 3) * 64) ^ ((xt & 1) << 6)) +
                   ((xa >> 6) & 3) * 16;
  const uint8_t* const wsrc = p.wq + (row0 + wr) * (p.k / 2) + 16 * wc;
  const T* const xsrc = gx + xt * p.k + xa;
  const int64_t sbase[2] = {rows[0] * p.s_ld, rows[1] * p.s_ld};
  auto issue = [&](int st, int slot) {
    const int64_t k0 = (s0 + st) * kStep;
    char* const stage = wring + (warp * kStages + slot) * kStageBytes + wdst;
    const bool k_ok = k0 + 32 * wc < p.k;
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      const bool ok = k_ok && row0 + wr + 4 * c < p.n;
      cp_async_16(stage + ((c >> 1) * 64 + (c & 1) * 16) * 16, ok ? wsrc + c * 2 * p.k + k0 / 2 : p.wq, ok ? 16 : 0);
    }
    if (st % kXSteps == 0) {
      char* const xslot = xring + ((st / kXSteps) & 1) * kXSlotBytes + xdst;
      const bool xk_ok = k0 + xa < p.k;
#pragma unroll
      for (int c = 0; c < kTokens / 4; ++c) {
        const bool ok = xk_ok && xt + 4 * c < p.m;
        cp_async_16(xslot + 4 * c * kXRowBytes, ok ? xsrc + 4 * c * p.k + k0 : gx, ok ? 16 : 0);
      }
    }
    // the parameters at the step's last k (those at its first were the previous step's last)
    const bool hi = t & 1;
    if ((hi ? rows[1] : rows[0]) < p.n) {
      const int64_t si = group_index(p, hi ? sbase[1] : sbase[0], uint32_t(min(k0 + kStep, p.k) - 1), gshift);
      const void* ptr = t < 2 ? (kNf4 && p.qabsmax ? static_cast<const void*>(p.qabsmax + si) : p.scale + si)
                              : (kNf4 && p.qabsmax ? static_cast<const void*>(p.absmax2 + si / kDoubleQuantBlock)
                                                   : static_cast<const void*>(p.zero ? p.zero + si : nullptr));
      if (ptr) prefetch_l2(ptr);
    }
  };
  // The raw parameters of step st: [row g, g + 8][piece].
  auto load_step = [&](int st, Raw (&raw)[2][2]) {
#pragma unroll
    for (int r = 0; r < 2; ++r)
#pragma unroll
      for (int u = 0; u < 2; ++u) {
        const int64_t kk = (s0 + st) * kStep + 64 * t + 32 * u;
        if (u == 0 || per_piece) raw[r][u] = load_raw<kNf4>(p, sbase[r], uint32_t(kk), rows[r] < p.n && kk < p.k, gshift);
      }
  };

  float acc[kNT][4];
#pragma unroll
  for (int j = 0; j < kNT; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.f;

#pragma unroll
  for (int st = 0; st < kStages - 1; ++st) {
    if (st < steps) issue(st, st);
    gemm_detail::cp_async_commit();  // even when empty: the group count stays the step index
  }
  Raw raw[2][2] = {}, next[2][2] = {};
  if (steps > 0) load_step(0, raw);

  for (int st = 0, slot = 0; st < steps; ++st, slot = slot + 1 == kStages ? 0 : slot + 1) {
    gemm_detail::cp_async_wait<kStages - 2>();  // this thread's copies of step st landed ...
    __syncwarp();                                // ... the warp's, and stage st - 1 is no longer read
    if (st % kXSteps == 0) __syncthreads();      // everyone's x chunk, and the chunk before last is done
    if (st + kStages - 1 < steps) issue(st + kStages - 1, slot == 0 ? kStages - 1 : slot - 1);
    gemm_detail::cp_async_commit();
    if (st + 1 < steps) load_step(st + 1, next);

    const uint4* const stage = reinterpret_cast<const uint4*>(wring + (warp * kStages + slot) * kStageBytes);
    const char* const xs = xring + ((st / kXSteps) & 1) * kXSlotBytes + (st % kXSteps) * 512 + t * 16;
    Table ta, tb;
#pragma unroll
    for (int u = 0; u < 2; ++u) {
      if (u == 0 || per_piece) {
        ta = piece_table<T, kNf4>(p, raw[0][u], dyn, offset);
        tb = piece_table<T, kNf4>(p, raw[1][u], dyn, offset);
      }
      const uint4 qa = stage[u * 32 + lane], qb = stage[(2 + u) * 32 + lane];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        uint4 xv[kNT];
#pragma unroll
        for (int j = 0; j < kNT; ++j)
          xv[j] = *reinterpret_cast<const uint4*>(xs + (g + 8 * j) * kXRowBytes + u * 256 + ((i * 64) ^ ((g & 1) << 6)));
        const uint32_t wa = i == 0 ? qa.x : i == 1 ? qa.y : i == 2 ? qa.z : qa.w;
        const uint32_t wb = i == 0 ? qb.x : i == 1 ? qb.y : i == 2 ? qb.z : qb.w;
        uint32_t va[4], vb[4];
        lookup8(ta, wa, va);
        lookup8(tb, wb, vb);
        const uint32_t a0[4] = {va[0], vb[0], va[1], vb[1]}, a1[4] = {va[2], vb[2], va[3], vb[3]};
#pragma unroll
        for (int j = 0; j < kNT; ++j) {
          mma_16816<T>(acc[j], a0, xv[j].x, xv[j].y);  // MMA 2i
          mma_16816<T>(acc[j], a1, xv[j].z, xv[j].w);  // MMA 2i + 1
        }
      }
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) raw[r][0] = next[r][0], raw[r][1] = next[r][1];
  }
  gemm_detail::cp_async_wait<0>();

  // acc[j]: rows g, g (tokens 2t, 2t + 1), g + 8, g + 8 of weight rows, tokens + 8j.
#pragma unroll
  for (int j = 0; j < kNT; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int64_t col = rows[e >> 1], tok = 8 * j + 2 * t + (e & 1);
      if (col >= p.n || tok >= p.m) continue;
      if (gridDim.y == 1) store_epilogue<Out>(p.ep, p.n, tok, col, acc[j][e]);
      else part[(int64_t(blockIdx.y) * p.m + tok) * p.n + col] = acc[j][e];
    }
#endif
}

// Opts an instantiation into its shared memory (above the 48 KB default) and
// says how many of its blocks an SM holds, once per instantiation and device.
template <typename T, int kNT, bool kNf4, typename Out>
cudaError_t prepare_kernel(int* blocks_per_sm) {
  constexpr int kMaxDevices = 64;
  static int cache[kMaxDevices];  // 0: not asked yet
  int dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e != cudaSuccess) return e;
  if (dev >= 0 && dev < kMaxDevices && cache[dev] > 0) { *blocks_per_sm = cache[dev]; return cudaSuccess; }
  auto kernel = w4_gemv_kernel<T, kNT, kNf4, Out>;
  constexpr int smem = smem_bytes<8 * kNT>();
  if ((e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem)) != cudaSuccess) return e;
  int n = 0;
  if ((e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, kThreads, smem)) != cudaSuccess) return e;
  if (n < 1) return cudaErrorInvalidConfiguration;
  if (dev >= 0 && dev < kMaxDevices) cache[dev] = n;
  *blocks_per_sm = n;
  return cudaSuccess;
}

template <typename T, int kNT, bool kNf4>
cudaError_t launch(const W4Args& a, const Plan& pl, float* part, cudaStream_t stream) {
  return dispatch_out(a.ep.out_dtype, false, [&](auto otag) -> cudaError_t {
    using Out = decltype(otag);
    if constexpr (std::is_same<Out, int32_t>::value) {
      return cudaErrorInvalidValue;
    } else {
      int per_sm = 0;
      const cudaError_t e = prepare_kernel<T, kNT, kNf4, Out>(&per_sm);
      if (e != cudaSuccess) return e;
      w4_gemv_kernel<T, kNT, kNf4, Out><<<dim3(unsigned(pl.tiles), unsigned(pl.splits)), kThreads,
                                         smem_bytes<8 * kNT>(), stream>>>(a, part, dynamic_map());
      return cudaGetLastError();
    }
  });
}

template <typename T, int kNT>
cudaError_t launch_codes(const W4Args& a, const Plan& pl, float* part, cudaStream_t stream) {
  return a.codes == W4Codes::Nf4 ? launch<T, kNT, true>(a, pl, part, stream) : launch<T, kNT, false>(a, pl, part, stream);
}

// Resident blocks per SM of the kernel that will run (every instantiation of
// one token tile uses the same shared memory, and launch bounds keep them at
// two blocks' registers, so one stands for all).
int resident_blocks(const W4Args& a) {
  int n = 0;
  const bool bf16 = a.x_dtype == KDType::BF16, two = a.m > 8;
  const cudaError_t e = bf16 ? (two ? prepare_kernel<__nv_bfloat16, 2, false, float>(&n)
                                    : prepare_kernel<__nv_bfloat16, 1, false, float>(&n))
                             : (two ? prepare_kernel<__half, 2, false, float>(&n)
                                    : prepare_kernel<__half, 1, false, float>(&n));
  return e == cudaSuccess ? n : 0;
}

}  // namespace

bool w4_gemv_plan(const W4Args& a, int ptx, int sm_count, Plan* pl) {
  if (ptx < 80 || a.m < 1 || a.m > kW4GemvMaxM || a.k % 32 != 0 || a.group % 32 != 0 || a.k >= (int64_t(1) << 31))
    return false;
  if (!aligned_to(a.x, 16) || !aligned_to(a.wq, 16)) return false;
  const int64_t row_blocks = ceil_div(a.n, kRowsPerBlock), steps = ceil_div(a.k, kStep);
  if (row_blocks > 0x7fffffff) return false;
  const int per_sm = resident_blocks(a);
  if (per_sm < 1) return false;
  // One wave: as many K slices as the resident blocks leave room for (the
  // ring keeps every block's weight in flight, so more blocks only add
  // partial sums), each at least kMinSlice steps; recomputed so that no slice
  // is empty.
  int64_t splits = int64_t(per_sm) * sm_count / row_blocks;
  splits = std::min<int64_t>(std::min<int64_t>(splits, 32), steps / kMinSlice);
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
