// Host launcher for the kernel-image probe (cuda/probe/probe.cu): whether this
// binary holds code a device can run, asked of the runtime rather than
// guessed from the architecture list, so PTX the driver cannot JIT (a driver
// older than the compiler) is caught as well as a missing architecture.
#pragma once
#include <cuda_runtime_api.h>

namespace germ::kernels {

// cudaSuccess when `device` can run this binary's kernels; otherwise the
// runtime's answer (cudaErrorNoKernelImageForDevice, cudaErrorInvalidDeviceFunction,
// cudaErrorUnsupportedPtxVersion, or whatever setting the device up gave). The
// calling thread's current device is restored. The error is left for the
// caller to clear with cudaGetLastError().
cudaError_t probe_kernel_image(int device);

}  // namespace germ::kernels
