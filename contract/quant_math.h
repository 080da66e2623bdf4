// The arithmetic of quantization, compiled for both backends: the CUDA kernels
// (cuda/quant/*.cu) and the CPU backend (cpp/cpu/quant*.cc) call these very
// functions, so both produce the same integer codes bit for bit. Every step is
// one IEEE f32 operation (products go through mul_rn so nvcc cannot fuse them
// into an FMA), and rounding is round-half-to-even (rintf in the default
// rounding mode), so CUDA results are compared with the CPU's by equality.
//
// Uniform quantization of a group of values with min mn, max mx and clipping
// ratio c in (0, 1] (OmniQuant's learnable weight clipping), b bits:
//   symmetric:  a = c * max(|mn|, |mx|), scale = a / (2^(b-1) - 1),
//               q = clamp(rne(x / scale), -2^(b-1), 2^(b-1) - 1)
//   asymmetric: lo = c * min(mn, 0), hi = c * max(mx, 0) (zero stays exact),
//               scale = (hi - lo) / (2^b - 1), zero = clamp(rne(-lo / scale), 0, 2^b - 1),
//               q = clamp(rne(x / scale) + zero, 0, 2^b - 1)
// A group whose scale would be 0 (all zeros) gets scale 1, so its codes are 0
// (symmetric) or the zero point. NaN inputs take the zero point's code (0 for
// symmetric); the min/max ignore them. Dequantization: (q - zero) * scale.
#pragma once
#include <cmath>
#include <cstdint>
#include "host_device.h"
#include "kernel_types.h"

namespace germ::kernels {

// Which values share a scale. Channel (rows of a weight [out, in]) and token
// (rows of activations [tokens, hidden]) are both Row.
enum class QuantGrain : int32_t { Tensor = 0, Row = 1, Group = 2 };

// Uniform quantize: x contiguous [rows, cols] -> q, scale (and zero).
//   q: bits 8, 6: [rows, cols] i8 (symmetric) or u8 (asymmetric);
//      bits 4: u8 [rows, ceil(cols / 2)], element 2j in the low nibble of byte
//      j and 2j + 1 in the high one (two's complement nibble when symmetric),
//      an odd row's last high nibble 0.
//   scale, zero: f32, one per scale group: Tensor 1, Row rows, Group
//   rows * (cols / group), row-major; zero null when symmetric (it holds
//   integer values when present).
//   clip: one ratio per scale (same layout), or null: clip_scalar for all.
struct QuantArgs {
  KDType x_dtype = KDType::F32;
  const void* x = nullptr;
  int64_t rows = 0, cols = 0;
  int32_t bits = 8;
  bool symmetric = true;
  QuantGrain grain = QuantGrain::Row;
  int64_t group = 0;  // Group: elements per scale along a row (divides cols; even when bits == 4)
  const float* clip = nullptr;
  float clip_scalar = 1.f;
  void* q = nullptr;
  float* scale = nullptr;
  float* zero = nullptr;
};

// Dequantize the layout above into out [rows, cols] of out_dtype (a float).
struct DequantArgs {
  KDType out_dtype = KDType::F32;
  void* out = nullptr;
  const void* q = nullptr;
  const float* scale = nullptr;
  const float* zero = nullptr;  // null when symmetric
  int64_t rows = 0, cols = 0;
  int32_t bits = 8;
  bool symmetric = true;
  QuantGrain grain = QuantGrain::Row;
  int64_t group = 0;
};

// NF4 (QLoRA): x flattened to n elements, blocks of `block` (even) elements,
// each with its absmax; a code per element, packed two per byte like the
// uniform 4-bit layout (element 2i in the low nibble; bitsandbytes puts it in
// the high one). With double quantization (QLoRA section 3, as bitsandbytes'
// quantize_4bit(compress_statistics=True) does it) the absmax values are
// stored as: offset = mean(absmax) (f32 [1]); qabsmax[b] = the nearest code in
// the 8-bit dynamic map of (absmax[b] - offset) / absmax2[b / 256], u8
// [nblocks]; absmax2 = max |absmax - offset| per block of 256, f32.
// Dequantized absmax[b] = dyn[qabsmax[b]] * absmax2[b / 256] + offset.
struct Nf4Args {
  KDType dtype = KDType::F32;  // of x (quantize) or out (dequantize)
  const void* x = nullptr;
  void* out = nullptr;
  int64_t n = 0, block = 64;
  uint8_t* codes = nullptr;         // [ceil(n / 2)]
  float* absmax = nullptr;          // [nblocks]: the output without double quant, scratch with it
  uint8_t* qabsmax = nullptr;       // double quant only: [nblocks]
  float* absmax2 = nullptr;         //   [ceil(nblocks / 256)]
  float* offset = nullptr;          //   [1]
};
constexpr int64_t kDoubleQuantBlock = 256;

// ---- arithmetic ---------------------------------------------------------------

GERM_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
GERM_HD float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

struct QRange {
  float lo, hi;
};
GERM_HD QRange quant_range(int bits, bool symmetric) {
  return symmetric ? QRange{-float(1 << (bits - 1)), float((1 << (bits - 1)) - 1)} : QRange{0.f, float((1 << bits) - 1)};
}

struct QParams {
  float scale, zero;
};

GERM_HD QParams quant_params(float mn, float mx, float ratio, int bits, bool symmetric) {
  const QRange r = quant_range(bits, symmetric);
  if (symmetric) {
    const float a = mul_rn(fmaxf(fabsf(mn), fabsf(mx)), ratio);
    float s = a / r.hi;
    if (!(s > 0.f)) s = 1.f;
    return {s, 0.f};
  }
  const float lo = mul_rn(fminf(mn, 0.f), ratio), hi = mul_rn(fmaxf(mx, 0.f), ratio);
  float s = (hi - lo) / r.hi;
  if (!(s > 0.f)) s = 1.f;
  // + 0: a -0 zero point (from a -0 minimum) is stored as +0 on both backends
  const float z = fminf(fmaxf(rintf(-lo / s), 0.f), r.hi) + 0.f;
  return {s, z};
}

// The integer code of x (before any nibble packing).
GERM_HD int quant_code(float x, QParams p, QRange r) {
  const float v = rintf(x / p.scale) + p.zero;
  if (v != v) return static_cast<int>(p.zero);
  return static_cast<int>(fminf(fmaxf(v, r.lo), r.hi));
}

GERM_HD float dequant_value(int code, QParams p) { return mul_rn(float(code) - p.zero, p.scale); }

// Index of the scale of element (row, col).
GERM_HD int64_t scale_index(QuantGrain g, int64_t row, int64_t col, int64_t cols, int64_t group) {
  return g == QuantGrain::Tensor ? 0 : g == QuantGrain::Row ? row : row * (cols / group) + col / group;
}

// A 4-bit code read back from its nibble (sign-extended when symmetric).
GERM_HD int unpack_nibble(uint8_t byte, int hi, bool symmetric) {
  const int v = hi ? (byte >> 4) : (byte & 15);
  return symmetric ? (v ^ 8) - 8 : v;
}

// ---- NF4 ------------------------------------------------------------------------

// The 16 NF4 values (QLoRA, Dettmers et al. 2023; bitsandbytes' NF4 table).
GERM_HD float nf4_value(int code) {
  switch (code & 15) {
    case 0: return -1.0f;
    case 1: return -0.6961928009986877f;
    case 2: return -0.5250730514526367f;
    case 3: return -0.39491748809814453f;
    case 4: return -0.28444138169288635f;
    case 5: return -0.18477343022823334f;
    case 6: return -0.09105003625154495f;
    case 7: return 0.0f;
    case 8: return 0.07958029955625534f;
    case 9: return 0.16093020141124725f;
    case 10: return 0.24611230194568634f;
    case 11: return 0.33791524171829224f;
    case 12: return 0.44070982933044434f;
    case 13: return 0.5626170039176941f;
    case 14: return 0.7229568362236023f;
    default: return 1.0f;
  }
}

// Nearest NF4 code of x in [-1, 1]: bitsandbytes' decision tree (dQuantizeNF4),
// whose thresholds are the midpoints of neighbouring values; x equal to a
// midpoint takes the lower code.
GERM_HD int nf4_code(float x) {
  if (x > 0.03979014977812767f) {
    if (x > 0.3893125355243683f) {
      if (x > 0.6427869200706482f) return x > 0.8614784181118011f ? 15 : 14;
      return x > 0.5016634166240692f ? 13 : 12;
    }
    if (x > 0.2035212516784668f) return x > 0.2920137718319893f ? 11 : 10;
    return x > 0.1202552504837513f ? 9 : 8;
  }
  if (x > -0.33967943489551544f) {
    if (x > -0.13791173323988914f) return x > -0.045525018125772476f ? 7 : 6;
    return x > -0.23460740596055984f ? 5 : 4;
  }
  if (x > -0.6106329262256622f) return x > -0.4599952697753906f ? 3 : 2;
  return x > -0.8480964004993439f ? 1 : 0;
}

// 1 / absmax, or 0 for an all-zero block (its values then all map to 0).
GERM_HD float inv_absmax(float absmax) { return absmax > 0.f ? 1.f / absmax : 0.f; }

// bitsandbytes' signed 8-bit dynamic map (create_dynamic_map(signed=True,
// max_exponent_bits=7, total_bits=8)), sorted ascending: for i = 0..6 the
// 2^i midpoints of linspace(0.1, 1, 2^i + 1) times 10^(i - 6), both signs,
// then 0 and 1. Computed in double and rounded once to f32 (bitsandbytes
// computes linspace in f32, so a value may differ from its table by an ulp;
// the codes index this table, which is what dequantization reads).
struct DynamicMap {
  float v[256];
};

inline DynamicMap make_dynamic_map() {
  double pos[127];
  int n = 0;
  for (int i = 0; i < 7; ++i) {
    const int items = (1 << i) + 1;
    const double scale = std::pow(10.0, i - 6);
    for (int k = 0; k + 1 < items; ++k) {
      const double b0 = 0.1 + 0.9 * k / (items - 1), b1 = 0.1 + 0.9 * (k + 1) / (items - 1);
      pos[n++] = scale * ((b0 + b1) / 2.0);
    }
  }
  // pos holds 127 positive values; the map is -pos (descending), 0, pos, 1.
  double all[256];
  int m = 0;
  for (int k = 0; k < n; ++k) all[m++] = -pos[k];
  all[m++] = 0.0;
  for (int k = 0; k < n; ++k) all[m++] = pos[k];
  all[m++] = 1.0;
  // insertion sort: 256 values, once per call
  for (int a = 1; a < m; ++a)
    for (int b = a; b > 0 && all[b - 1] > all[b]; --b) {
      const double t = all[b];
      all[b] = all[b - 1];
      all[b - 1] = t;
    }
  DynamicMap d{};
  for (int k = 0; k < 256; ++k) d.v[k] = static_cast<float>(all[k]);
  return d;
}

// Index of the map value nearest to x (|x| <= 1); a tie takes the lower index,
// as torch.argmin over |x - code| does in bitsandbytes' reference path.
GERM_HD int dynamic_code(const float* map, float x) {
  int lo = 0, hi = 255;  // first index with map[i] >= x, by bisection
  if (x <= map[0]) return 0;
  if (x > map[255]) return 255;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (map[mid] >= x) hi = mid;
    else lo = mid + 1;
  }
  return (x - map[lo - 1] <= map[lo] - x) ? lo - 1 : lo;
}

// Deterministic mean of n f32 values: 256 strided partial sums in double, then
// a halving tree. The CUDA kernel (one block of 256 threads) and the CPU run
// this same order, so the offset of double quantization agrees bit for bit.
constexpr int kMeanThreads = 256;

}  // namespace germ::kernels
