// Scalar conversions between the storage types of KDType and f32.
//
// f16 and bf16 are held as raw bits in distinct wrapper structs, so overloads
// and templates can tell them apart (both are uint16_t underneath). Every
// conversion is bit-exact with the hardware ones the CUDA kernels use:
// round-to-nearest-even, Inf kept, NaN kept as a quiet NaN with its sign, and
// f16 subnormals both ways. No F16C / AVX512-BF16 instructions: the prebuilt
// binary must run on any x86-64, and these are plain integer ops the compiler
// can vectorise.
//
// Float -> integer casts saturate and round to nearest even; NaN becomes 0
// (what CUDA's cvt.rni.sat gives). U8 is also the container for packed 4-bit
// weights, but a cast treats it as a plain uint8.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace germ::cpu {

struct Half { uint16_t bits; };
struct BFloat16 { uint16_t bits; };

inline uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float f32_from_bits(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

// f16 -> f32, exact (every f16 is an f32). After F. Giesen's "half_to_float":
// rebias the exponent with integer adds; subnormals are renormalised by one
// exact f32 subtraction.
inline float half_to_float(Half h) {
  constexpr uint32_t kShiftedExp = 0x7c00u << 13;  // f16 exponent mask, moved to f32 position
  uint32_t o = (h.bits & 0x7fffu) << 13;
  uint32_t exp = o & kShiftedExp;
  o += (127 - 15) << 23;  // rebias
  if (exp == kShiftedExp) {
    o += (128 - 16) << 23;  // Inf / NaN: exponent to 255, mantissa (payload) kept
  } else if (exp == 0) {
    o += 1u << 23;  // subnormal: treat as 1.m * 2^-14, then subtract the implicit 1
    o = f32_bits(f32_from_bits(o) - f32_from_bits(113u << 23));
  }
  return f32_from_bits(o | ((h.bits & 0x8000u) << 16));
}

// f32 -> f16, round to nearest even. After F. Giesen's "float_to_half_fast3_rtne".
inline Half float_to_half(float f) {
  uint32_t u = f32_bits(f);
  uint32_t sign = u & 0x80000000u;
  u ^= sign;
  uint16_t o;
  if (u >= (127u + 16u) << 23) {                    // >= 65536: overflow, Inf or NaN
    o = (u > 0x7f800000u) ? 0x7e00 : 0x7c00;       // quiet NaN : Inf
  } else if (u < (113u << 23)) {                    // below the smallest normal f16
    // Adding 0.5 (as a magic f32 whose ulp is the f16 subnormal ulp) lets the
    // FPU round the mantissa to nearest even; the result bits are the f16.
    constexpr uint32_t kDenormMagic = ((127 - 15) + (23 - 10) + 1) << 23;
    o = static_cast<uint16_t>(f32_bits(f32_from_bits(u) + f32_from_bits(kDenormMagic)) - kDenormMagic);
  } else {
    uint32_t mant_odd = (u >> 13) & 1u;             // ties go to even
    u += (uint32_t(15 - 127) << 23) + 0xfffu;       // rebias, add just under half an ulp
    u += mant_odd;
    o = static_cast<uint16_t>(u >> 13);             // a carry into Inf is the right answer
  }
  return Half{static_cast<uint16_t>(o | (sign >> 16))};
}

inline float bf16_to_float(BFloat16 h) { return f32_from_bits(uint32_t(h.bits) << 16); }

// f32 -> bf16, round to nearest even; NaN stays NaN (quiet bit forced so that
// truncating the payload cannot turn it into Inf).
inline BFloat16 float_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return BFloat16{static_cast<uint16_t>((u >> 16) | 0x40u)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return BFloat16{static_cast<uint16_t>(u >> 16)};
}

// Round to nearest, ties to even (the FPU's default rounding mode, which germ
// never changes). Adding and subtracting 2^23 to |x| < 2^23 lands in
// [2^23, 2^24), where the float spacing is exactly 1, so the FPU's own rounding
// drops the fraction, without a libm call. (1.5 * 2^23, the signed-input
// version of the trick, would reach 2^24 and its spacing of 2 for |x| >= 2^22,
// rounding odd integers to even.) Values of magnitude >= 2^23 are integers.
inline float round_half_even(float x) {
  constexpr float kMagic = 8388608.0f;  // 2^23
  if (!(std::fabs(x) < 8388608.0f)) return x;  // also passes NaN through
  float r = (std::fabs(x) + kMagic) - kMagic;
  return std::copysign(r, x);
}

// Saturating casts. Bounds are compared before rounding; that is the same as
// after, since the bounds are integers.
inline int8_t float_to_i8(float x) {
  if (std::isnan(x)) return 0;
  x = x < -128.0f ? -128.0f : (x > 127.0f ? 127.0f : x);
  return static_cast<int8_t>(round_half_even(x));
}

inline uint8_t float_to_u8(float x) {
  if (std::isnan(x)) return 0;
  x = x < 0.0f ? 0.0f : (x > 255.0f ? 255.0f : x);
  return static_cast<uint8_t>(round_half_even(x));
}

inline int32_t float_to_i32(float x) {
  if (std::isnan(x)) return 0;
  if (x >= 2147483648.0f) return INT32_MAX;   // 2^31 is the first f32 out of range
  if (x <= -2147483648.0f) return INT32_MIN;
  return static_cast<int32_t>(round_half_even(x));
}

// Storage-type traits: one to_float / from_float pair per KDType storage type,
// so templated loops can be written once for all six.
inline float to_float(float v) { return v; }
inline float to_float(Half v) { return half_to_float(v); }
inline float to_float(BFloat16 v) { return bf16_to_float(v); }
inline float to_float(int8_t v) { return static_cast<float>(v); }
inline float to_float(int32_t v) { return static_cast<float>(v); }  // rounds beyond 2^24
inline float to_float(uint8_t v) { return static_cast<float>(v); }

template <class T> T from_float(float v);
template <> inline float from_float<float>(float v) { return v; }
template <> inline Half from_float<Half>(float v) { return float_to_half(v); }
template <> inline BFloat16 from_float<BFloat16>(float v) { return float_to_bf16(v); }
template <> inline int8_t from_float<int8_t>(float v) { return float_to_i8(v); }
template <> inline int32_t from_float<int32_t>(float v) { return float_to_i32(v); }
template <> inline uint8_t from_float<uint8_t>(float v) { return float_to_u8(v); }

}  // namespace germ::cpu
