// The CUDA status (cuda_status.h): asked of the runtime once, then classified
// into one status and a sentence a user can act on.
#include "cuda_status.h"
#include <cstdlib>
#ifdef GERM_WITH_CUDA
#include <cuda_runtime_api.h>
#include "../../cuda/probe/probe.h"
#endif

#ifndef GERM_CUDA_ARCHS
#define GERM_CUDA_ARCHS ""
#endif

namespace germ {

const char* gpu_status_name(GpuStatus status) {
  switch (status) {
    case GpuStatus::Ok: return "ok";
    case GpuStatus::NoCudaBuild: return "no-cuda-build";
    case GpuStatus::NoDriver: return "no-driver";
    case GpuStatus::DriverTooOld: return "driver-too-old";
    case GpuStatus::NoDevice: return "no-device";
    case GpuStatus::UnsupportedGpu: return "unsupported-gpu";
  }
  return "unknown";
}

std::string cuda_version_string(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

std::string CudaStatus::why_not(int ordinal) const {
  if (status != GpuStatus::Ok) return reason;
  if (ordinal < 0 || ordinal >= device_count)
    return std::to_string(device_count) + " CUDA device(s) visible (cuda:0 to cuda:" +
           std::to_string(device_count - 1) + ")";
  const CudaDeviceStatus& d = devices[static_cast<size_t>(ordinal)];
  return d.usable ? std::string() : d.reason;
}

namespace {

#ifdef GERM_WITH_CUDA
// CUDA minor-version compatibility: a runtime X.y runs on any driver for X.0
// or newer; these are the oldest Linux drivers for each X.0.
const char* oldest_driver_for(int runtime_major) {
  switch (runtime_major) {
    case 11: return "450.80.02";
    case 12: return "525.60.13";
    case 13: return "580";
  }
  return nullptr;
}

std::string driver_too_old_reason(int driver, int runtime) {
  const int major = runtime / 1000;
  std::string wanted = "a driver for CUDA " + std::to_string(major) + ".0 or newer";
  if (const char* oldest = oldest_driver_for(major)) wanted += ", version " + std::string(oldest) + " or later";
  return "the NVIDIA driver supports CUDA up to " + cuda_version_string(driver) + ", older than this binary's CUDA " +
         cuda_version_string(runtime) + " runtime accepts (" + wanted + ")";
}

// The driver listed no GPU: CUDA_VISIBLE_DEVICES is the usual culprit when set.
std::string no_device_reason(std::string why) {
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES"))
    why += "; CUDA_VISIBLE_DEVICES is set to '" + std::string(visible) + "', which hides every GPU it does not name";
  return why;
}

std::string error_text(cudaError_t e) {
  return std::string(cudaGetErrorString(e)) + " (" + cudaGetErrorName(e) + ")";
}

// "cuda:1 (Tesla V100, sm_70)"
std::string device_label(const DeviceInfo& d) {
  return d.device + " (" + d.name + ", sm_" + std::to_string(d.cc_major) + std::to_string(d.cc_minor) + ")";
}

// Why this binary's kernels do not run on a device, from the probe's error.
std::string probe_failure(const CudaStatus& s, const DeviceInfo& d, cudaError_t e) {
  if (e == cudaErrorNoKernelImageForDevice || e == cudaErrorInvalidDeviceFunction)
    return device_label(d) + " is not in this binary's architectures (" + s.architectures + ")";
  if (e == cudaErrorUnsupportedPtxVersion)
    return device_label(d) + " has only this binary's PTX to run, which the driver (CUDA " +
           cuda_version_string(s.driver_version) + ") is too old to compile (it came from CUDA " +
           cuda_version_string(s.runtime_version) + "): update the NVIDIA driver";
  return device_label(d) + " cannot run this binary's kernels: " + error_text(e);
}

CudaDeviceStatus probe_device(const CudaStatus& s, int ordinal) {
  CudaDeviceStatus out;
  DeviceInfo& d = out.info;
  d.device = "cuda:" + std::to_string(ordinal);
  cudaDeviceProp prop{};
  if (const cudaError_t e = cudaGetDeviceProperties(&prop, ordinal); e != cudaSuccess) {
    cudaGetLastError();
    out.reason = d.device + ": its properties cannot be read: " + error_text(e);
    return out;
  }
  d.name = prop.name;
  d.cc_major = prop.major;
  d.cc_minor = prop.minor;
  d.total_memory = static_cast<int64_t>(prop.totalGlobalMem);
  d.multiprocessors = prop.multiProcessorCount;
  const cudaError_t e = kernels::probe_kernel_image(ordinal);
  if (e != cudaSuccess) {
    cudaGetLastError();
    out.reason = probe_failure(s, d, e);
    return out;
  }
  out.usable = true;
  return out;
}

// One usable device is enough for ok; the others keep their reasons.
void classify_devices(CudaStatus& s) {
  bool any_usable = false;
  std::string reasons;
  for (int i = 0; i < s.device_count; ++i) {
    s.devices.push_back(probe_device(s, i));
    if (s.devices.back().usable) any_usable = true;
    else reasons += (reasons.empty() ? "" : "; ") + s.devices.back().reason;
  }
  s.status = any_usable ? GpuStatus::Ok : GpuStatus::UnsupportedGpu;
  if (!any_usable) s.reason = "no GPU here can run this binary: " + reasons;
}

CudaStatus compute() {
  CudaStatus s;
  s.runtime_version = CUDART_VERSION;
  s.architectures = GERM_CUDA_ARCHS;
  // Without libcuda.so.1 this reports success with 0, or fails: 0 either way.
  if (cudaDriverGetVersion(&s.driver_version) != cudaSuccess) {
    cudaGetLastError();
    s.driver_version = 0;
  }
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    count = 0;
  }
  s.device_count = count;
  // No driver version means no working driver, whatever the count said: a
  // missing libcuda.so.1 (cudaErrorInsufficientDriver) or, say, the toolkit's
  // stub library found in its place.
  if (e != cudaSuccess && s.driver_version == 0) {
    s.status = GpuStatus::NoDriver;
    s.reason = e == cudaErrorInsufficientDriver ? "no NVIDIA driver was found (libcuda.so.1 did not load)"
                                                : "no working NVIDIA driver was found: " + error_text(e);
  } else if (e == cudaErrorInsufficientDriver) {
    s.status = GpuStatus::DriverTooOld;
    s.reason = driver_too_old_reason(s.driver_version, s.runtime_version);
  } else if (e == cudaErrorNoDevice || (e == cudaSuccess && count == 0)) {
    s.status = GpuStatus::NoDevice;
    s.reason = no_device_reason("the NVIDIA driver (CUDA " + cuda_version_string(s.driver_version) + ") sees no GPU");
  } else if (e != cudaSuccess) {
    s.status = GpuStatus::NoDevice;
    s.reason = no_device_reason("CUDA could not list the GPUs: " + error_text(e));
  } else {
    classify_devices(s);
  }
  return s;
}
#else
CudaStatus compute() {
  CudaStatus s;
  s.status = GpuStatus::NoCudaBuild;
  s.reason = "this germ binary was built without CUDA (the CPU backend alone)";
  return s;
}
#endif

}  // namespace

const CudaStatus& cuda_status() {
  static const CudaStatus status = compute();
  return status;
}

}  // namespace germ
