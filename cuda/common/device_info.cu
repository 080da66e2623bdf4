#include "device_info.cuh"

namespace germ::kernels {
namespace {

__global__ void code_arch_probe() {}

constexpr int kMaxDevices = 64;

}  // namespace

cudaError_t device_info(DeviceInfo* out) {
  static DeviceInfo cache[kMaxDevices];  // zero-initialised: sm_count == 0 means "not read yet"
  int dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e != cudaSuccess) return e;
  const bool cached = dev >= 0 && dev < kMaxDevices;
  if (cached && cache[dev].sm_count > 0) {
    *out = cache[dev];
    return cudaSuccess;
  }
  DeviceInfo info;
  int major = 0, minor = 0;
  if ((e = cudaDeviceGetAttribute(&info.sm_count, cudaDevAttrMultiProcessorCount, dev)) != cudaSuccess) return e;
  if ((e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev)) != cudaSuccess) return e;
  if ((e = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev)) != cudaSuccess) return e;
  if ((e = cudaDeviceGetAttribute(&info.max_smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev)) != cudaSuccess)
    return e;
  info.cc = 10 * major + minor;
  cudaFuncAttributes fa{};
  if (cudaFuncGetAttributes(&fa, code_arch_probe) == cudaSuccess) info.code_arch = fa.ptxVersion;
  (void)cudaGetLastError();  // no image for this device: code_arch stays 0
  if (cached) cache[dev] = info;
  *out = info;
  return cudaSuccess;
}

}  // namespace germ::kernels
