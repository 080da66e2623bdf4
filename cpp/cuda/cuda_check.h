// Turns a CUDA runtime status into a GermError naming the call and the CUDA
// error (cudaErrorMemoryAllocation becomes ERR_OUT_OF_MEMORY).
#pragma once
#include <cuda_runtime_api.h>
#include <string>
#include "../core/error.h"

namespace germ {

[[noreturn]] inline void throw_cuda(cudaError_t status, const char* what) {
  cudaGetLastError();  // clear a non-sticky error so the device stays usable
  const ErrorCode code = status == cudaErrorMemoryAllocation ? ErrorCode::OutOfMemory : ErrorCode::Cuda;
  throw GermError(code, std::string(what) + " failed: " + cudaGetErrorName(status) + " (" +
                            cudaGetErrorString(status) + ")");
}

inline void cuda_check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw_cuda(status, what);
}

}  // namespace germ
