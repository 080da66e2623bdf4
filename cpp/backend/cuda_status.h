// Why the GPU is or is not used: the CUDA runtime this binary was built with,
// the driver's CUDA version, and per driver-visible device whether this
// binary's kernels run on it. Computed once per process, on first use, and
// never by crashing: the statically linked runtime loads libcuda.so.1 lazily,
// so on a machine without a driver every CUDA call simply fails.
#pragma once
#include <string>
#include <vector>
#include "../core/backend.h"

namespace germ {

enum class GpuStatus {
  Ok,              // at least one device runs this binary's kernels
  NoCudaBuild,     // this binary has no CUDA backend
  NoDriver,        // libcuda.so.1 does not load
  DriverTooOld,    // the driver's CUDA is older than the runtime accepts
  NoDevice,        // the driver sees no GPU (or listing them failed)
  UnsupportedGpu,  // GPUs exist, none of them can run this binary
};

// "ok", "no-cuda-build", "no-driver", "driver-too-old", "no-device", "unsupported-gpu".
const char* gpu_status_name(GpuStatus status);

struct CudaDeviceStatus {
  DeviceInfo info;     // device "cuda:N", name, compute capability, ...
  bool usable = false;
  std::string reason;  // why it is not usable; empty when it is
};

struct CudaStatus {
  int runtime_version = 0;    // CUDART_VERSION built with (12040 = 12.4); 0 without CUDA
  int driver_version = 0;     // newest CUDA the driver supports (13000 = 13.0); 0 without a driver
  int device_count = 0;       // as the driver reports, usable or not
  std::string architectures;  // the compiled list, e.g. "75-real,80-real,90"; "" without CUDA
  std::vector<CudaDeviceStatus> devices;  // one per driver-visible ordinal
  GpuStatus status = GpuStatus::NoCudaBuild;
  std::string reason;  // a sentence saying why no GPU is used; empty when ok

  // Empty when cuda:ordinal can be used; otherwise why not.
  std::string why_not(int ordinal) const;
};

// The process's status, computed on the first call (thread-safe).
const CudaStatus& cuda_status();

// "12.4" for 12040: the form CUDA versions take in messages.
std::string cuda_version_string(int version);

}  // namespace germ
