// Warp-wide min and max that skip NaN (fminf / fmaxf), every lane getting the
// result: the scale statistics of cuda/quant, matching the CPU's fmin / fmax.
#pragma once

namespace germ::kernels {

__device__ __forceinline__ float warp_min_skip_nan(float v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v = fminf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}
__device__ __forceinline__ float warp_max_skip_nan(float v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}

}  // namespace germ::kernels
