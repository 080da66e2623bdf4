// NF4 blockwise quantization with QLoRA's double quantization (contract:
// quant.h and quant_math.h). Quantize: a warp per block of `block` elements
// finds absmax, scales by its reciprocal (as bitsandbytes does) and packs the
// nearest NF4 codes two per byte. Double quantization then takes the mean of
// the absmax values in one block of kMeanThreads threads (a fixed summation
// order the CPU repeats, so the offset is the same bit for bit), and a warp
// per 256 absmax values maps (absmax - offset) / max|absmax - offset| to the
// nearest value of the 8-bit dynamic map.
#include <cstdint>
#include "quant.h"
#include "../common/dtype_io.cuh"
#include "../common/launch_utils.cuh"
#include "warp_minmax.cuh"

namespace germ::kernels {
namespace {

constexpr int kWarps = 8;


template <typename T>
__global__ void __launch_bounds__(32 * kWarps) nf4_quant_kernel(const T* __restrict__ x, int64_t n, int64_t block,
                                                                uint8_t* __restrict__ codes,
                                                                float* __restrict__ absmax) {
  const int lane = threadIdx.x % 32;
  const int64_t nblocks = ceil_div(n, block), step = int64_t(gridDim.x) * kWarps;
  for (int64_t b = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32; b < nblocks; b += step) {
    const int64_t i0 = b * block, len = min(block, n - i0);
    float m = 0.f;
    for (int64_t j = lane; j < len; j += 32) m = fmaxf(m, fabsf(to_f32(x[i0 + j])));
    m = warp_max_skip_nan(m);
    if (lane == 0) absmax[b] = m;
    const float inv = inv_absmax(m);
    for (int64_t j = 2 * lane; j < len; j += 64) {
      const int lo = nf4_code(mul_rn(to_f32(x[i0 + j]), inv));
      const int hi = j + 1 < len ? nf4_code(mul_rn(to_f32(x[i0 + j + 1]), inv)) : 0;
      codes[(i0 + j) / 2] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

// offset[0] = mean(v[0..n)): the summation order of quant_math.h's kMeanThreads.
__global__ void __launch_bounds__(kMeanThreads) mean_kernel(const float* __restrict__ v, int64_t n, float* offset) {
  __shared__ double part[kMeanThreads];
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += kMeanThreads) s += double(v[i]);
  part[threadIdx.x] = s;
  __syncthreads();
  for (int half = kMeanThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) offset[0] = float(part[0] / double(n));
}

__global__ void __launch_bounds__(32 * kWarps) double_quant_kernel(const float* __restrict__ absmax, int64_t nblocks,
                                                                   const float* __restrict__ offset, DynamicMap map,
                                                                   uint8_t* __restrict__ qabsmax,
                                                                   float* __restrict__ absmax2) {
  __shared__ float smap[256];
  for (int k = threadIdx.x; k < 256; k += blockDim.x) smap[k] = map.v[k];
  __syncthreads();
  const int lane = threadIdx.x % 32;
  const float off = offset[0];
  const int64_t ngroups = ceil_div(nblocks, kDoubleQuantBlock), step = int64_t(gridDim.x) * kWarps;
  for (int64_t g = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32; g < ngroups; g += step) {
    const int64_t i0 = g * kDoubleQuantBlock, len = min(kDoubleQuantBlock, nblocks - i0);
    float m = 0.f;
    for (int64_t j = lane; j < len; j += 32) m = fmaxf(m, fabsf(absmax[i0 + j] - off));
    m = warp_max_skip_nan(m);
    if (lane == 0) absmax2[g] = m;
    const float inv = inv_absmax(m);
    for (int64_t j = lane; j < len; j += 32) {
      const float v = fminf(fmaxf(mul_rn(absmax[i0 + j] - off, inv), -1.f), 1.f);
      qabsmax[i0 + j] = static_cast<uint8_t>(dynamic_code(smap, v));
    }
  }
}

template <typename T>
__global__ void nf4_dequant_kernel(Nf4Args a, DynamicMap map) {
  __shared__ float smap[256];
  __shared__ float nf4[16];
  for (int k = threadIdx.x; k < 256; k += blockDim.x) smap[k] = map.v[k];
  if (threadIdx.x < 16) nf4[threadIdx.x] = nf4_value(threadIdx.x);
  __syncthreads();
  T* out = static_cast<T*>(a.out);
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < a.n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = i / a.block;
    const float am = a.qabsmax ? add_rn(mul_rn(smap[a.qabsmax[b]], a.absmax2[b / kDoubleQuantBlock]), a.offset[0])
                               : a.absmax[b];
    const int code = (a.codes[i / 2] >> (4 * (i & 1))) & 15;
    out[i] = from_f32<T>(mul_rn(nf4[code], am));
  }
}

}  // namespace

cudaError_t nf4_quantize(const Nf4Args& a, cudaStream_t stream) {
  if (a.n <= 0) return cudaSuccess;
  if (a.block <= 0 || a.block % 2 != 0) return cudaErrorInvalidValue;
  const int64_t nblocks = ceil_div(a.n, a.block);
  cudaError_t e = dispatch_float_dtype(a.dtype, [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
    nf4_quant_kernel<T><<<grid_stride_blocks(nblocks, kWarps), 32 * kWarps, 0, stream>>>(
        static_cast<const T*>(a.x), a.n, a.block, a.codes, a.absmax);
    return cudaGetLastError();
  });
  if (e != cudaSuccess || !a.qabsmax) return e;
  mean_kernel<<<1, kMeanThreads, 0, stream>>>(a.absmax, nblocks, a.offset);
  double_quant_kernel<<<grid_stride_blocks(ceil_div(nblocks, kDoubleQuantBlock), kWarps), 32 * kWarps, 0, stream>>>(
      a.absmax, nblocks, a.offset, make_dynamic_map(), a.qabsmax, a.absmax2);
  return cudaGetLastError();
}

cudaError_t nf4_dequantize(const Nf4Args& a, cudaStream_t stream) {
  if (a.n <= 0) return cudaSuccess;
  if (a.block <= 0) return cudaErrorInvalidValue;
  return dispatch_float_dtype(a.dtype, [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
    nf4_dequant_kernel<T><<<grid_stride_blocks(a.n, 256 * 4), 256, 0, stream>>>(a, make_dynamic_map());
    return cudaGetLastError();
  });
}

}  // namespace germ::kernels
