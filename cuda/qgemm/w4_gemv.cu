// Weight-only 4-bit GEMM for few tokens (m <= 16): the memory-bound case,
// where the packed weight (k / 2 bytes per output row) is all the traffic
// that matters. Contract (qgemm_args.h, qgemm_math.h): y = epilogue(x W^T)
// with sums in f32. Two paths:
//   exact (NF4, int4 groups of 64): W's values are dequantize()'s f32 values
//     rounded to x's dtype, as w4.cu's, products exact in f32;
//   folded (int4 with one group per 128-k step: groups of 128 or more, per
//     channel, per tensor): the MMA runs on the integer codes minus the zero
//     point and each group's f32 sums are scaled once, so y is x times
//     dequantize()'s f32 values, without their rounding to x's dtype
//     (fold_word below). At x[16, 8192] @ W[8192, 8192]^T on an H200 it took
//     the bench from 67 to 79-81 TFLOP/s.
//
// Why tensor cores and not a CUDA-core dot product: with m tokens every
// weight value costs m FMAs on CUDA cores, so at m = 16 an 8192^2 weight
// needs ~1 G FMAs, ~3x the time its 33.5 MB take to stream from HBM. Here W
// is the MMA's A operand (16 weight rows x k16) and the tokens its B operand
// (n8; two n8 tiles for m > 8): a weight value costs only its dequantization,
// so the kernel is bound by instruction issue as much as by memory, and both
// the dequantization and the loads are written to spend few instructions.
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
// The loads run one step ahead (a register double buffer; a deeper ring
// costs more registers than its latency hiding gains), without predicates
// (load_chunk clamps its indices), and carry only raw values: the codes (L2
// evict-first, read once), and the scale / zero (or the
// double-quantized NF4 code and its second-level scale) of the chunk's
// group, whose index is a multiply-high division (FastDiv). Everything
// derived from them is computed when the chunk is used, so no load is waited
// on before its step.
//
// Exact dequantization, one group (>= 32 codes) per chunk:
//   int4: nibble j (0..3) of a 16-bit half-word is masked in place and ORed
//         into the bits of 2^(23 - 4j), whose ulp is 2^(-4j): the float is
//         exactly 2^(23-4j) + nibble (symmetric codes flip the nibble's top
//         bit first, giving code + 8). Subtracting 2^(23-4j) + zero (zero 8
//         when symmetric) is exact for integer zero points below 2^11 (the
//         format's zero points are integers in 0..15), leaving code - zero;
//         then dequantize()'s mul_rn by the scale. One LOP3, one FADD and one
//         FMUL per value, and one shift per four (the upper half-word).
//   NF4:  the 16-value table sits in the lanes' registers (lane & 15); a
//         shuffle reads entry `nibble` (only the index's low 5 bits count and
//         lanes 16..31 repeat the table, so the nibble needs no mask), then
//         mul_rn by the block's absmax.
// Each pair of values becomes one register of x's dtype (one cvt).
//
// A block is 8 warps (128 rows) and one K slice (split-K when there are too
// few row blocks to fill the GPU); x is staged kChunk k at a time.
#include <algorithm>
#include <cstdint>
#include "../common/fast_div.cuh"
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
// Blocks resident per SM, which the plan sizes the grid for: 3 x 8 warps at
// <= 85 registers (4 would force spills into the dequantization).
constexpr int kMinBlocksPerSm = 3;

// Shared-memory position of element a (0..127) of a step: fragment order,
// [mma s][lane t][4 consecutive k].
__device__ __forceinline__ int frag_pos(int a) { return ((a >> 2) & 7) * 16 + (a >> 5) * 4 + (a & 3); }

// One lane's share of a step for one weight row, as loaded: 32 codes and the
// raw parameters of their group (int4: scale, zero; NF4: absmax, or under
// double quantization the absmax code and its second-level scale).
struct Chunk {
  uint4 q;
  float s;     // int4 scale / NF4 absmax / NF4 second-level scale
  uint32_t z;  // int4 zero (f32 bits) / NF4 absmax code
};

// What every chunk load of a thread needs, computed once, as 32-bit offsets
// from the argument pointers (the plan bounds them): 64-bit pointers held
// per row did not fit the register budget, and ptxas recomputed them from
// the arguments on every step.
struct RowStream {
  uint32_t chunk0;  // the row's first chunk, in 16-byte units of wq (4 per step)
  uint32_t si0;     // row * s_ld: the row's first group index
};

// Step st's chunk of row r, loaded without a branch: the chunk index is
// clamped to the row's last chunk (`last`, k / 32 - 1), so a lane past k
// reads a real chunk of its row, whose x is zero (stage_x) and whose codes
// are finite, and adds nothing; rows past n read row 0 (RowStream) and
// their outputs are not stored; the caller clamps st to its slice. The
// predicates and branches this replaces were a fifth of the loop. The codes
// are loaded L2 evict-first (`policy`): each is read once.
//
// Folded (kFold): every lane takes the parameters of the step's group, even
// when its own chunk lies past k, since its sums cover the whole step's k.
template <W4Codes kCodes, bool kFold>
__device__ __forceinline__ void load_chunk(const W4Args& p, const RowStream& r, FastDiv gdiv, uint64_t policy,
                                           int64_t st, int t, uint32_t last, Chunk* c) {
  const uint32_t first = uint32_t(st) * (kStep / 32);  // k < 2^31 (the plan)
  const uint32_t ci = min(first + t, last);
  c->q = load_stream_u4(reinterpret_cast<const uint4*>(p.wq) + (r.chunk0 + ci), policy);
  const uint32_t si = r.si0 + gdiv.div(32 * (kFold ? min(first, last) : ci));
  if constexpr (kCodes == W4Codes::Nf4) {
    if (p.qabsmax) {
      c->z = __ldg(p.qabsmax + si);
      c->s = __ldg(p.absmax2 + si / kDoubleQuantBlock);
    } else {
      c->s = __ldg(p.scale + si);
    }
  } else {
    c->s = __ldg(p.scale + si);
    if constexpr (kCodes == W4Codes::Int4Asym) c->z = __float_as_uint(__ldg(p.zero + si));
  }
}

// 2^(23 - 4j), whose ulp is 2^(-4j): nibble j of a half-word ORed into its
// mantissa adds exactly the nibble. (The kernel and gemv_consts' merge
// constants both build on it.)
__host__ __device__ __forceinline__ constexpr uint32_t magic_bits(int j) { return uint32_t(150 - 4 * j) << 23; }

// A chunk's group parameters, from the raw loads.
struct Group {
  float scale;
  float bias[4];  // Int4Asym: 2^(23 - 4j) + zero, for nibble j of a half-word
};

template <W4Codes kCodes>
__device__ __forceinline__ Group group_of(const W4Args& p, const Chunk& c, const W4Tables& tab, float offset) {
  Group g;
  g.scale = c.s;
  if constexpr (kCodes == W4Codes::Nf4) {
    if (p.qabsmax) g.scale = add_rn(mul_rn(tab.dyn[c.z], c.s), offset);
  } else if constexpr (kCodes == W4Codes::Int4Asym) {
#pragma unroll
    for (int j = 0; j < 4; ++j) g.bias[j] = add_rn(__uint_as_float(magic_bits(j)), __uint_as_float(c.z));
  }
  return g;
}

// What the launch fixes for every thread: the group-index division, and the
// OR / XOR constants that turn nibble j (0..3) of a half-word, masked in
// place, into the f32 2^(23 - 4j) + nibble (Int4Asym) or 2^(23 - 4j) +
// (nibble ^ 8) = 2^(23 - 4j) + code + 8 (Int4Sym, two's complement nibbles).
// The constants come in as arguments, so in registers: ptxas folds compile-
// time ones into immediates and, a LOP3 taking one immediate, would then
// split each mask-and-merge in two.
//
// The folded path's constants (fold_merge) are the same idea in x's dtype,
// for a pair of nibbles masked into the two halves of a register: the f16
// 1024 (0x6400, ulp 1) or the bf16 128 (0x4300, ulp 1), with the top bit of
// each nibble flipped for Int4Sym. [0] takes nibbles at bits 0..3 / 16..19,
// [1] (f16 only) nibbles at bits 4..7 / 20..23, which become 1024 + 16
// nibble: bf16's 7-bit mantissa has no room above bit 3, so bf16 shifts.
struct GemvConsts {
  FastDiv group;
  uint32_t merge[4];
  uint32_t fold_merge[2];
  int64_t fold_steps;  // steps per group (folds(): all of a row's when one group spans it)
};

GemvConsts gemv_consts(const W4Args& a) {
  GemvConsts c;
  const bool sym = a.codes == W4Codes::Int4Sym;
  c.group = FastDiv(uint32_t(a.group));
  for (int j = 0; j < 4; ++j) c.merge[j] = magic_bits(j) | (sym ? 8u << (4 * j) : 0u);
  const uint32_t magic = a.x_dtype == KDType::BF16 ? 0x43004300u : 0x64006400u;
  c.fold_merge[0] = magic | (sym ? 0x00080008u : 0u);
  c.fold_merge[1] = magic | (sym ? 0x00800080u : 0u);
  c.fold_steps = a.group >= a.k ? ceil_div(a.k, kStep) : a.group / kStep;
  return c;
}

// Whether the folded path serves the problem: int4 codes (integers, exact in
// f16 and bf16 after the zero point is taken off; NF4's values are not) and
// one group per step of every row, so the four lanes of a step, whose sums
// the MMA mixes, share the step's scale.
bool folds(const W4Args& a) { return a.codes != W4Codes::Nf4 && (a.group % kStep == 0 || a.group >= a.k); }

// The f32 value of nibble j (0..3) of half-word h (bits 0..15 of `h`; NF4's
// shuffle reads index bits 0..4 only, and the table repeats past lane 15).
template <W4Codes kCodes, int j>
__device__ __forceinline__ float code_value(uint32_t h, const Group& g, float lut, const uint32_t (&merge)[4]) {
  if constexpr (kCodes == W4Codes::Nf4) {
    return mul_rn(__shfl_sync(0xffffffffu, lut, int(h >> (4 * j))), g.scale);
  } else {
    const float v = __uint_as_float((h & (15u << (4 * j))) ^ merge[j]);
    const float bias = kCodes == W4Codes::Int4Sym ? __uint_as_float(magic_bits(j)) + 8.f : g.bias[j];
    return mul_rn(__fsub_rn(v, bias), g.scale);
  }
}

// Word w (0..3) of a chunk's 16 bytes.
__device__ __forceinline__ uint32_t word_of(const uint4& q, int w) { return w == 0 ? q.x : w == 1 ? q.y : w == 2 ? q.z : q.w; }

// Registers of MMA s from a chunk: codes k 4s + {0, 1} and 4s + {2, 3}.
template <typename T, W4Codes kCodes>
__device__ __forceinline__ void dequant_pairs(const Chunk& c, const Group& g, int s, float lut,
                                              const uint32_t (&merge)[4], uint32_t* r01, uint32_t* r23) {
  const uint32_t word = word_of(c.q, s >> 1);
  const uint32_t h = (s & 1) ? word >> 16 : word;  // bits above 15 are masked off (int4) or ignored (NF4)
  *r01 = pack2<T>(code_value<kCodes, 0>(h, g, lut, merge), code_value<kCodes, 1>(h, g, lut, merge));
  *r23 = pack2<T>(code_value<kCodes, 2>(h, g, lut, merge), code_value<kCodes, 3>(h, g, lut, merge));
}

// ---- folded int4 (folds()): the MMA runs on the integer codes minus the
// zero point, exact in x's dtype, and each row's scale multiplies the f32
// sums of its group: y = sum over groups of scale * sum x (code - zero),
// which is x times dequantize()'s f32 weight, up to the f32 summation order,
// and skips the rounding of each weight value to x's dtype. Per 8 codes:
// 4 LOP3, 1-3 shifts and 4 half2 operations (the Marlin dequantization),
// against 3.5 instructions a value on the exact path.
//
// Pairing: LOP3 with a pair mask takes nibbles i and i + 4 of a word (bits
// 4i and 16 + 4i) into one register, so word w of a lane's chunk gives the
// pairs (e0, e4), (e1, e5), (e2, e6), (e3, e7); MMA s = 2w + h reads pairs 2h
// and 2h + 1 as its logical k (2t, 2t + 1) and (2t + 8, 2t + 9). stage_x
// stores x in the same order.

// (a & mask) ^ c in one LOP3 (0x6a), with mask an immediate and c a register.
template <uint32_t kMask>
__device__ __forceinline__ uint32_t mask_merge(uint32_t a, uint32_t c) {
  uint32_t d;
  asm("lop3.b32 %0, %1, %2, %3, 0x6a;" : "=r"(d) : "r"(a), "n"(kMask), "r"(c));
  return d;
}

// What a chunk's group contributes to its dequantization: the pair of
// (magic + zero) to subtract, and for f16's upper nibbles -(magic / 16 + zero).
struct FoldZero {
  uint32_t lo, hi;
};

template <typename T, W4Codes kCodes>
__device__ __forceinline__ FoldZero fold_zero(const Chunk& c) {
  const float z = kCodes == W4Codes::Int4Sym ? 8.f : __uint_as_float(c.z);
  if constexpr (std::is_same<T, __half>::value) return FoldZero{pack2<T>(1024.f + z, 1024.f + z), pack2<T>(-64.f - z, -64.f - z)};
  else return FoldZero{pack2<T>(128.f + z, 128.f + z), 0u};
}

template <typename T>
using T2 = typename std::conditional<std::is_same<T, __half>::value, __half2, __nv_bfloat162>::type;

template <typename T>
__device__ __forceinline__ uint32_t sub2(uint32_t a, uint32_t b) {
  const T2<T> r = __hsub2(reinterpret_cast<const T2<T>&>(a), reinterpret_cast<const T2<T>&>(b));
  return reinterpret_cast<const uint32_t&>(r);
}

// a / 16 + b: exact, the quotient and the sum being small integers.
__device__ __forceinline__ uint32_t fma2_sixteenth(uint32_t a, uint32_t b) {
  const __half2 r = __hfma2(reinterpret_cast<const __half2&>(a), __float2half2_rn(0.0625f), reinterpret_cast<const __half2&>(b));
  return reinterpret_cast<const uint32_t&>(r);
}

// Word q (codes e0..e7) -> d[i] = (e_i - zero, e_{i+4} - zero) in x's dtype.
template <typename T>
__device__ __forceinline__ void fold_word(uint32_t q, const FoldZero& z, const uint32_t (&merge)[2], uint32_t (&d)[4]) {
  if constexpr (std::is_same<T, __half>::value) {
    const uint32_t q8 = q >> 8;
    d[0] = sub2<T>(mask_merge<0x000f000fu>(q, merge[0]), z.lo);
    d[1] = fma2_sixteenth(mask_merge<0x00f000f0u>(q, merge[1]), z.hi);
    d[2] = sub2<T>(mask_merge<0x000f000fu>(q8, merge[0]), z.lo);
    d[3] = fma2_sixteenth(mask_merge<0x00f000f0u>(q8, merge[1]), z.hi);
  } else {
#pragma unroll
    for (int i = 0; i < 4; ++i) d[i] = sub2<T>(mask_merge<0x000f000fu>(q >> (4 * i), merge[0]), z.lo);
  }
}

// x[:, k0 .. k0 + kChunk) into shared memory in fragment order, zeros past m
// and k: 16-byte loads (k % 32 == 0 and x 16-byte aligned, by the plan), all
// of a thread's issued before any is stored. 8 consecutive k x0..x7 go to MMAs
// s and s + 1 as (x0 x1 x2 x3) (x4 x5 x6 x7), or folded as (x0 x4 x1 x5)
// (x2 x6 x3 x7), the order of fold_word's pairs.
template <typename T, int kTokens, bool kFold>
__device__ __forceinline__ void stage_x(T* xs, const W4Args& p, int64_t k0) {
  constexpr int kVecs = kChunk / 8, kPerThread = kTokens * kVecs / kThreads;
  static_assert(kTokens * kVecs % kThreads == 0, "whole vectors per thread");
  const T* gx = static_cast<const T*>(p.x);
  constexpr int kBatch = kPerThread < 4 ? kPerThread : 4;  // loads in flight, bounded for register pressure
#pragma unroll
  for (int i0 = 0; i0 < kPerThread; i0 += kBatch) {
    uint4 val[kBatch];
#pragma unroll
    for (int i = 0; i < kBatch; ++i) {
      const int v = threadIdx.x + (i0 + i) * kThreads, tok = v / kVecs;
      const int64_t kk = k0 + (v % kVecs) * 8;
      val[i] = tok < p.m && kk < p.k ? __ldg(reinterpret_cast<const uint4*>(gx + tok * p.k + kk)) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int i = 0; i < kBatch; ++i) {
      const int v = threadIdx.x + (i0 + i) * kThreads, tok = v / kVecs, a = (v % kVecs) * 8;
      T* row = xs + tok * kXLd + (a / kStep) * kStep;
      const uint4 v4 = val[i];
      *reinterpret_cast<uint2*>(row + frag_pos(a % kStep)) =
          kFold ? make_uint2(__byte_perm(v4.x, v4.z, 0x5410), __byte_perm(v4.x, v4.z, 0x7632)) : make_uint2(v4.x, v4.y);
      *reinterpret_cast<uint2*>(row + frag_pos(a % kStep + 4)) =
          kFold ? make_uint2(__byte_perm(v4.y, v4.w, 0x5410), __byte_perm(v4.y, v4.w, 0x7632)) : make_uint2(v4.z, v4.w);
    }
  }
}

template <typename T, int kNT, W4Codes kCodes, bool kFold, typename Out>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSm) w4_gemv_kernel(W4Args p, float* part, DynamicMap map, GemvConsts cs) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int kTokens = 8 * kNT;
  __shared__ W4Tables tab;
  __shared__ __align__(16) T xs[kTokens * kXLd];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int64_t row_a = int64_t(blockIdx.x) * kRowsPerBlock + warp * kRowsPerWarp + g;
  int64_t s0, s1;
  split_range(ceil_div(p.k, kStep), gridDim.y, blockIdx.y, &s0, &s1);
  RowStream rows[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int64_t row = row_a + 8 * r < p.n ? row_a + 8 * r : 0;
    rows[r].chunk0 = uint32_t(row * (p.k / 32));
    rows[r].si0 = uint32_t(row * p.s_ld);
  }
  const uint32_t last = uint32_t(p.k / 32 - 1);

  const uint64_t policy = l2_evict_first();
  // Register double buffer: step st + 1's chunks load while st computes; the
  // first are requested before anything else waits.
  Chunk next[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) load_chunk<kCodes, kFold>(p, rows[r], cs.group, policy, s0, t, last, &next[r]);

  if constexpr (!kFold) tab.fill(p, map);  // ends in __syncthreads
  constexpr bool kNf4 = kCodes == W4Codes::Nf4;
  const float lut = kNf4 ? nf4_value(lane & 15) : 0.f;
  const float offset = kNf4 && p.qabsmax ? __ldg(p.offset) : 0.f;

  // acc: the exact path's sums. The folded path sums a group in acc and
  // adds it, scaled, into its own column of `total` in shared memory, once a
  // group: kept in registers, the totals made the m > 8 variants spill.
  __shared__ float total[kFold ? 4 * kNT : 1][kFold ? kThreads : 1];
  float acc[kNT][4];
#pragma unroll
  for (int j = 0; j < kNT; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      acc[j][e] = 0.f;
      if constexpr (kFold) total[4 * j + e][threadIdx.x] = 0.f;
    }
  // The folded path moves acc into `total` after the last step of each group.
  int64_t fold_at = kFold ? (s0 / cs.fold_steps + 1) * cs.fold_steps : 0;

  for (int64_t c0 = s0; c0 < s1; c0 += kStepsPerChunk) {
    const int64_t c1 = min(s1, c0 + kStepsPerChunk);
    __syncthreads();  // the previous chunk's fragment reads are done
    stage_x<T, kTokens, kFold>(xs, p, c0 * kStep);
    __syncthreads();
    for (int64_t st = c0; st < c1; ++st) {
      const Chunk ca = next[0], cb = next[1];
#pragma unroll
      for (int r = 0; r < 2; ++r)
        load_chunk<kCodes, kFold>(p, rows[r], cs.group, policy, min(st + 1, s1 - 1), t, last, &next[r]);
      const T* xstep = xs + (st - c0) * kStep + t * 4;
      if constexpr (kFold) {
        const FoldZero za = fold_zero<T, kCodes>(ca), zb = fold_zero<T, kCodes>(cb);
#pragma unroll
        for (int w = 0; w < 4; ++w) {
          uint32_t da[4], db[4];
          fold_word<T>(word_of(ca.q, w), za, cs.fold_merge, da);
          fold_word<T>(word_of(cb.q, w), zb, cs.fold_merge, db);
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const uint32_t a[4] = {da[2 * h], db[2 * h], da[2 * h + 1], db[2 * h + 1]};
#pragma unroll
            for (int j = 0; j < kNT; ++j) {
              const uint2 b = *reinterpret_cast<const uint2*>(xstep + (g + 8 * j) * kXLd + (2 * w + h) * 16);
              mma_16816<T>(acc[j], a, b.x, b.y);
            }
          }
        }
        if (st + 1 == fold_at || st + 1 == s1) {
          fold_at += cs.fold_steps;
#pragma unroll
          for (int j = 0; j < kNT; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              float& sum = total[4 * j + e][threadIdx.x];
              sum = fmaf(acc[j][e], e < 2 ? ca.s : cb.s, sum);
              acc[j][e] = 0.f;
            }
        }
      } else {
        const Group ga = group_of<kCodes>(p, ca, tab, offset), gb = group_of<kCodes>(p, cb, tab, offset);
#pragma unroll
        for (int s = 0; s < 8; ++s) {
          uint32_t a[4];
          dequant_pairs<T, kCodes>(ca, ga, s, lut, cs.merge, &a[0], &a[2]);
          dequant_pairs<T, kCodes>(cb, gb, s, lut, cs.merge, &a[1], &a[3]);
#pragma unroll
          for (int j = 0; j < kNT; ++j) {
            const uint2 b = *reinterpret_cast<const uint2*>(xstep + (g + 8 * j) * kXLd + s * 16);
            mma_16816<T>(acc[j], a, b.x, b.y);
          }
        }
      }
    }
  }

  // acc[j]: rows g, g (tokens 2t, 2t + 1), g + 8, g + 8 of weight rows, tokens + 8j.
#pragma unroll
  for (int j = 0; j < kNT; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      if constexpr (kFold) acc[j][e] = total[4 * j + e][threadIdx.x];
      const int64_t col = row_a + (e < 2 ? 0 : 8), tok = 8 * j + 2 * t + (e & 1);
      if (col >= p.n || tok >= p.m) continue;
      if (gridDim.y == 1) store_epilogue<Out>(p.ep, p.n, tok, col, acc[j][e]);
      else part[(int64_t(blockIdx.y) * p.m + tok) * p.n + col] = acc[j][e];
    }
#endif
}

template <typename T, int kNT, W4Codes kCodes, bool kFold>
cudaError_t launch(const W4Args& a, const Plan& pl, float* part, cudaStream_t stream) {
  return dispatch_out(a.ep.out_dtype, false, [&](auto otag) -> cudaError_t {
    using Out = decltype(otag);
    if constexpr (std::is_same<Out, int32_t>::value) {
      return cudaErrorInvalidValue;
    } else {
      w4_gemv_kernel<T, kNT, kCodes, kFold, Out><<<dim3(unsigned(pl.tiles), unsigned(pl.splits)), kThreads, 0, stream>>>(
          a, part, dynamic_map(), gemv_consts(a));
      return cudaGetLastError();
    }
  });
}

template <typename T, int kNT>
cudaError_t launch_codes(const W4Args& a, const Plan& pl, float* part, cudaStream_t stream) {
  const bool fold = folds(a);
  switch (a.codes) {
    case W4Codes::Int4Sym:
      return fold ? launch<T, kNT, W4Codes::Int4Sym, true>(a, pl, part, stream)
                  : launch<T, kNT, W4Codes::Int4Sym, false>(a, pl, part, stream);
    case W4Codes::Int4Asym:
      return fold ? launch<T, kNT, W4Codes::Int4Asym, true>(a, pl, part, stream)
                  : launch<T, kNT, W4Codes::Int4Asym, false>(a, pl, part, stream);
    case W4Codes::Nf4: return launch<T, kNT, W4Codes::Nf4, false>(a, pl, part, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace

bool w4_gemv_plan(const W4Args& a, int ptx, int sm_count, Plan* pl) {
  if (ptx < 80 || a.m < 1 || a.m > kW4GemvMaxM || a.k % 32 != 0 || a.group % 32 != 0 || a.k >= (int64_t(1) << 31))
    return false;
  if (!aligned_to(a.x, 16) || !aligned_to(a.wq, 16)) return false;
  const int64_t row_blocks = ceil_div(a.n, kRowsPerBlock), steps = ceil_div(a.k, kStep);
  if (row_blocks > 0x7fffffff) return false;
  // 32-bit offsets (RowStream): 16-byte chunks of the codes, group indices.
  if (a.n * (a.k / 32) >= (int64_t(1) << 32) || a.n * a.s_ld + a.k / a.group >= (int64_t(1) << 32)) return false;
  // One wave of kMinBlocksPerSm blocks per SM (each keeps 8 warps x 1 KB of
  // weight in flight), each K slice at least 4 steps; splits recomputed so
  // that no slice is empty. Rounded down: a grid one block over the resident
  // slots runs a second wave as long as the first (at 8192^2 on 132 SMs, 7
  // splits = 448 blocks for 396 slots timed 30.4-31.0 us under ncu).
  int64_t splits = kMinBlocksPerSm * int64_t(sm_count) / row_blocks;
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
