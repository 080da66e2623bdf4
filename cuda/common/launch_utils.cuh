// Host-side launch helpers shared by every family: grid sizing for grid-stride
// loops and a per-device cache of the few attributes launchers need.
#pragma once
#include <cstdint>
#include <cuda_runtime_api.h>

namespace germ::kernels {

__host__ __device__ constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Device facts read once per device (cudaDeviceGetAttribute is cheap, but the
// launchers are called per op, so it still pays to cache). Thread-safe: two
// threads racing on the first fill write identical values.
struct DeviceInfo {
  int sm_count = 0;
  int cc = 0;  // compute capability as 10*major + minor
};

inline cudaError_t device_info(DeviceInfo* out) {
  constexpr int kMaxDevices = 64;
  static DeviceInfo cache[kMaxDevices];  // zero-initialised: sm_count == 0 means "not read yet"
  int dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e != cudaSuccess) return e;
  if (dev >= 0 && dev < kMaxDevices && cache[dev].sm_count > 0) { *out = cache[dev]; return cudaSuccess; }
  DeviceInfo info;
  int major = 0, minor = 0;
  if ((e = cudaDeviceGetAttribute(&info.sm_count, cudaDevAttrMultiProcessorCount, dev)) != cudaSuccess) return e;
  if ((e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev)) != cudaSuccess) return e;
  if ((e = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev)) != cudaSuccess) return e;
  info.cc = 10 * major + minor;
  if (dev >= 0 && dev < kMaxDevices) cache[dev] = info;
  *out = info;
  return cudaSuccess;
}

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
