// Host-side launch helpers shared by every family: grid sizing for grid-stride
// loops (device facts: device_info.cuh).
#pragma once
#include <cstdint>
#include <cuda_runtime_api.h>
#include "device_info.cuh"

namespace germ::kernels {

__host__ __device__ constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Blocks for a grid-stride loop over n work items of `per_block` items each:
// enough to fill the GPU several times over, never more than the work needs.
inline unsigned grid_stride_blocks(int64_t n, int64_t per_block) {
  DeviceInfo info;
  const int64_t cap = (device_info(&info) == cudaSuccess && info.sm_count > 0) ? int64_t(info.sm_count) * 16 : 2048;
  const int64_t need = ceil_div(n, per_block);
  return static_cast<unsigned>(need < cap ? (need < 1 ? 1 : need) : cap);
}

inline bool aligned_to(const void* p, uintptr_t bytes) { return (reinterpret_cast<uintptr_t>(p) % bytes) == 0; }

}  // namespace germ::kernels
