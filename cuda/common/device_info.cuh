// Facts about the current device that launchers need, read once per device
// and cached (the launchers run per op). Thread-safe: two threads racing on
// the first fill write identical values.
#pragma once
#include <cuda_runtime_api.h>

namespace germ::kernels {

struct DeviceInfo {
  int sm_count = 0;
  int cc = 0;              // compute capability as 10 * major + minor
  int max_smem_optin = 0;  // bytes of shared memory a block may opt in to
  // PTX arch of this binary's kernel image the driver loaded for the device
  // (every kernel file builds for the same architecture list, so one probe
  // kernel answers for all): 75 when compute_75 PTX was JIT-compiled for a
  // newer GPU, so the Turing code paths run.
  int code_arch = 0;
};

// The current device's facts (cudaGetDevice).
cudaError_t device_info(DeviceInfo* out);

}  // namespace germ::kernels
