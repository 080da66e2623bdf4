// A kernel that is never launched: it is compiled for the same architecture
// list as every other kernel, so cudaFuncGetAttributes on it tells whether the
// fat binary has an image (SASS, or PTX the driver can JIT) for a device.
#include "probe.h"

namespace germ::kernels {
namespace {

__global__ void probe_kernel(int* out) {
  if (out) *out = 1;
}

}  // namespace

cudaError_t probe_kernel_image(int device) {
  int previous = 0;
  cudaError_t status = cudaGetDevice(&previous);
  if (status != cudaSuccess) return status;
  status = cudaSetDevice(device);
  if (status == cudaSuccess) {
    cudaFuncAttributes attr{};
    status = cudaFuncGetAttributes(&attr, probe_kernel);
  }
  // Failing to restore would leave the caller on `device`; report it only when
  // the probe itself succeeded.
  const cudaError_t restored = cudaSetDevice(previous);
  return status != cudaSuccess ? status : restored;
}

}  // namespace germ::kernels
