// Warp and block reductions over f32, shared by reduce/, norm/ and anything else
// that folds values. The combine is a functor so Sum/Max/Min share one tree.
// Every result is deterministic: a fixed butterfly, no atomics.
#pragma once
#include "dtype_io.cuh"

namespace germ::kernels {

struct SumOp { __device__ __forceinline__ float operator()(float a, float b) const { return a + b; } };
struct MaxOp { __device__ __forceinline__ float operator()(float a, float b) const { return max_nan(a, b); } };
struct MinOp { __device__ __forceinline__ float operator()(float a, float b) const { return min_nan(a, b); } };

// Butterfly (xor) so every lane ends with the full result.
template <class Op>
__device__ __forceinline__ float warp_reduce(float v, Op op) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}

// Reduce over a group of kGroup consecutive threads (32 = one warp, or the
// whole block). Every thread of the group gets the result. `smem` needs
// kGroup/32 floats per group and must not be in use by another reduction; the
// trailing __syncthreads lets the caller reuse it immediately.
// All threads of the block must call this (it may contain __syncthreads).
template <int kGroup, class Op>
__device__ __forceinline__ float group_reduce(float v, Op op, float* smem) {
  static_assert(kGroup % 32 == 0, "groups are whole warps");
  v = warp_reduce(v, op);
  if constexpr (kGroup == 32) {
    return v;
  } else {
    constexpr int kWarps = kGroup / 32;
    const int lane = threadIdx.x & 31;
    const int warp_in_group = (threadIdx.x % kGroup) / 32;
    float* s = smem + (threadIdx.x / kGroup) * kWarps;
    if (lane == 0) s[warp_in_group] = v;
    __syncthreads();
    float r = s[0];
#pragma unroll
    for (int w = 1; w < kWarps; ++w) r = op(r, s[w]);
    __syncthreads();
    return r;
  }
}

}  // namespace germ::kernels
