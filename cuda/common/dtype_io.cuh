// Device-side element I/O shared by every kernel family: each KDType maps to one
// C++ type, loads widen to f32, stores round once from f32 into the destination.
//
//   f16 / bf16  : round to nearest even (__float2half_rn / __float2bfloat16_rn)
//   i8 / u8 / i32 from float: round to nearest even, saturate to the type's
//                 range, NaN -> 0 (this is what cvt.rni.s32.f32 does in hardware)
//
// Kernels are templated on the C++ element type; host launchers turn a runtime
// KDType into that type once, through dispatch_dtype / dispatch_float_dtype.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <cuda_runtime_api.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include "../../contract/kernel_types.h"

namespace germ::kernels {

// ---- f32 <-> element ------------------------------------------------------

template <typename T> __device__ __forceinline__ float to_f32(T v);
template <> __device__ __forceinline__ float to_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ float to_f32<__half>(__half v) { return __half2float(v); }
template <> __device__ __forceinline__ float to_f32<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
template <> __device__ __forceinline__ float to_f32<int8_t>(int8_t v) { return static_cast<float>(v); }
template <> __device__ __forceinline__ float to_f32<uint8_t>(uint8_t v) { return static_cast<float>(v); }
template <> __device__ __forceinline__ float to_f32<int32_t>(int32_t v) { return __int2float_rn(v); }

template <typename T> __device__ __forceinline__ T from_f32(float v);
template <> __device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ __half from_f32<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
// cvt.rni.s32.f32 already rounds half-to-even, saturates and maps NaN to 0.
template <> __device__ __forceinline__ int32_t from_f32<int32_t>(float v) { return __float2int_rn(v); }
template <> __device__ __forceinline__ int8_t from_f32<int8_t>(float v) {
  return static_cast<int8_t>(min(max(__float2int_rn(v), -128), 127));
}
template <> __device__ __forceinline__ uint8_t from_f32<uint8_t>(float v) {
  return static_cast<uint8_t>(min(max(__float2int_rn(v), 0), 255));
}

// Integer -> integer casts skip f32 (it cannot hold every int32): saturate.
template <typename T> constexpr bool kIsInt =
    std::is_same<T, int8_t>::value || std::is_same<T, uint8_t>::value || std::is_same<T, int32_t>::value;

template <typename To, typename From>
__device__ __forceinline__ To cast_elem(From v) {
  if constexpr (std::is_same<To, From>::value) {
    return v;
  } else if constexpr (kIsInt<To> && kIsInt<From>) {
    const int32_t x = static_cast<int32_t>(v);
    if constexpr (std::is_same<To, int8_t>::value) return static_cast<int8_t>(min(max(x, -128), 127));
    else if constexpr (std::is_same<To, uint8_t>::value) return static_cast<uint8_t>(min(max(x, 0), 255));
    else return x;
  } else {
    return from_f32<To>(to_f32<From>(v));
  }
}

// lo, hi rounded to T (f16 / bf16, round to nearest even, as from_f32 rounds)
// and packed into one register, lo in the low half: one
// cvt.rn.{f16,bf16}x2.f32. The 32-bit operand of the MMA instructions.
template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  if constexpr (std::is_same<T, __half>::value) {
    const __half2 h = __floats2half2_rn(lo, hi);
    return reinterpret_cast<const uint32_t&>(h);
  } else {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return reinterpret_cast<const uint32_t&>(h);
  }
}

// Two adjacent 16- or 32-bit elements as one 32- or 64-bit access (the pair
// at an address aligned to twice the element size).
template <typename T>
using PairBits = std::conditional_t<sizeof(T) == 2, uint32_t, uint2>;

// pair = {src[0], src[1]} in one load; src aligned to the pair.
template <typename T>
__device__ __forceinline__ void load_pair(const T* src, T (&pair)[2]) {
  static_assert(sizeof(T) == 2 || sizeof(T) == 4, "pairs of 16- or 32-bit elements");
  const PairBits<T> bits = *reinterpret_cast<const PairBits<T>*>(src);
  memcpy(pair, &bits, sizeof(bits));
}

// dst[0] = o0, dst[1] = o1: one store when the caller knows dst is aligned to
// the pair, else element by element.
template <typename T>
__device__ __forceinline__ void store_pair(T* dst, bool aligned, T o0, T o1) {
  static_assert(sizeof(T) == 2 || sizeof(T) == 4, "pairs of 16- or 32-bit elements");
  if (aligned) {
    const T pair[2] = {o0, o1};
    PairBits<T> bits;
    memcpy(&bits, pair, sizeof(bits));
    *reinterpret_cast<PairBits<T>*>(dst) = bits;
  } else {
    dst[0] = o0;
    dst[1] = o1;
  }
}

// Eight consecutive elements from one 16-byte-aligned address widened to
// f32: one 16-byte load for f16 / bf16, two for f32.
template <typename T>
__device__ __forceinline__ void load8_f32(const T* p, float (&v)[8]) {
  if constexpr (std::is_same<T, float>::value) {
    const float4 a = reinterpret_cast<const float4*>(p)[0], b = reinterpret_cast<const float4*>(p)[1];
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
    v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
  } else {
    const uint4 raw = *reinterpret_cast<const uint4*>(p);
    const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = to_f32(e[i]);
  }
}

// NaN-propagating max / min (torch.maximum semantics; fmaxf would drop the NaN).
__device__ __forceinline__ float max_nan(float a, float b) { return (a > b || a != a) ? a : b; }
__device__ __forceinline__ float min_nan(float a, float b) { return (a < b || a != a) ? a : b; }

}  // namespace germ::kernels

// ---- host: runtime KDType -> C++ type ---------------------------------------
// f(T{}) is called with a value of the element type; the lambda reads the type
// back with decltype. Returns cudaErrorInvalidValue for a dtype the op rejects.
namespace germ::kernels {

template <class F>
cudaError_t dispatch_float_dtype(KDType dt, F&& f) {
  switch (dt) {
    case KDType::F32: return f(float{});
    case KDType::F16: return f(__half{});
    case KDType::BF16: return f(__nv_bfloat16{});
    default: return cudaErrorInvalidValue;
  }
}

template <class F>
cudaError_t dispatch_dtype(KDType dt, F&& f) {
  switch (dt) {
    case KDType::I8: return f(int8_t{});
    case KDType::I32: return f(int32_t{});
    case KDType::U8: return f(uint8_t{});
    default: return dispatch_float_dtype(dt, f);
  }
}

}  // namespace germ::kernels

// ---- streaming loads ---------------------------------------------------------

// 16 read-only bytes read exactly once (a weight streamed through a GEMV):
// no L1 allocation, and first in line for L2 eviction, so the stream does not
// push out what the kernel reuses (its activations, split-K partials).
// sm_80+: `policy` is l2_evict_first(), made once per thread.
__device__ __forceinline__ uint64_t l2_evict_first() {
  uint64_t policy = 0;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
#endif
  return policy;
}

__device__ __forceinline__ uint4 load_stream_u4(const void* p, uint64_t policy) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.L2::cache_hint.v4.u32 {%0, %1, %2, %3}, [%4], %5;"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p), "l"(policy));
  return v;
#else
  return __ldg(static_cast<const uint4*>(p));
#endif
}
