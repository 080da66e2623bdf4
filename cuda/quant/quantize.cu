// Uniform quantize / dequantize (contract: quant.h, math: quant_math.h).
// Row and Group grains: one warp per scale group finds the group's min and max
// with a butterfly, derives scale and zero point in every lane, and writes the
// codes in the same pass (per-token scales computed on the fly). Tensor grain:
// a grid-stride min/max into order-preserving integer keys (atomics on exact
// max/min are order-independent, so the result is deterministic), a one-thread
// finish that turns them into scale[0] / zero[0], then the same code pass.
#include <cstdint>
#include "quant.h"
#include "../common/dtype_io.cuh"
#include "../common/launch_utils.cuh"
#include "warp_minmax.cuh"

namespace germ::kernels {
namespace {

constexpr int kWarps = 8;

// f32 -> int with the same order (signed compare), and back.
__device__ __forceinline__ int order_key(float f) {
  const int k = __float_as_int(f);
  return k >= 0 ? k : k ^ 0x7fffffff;
}
__device__ __forceinline__ float order_value(int k) { return __int_as_float(k >= 0 ? k : k ^ 0x7fffffff); }

// One warp per segment: `seg_len` columns starting at a multiple of seg_len
// in its row. kGiven: every segment uses scale[0] / zero[0] (Tensor grain).
template <typename T, bool kGiven>
__global__ void __launch_bounds__(32 * kWarps) segments_kernel(QuantArgs a, int64_t seg_len) {
  const int lane = threadIdx.x % 32;
  const int64_t segs_per_row = a.cols / seg_len, n_segs = a.rows * segs_per_row;
  const int64_t qcols = a.bits == 4 ? (a.cols + 1) / 2 : a.cols;
  const QRange range = quant_range(a.bits, a.symmetric);
  const T* x = static_cast<const T*>(a.x);
  const int64_t step = int64_t(gridDim.x) * kWarps;
  for (int64_t s = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32; s < n_segs; s += step) {
    const int64_t r = s / segs_per_row, c0 = (s % segs_per_row) * seg_len;
    const T* xs = x + r * a.cols + c0;
    QParams p;
    if constexpr (kGiven) {
      p = {a.scale[0], a.zero ? a.zero[0] : 0.f};
    } else {
      float mn = INFINITY, mx = -INFINITY;
      for (int64_t j = lane; j < seg_len; j += 32) {
        const float v = to_f32(xs[j]);
        mn = fminf(mn, v);
        mx = fmaxf(mx, v);
      }
      mn = warp_min_skip_nan(mn);
      mx = warp_max_skip_nan(mx);
      p = quant_params(mn, mx, a.clip ? a.clip[s] : a.clip_scalar, a.bits, a.symmetric);
      if (lane == 0) {
        a.scale[s] = p.scale;
        if (a.zero) a.zero[s] = p.zero;
      }
    }
    if (a.bits == 4) {
      uint8_t* q = static_cast<uint8_t*>(a.q) + r * qcols + c0 / 2;
      for (int64_t j = lane; 2 * j < seg_len; j += 32) {
        const int lo = quant_code(to_f32(xs[2 * j]), p, range);
        const int hi = 2 * j + 1 < seg_len ? quant_code(to_f32(xs[2 * j + 1]), p, range) : 0;
        q[j] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
      }
    } else if (a.symmetric) {
      int8_t* q = static_cast<int8_t*>(a.q) + r * qcols + c0;
      for (int64_t j = lane; j < seg_len; j += 32) q[j] = static_cast<int8_t>(quant_code(to_f32(xs[j]), p, range));
    } else {
      uint8_t* q = static_cast<uint8_t*>(a.q) + r * qcols + c0;
      for (int64_t j = lane; j < seg_len; j += 32) q[j] = static_cast<uint8_t>(quant_code(to_f32(xs[j]), p, range));
    }
  }
}

// keys[0] = max key, keys[1] = min key (asymmetric) ; symmetric: keys[0] = max|x| bits.
__global__ void init_keys_kernel(int* max_key, int* min_key) {
  *max_key = min_key ? order_key(-INFINITY) : 0;
  if (min_key) *min_key = order_key(INFINITY);
}

template <typename T>
__global__ void __launch_bounds__(256) tensor_minmax_kernel(const T* __restrict__ x, int64_t n, int* max_key,
                                                             int* min_key) {
  float mn = INFINITY, mx = min_key ? -INFINITY : 0.f;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float v = to_f32(x[i]);
    if (min_key) {
      mn = fminf(mn, v);
      mx = fmaxf(mx, v);
    } else {
      mx = fmaxf(mx, fabsf(v));
    }
  }
  mx = warp_max_skip_nan(mx);
  mn = warp_min_skip_nan(mn);
  if (threadIdx.x % 32 == 0) {
    atomicMax(max_key, order_key(mx));
    if (min_key) atomicMin(min_key, order_key(mn));
  }
}

__global__ void tensor_params_kernel(QuantArgs a) {
  const int* keys = reinterpret_cast<const int*>(a.scale);
  const float mx = order_value(keys[0]);
  const float mn = a.zero ? order_value(*reinterpret_cast<const int*>(a.zero)) : 0.f;
  const QParams p = quant_params(mn, mx, a.clip ? a.clip[0] : a.clip_scalar, a.bits, a.symmetric);
  a.scale[0] = p.scale;
  if (a.zero) a.zero[0] = p.zero;
}

template <typename T>
__global__ void dequant_kernel(DequantArgs a) {
  const int64_t n = a.rows * a.cols, qcols = a.bits == 4 ? (a.cols + 1) / 2 : a.cols;
  T* out = static_cast<T*>(a.out);
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / a.cols, c = i % a.cols;
    int code;
    if (a.bits == 4) code = unpack_nibble(static_cast<const uint8_t*>(a.q)[r * qcols + c / 2], int(c & 1), a.symmetric);
    else if (a.symmetric) code = static_cast<const int8_t*>(a.q)[i];
    else code = static_cast<const uint8_t*>(a.q)[i];
    const int64_t si = scale_index(a.grain, r, c, a.cols, a.group);
    out[i] = from_f32<T>(dequant_value(code, {a.scale[si], a.zero ? a.zero[si] : 0.f}));
  }
}

}  // namespace

cudaError_t quantize(const QuantArgs& a, cudaStream_t stream) {
  if (a.rows <= 0 || a.cols <= 0) return cudaSuccess;
  return dispatch_float_dtype(a.x_dtype, [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
    if (a.grain == QuantGrain::Tensor) {
      const int64_t n = a.rows * a.cols;
      int* max_key = reinterpret_cast<int*>(a.scale);
      int* min_key = a.zero ? reinterpret_cast<int*>(a.zero) : nullptr;
      init_keys_kernel<<<1, 1, 0, stream>>>(max_key, min_key);
      tensor_minmax_kernel<T><<<grid_stride_blocks(n, 256 * 8), 256, 0, stream>>>(static_cast<const T*>(a.x), n,
                                                                                    max_key, min_key);
      tensor_params_kernel<<<1, 1, 0, stream>>>(a);
      segments_kernel<T, true><<<grid_stride_blocks(a.rows, kWarps), 32 * kWarps, 0, stream>>>(a, a.cols);
    } else {
      const int64_t seg_len = a.grain == QuantGrain::Group ? a.group : a.cols;
      if (seg_len <= 0 || a.cols % seg_len != 0) return cudaErrorInvalidValue;
      segments_kernel<T, false><<<grid_stride_blocks(a.rows * (a.cols / seg_len), kWarps), 32 * kWarps, 0, stream>>>(
          a, seg_len);
    }
    return cudaGetLastError();
  });
}

cudaError_t dequantize(const DequantArgs& a, cudaStream_t stream) {
  if (a.rows <= 0 || a.cols <= 0) return cudaSuccess;
  return dispatch_float_dtype(a.out_dtype, [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
    dequant_kernel<T><<<grid_stride_blocks(a.rows * a.cols, 256 * 4), 256, 0, stream>>>(a);
    return cudaGetLastError();
  });
}

}  // namespace germ::kernels
