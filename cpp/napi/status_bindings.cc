// What hardware is here and why a GPU is or is not used (types: buildInfo,
// devices and cudaDeviceReport in types/native.d.ts). Nothing here probes:
// cpp/backend/cuda_status.cc has asked the runtime once.
#include "../backend/cuda_status.h"
#include "../cpu/gemm_microkernel.h"
#include "bindings.h"

namespace germ::napi {

namespace {

using Info = const Napi::CallbackInfo&;

Napi::Object device_object(Napi::Env env, const DeviceInfo& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("device", d.device);
  o.Set("name", d.name);
  Napi::Array cc = Napi::Array::New(env, 2);
  cc.Set(0u, d.cc_major);
  cc.Set(1u, d.cc_minor);
  o.Set("computeCapability", cc);
  o.Set("totalMemory", static_cast<double>(d.total_memory));
  o.Set("multiprocessors", d.multiprocessors);
  return o;
}

// "12.4", or null for the 0 that means "none".
Napi::Value version_or_null(Napi::Env env, int version) {
  return version > 0 ? Napi::Value(Napi::String::New(env, cuda_version_string(version))) : env.Null();
}

Napi::Value text_or_null(Napi::Env env, const std::string& s) {
  return s.empty() ? env.Null() : Napi::Value(Napi::String::New(env, s));
}

// The CPU, then each usable CUDA device.
Napi::Value devices(Info info) {
  Napi::Env env = info.Env();
  const auto list = list_devices();
  Napi::Array out = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); ++i) out.Set(static_cast<uint32_t>(i), device_object(env, list[i]));
  return out;
}

// Every driver-visible CUDA device, usable or not, with the reason when not.
Napi::Value cuda_device_report(Info info) {
  Napi::Env env = info.Env();
  const auto& list = cuda_status().devices;
  Napi::Array out = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    Napi::Object o = device_object(env, list[i].info);
    o.Set("usable", list[i].usable);
    o.Set("reason", text_or_null(env, list[i].reason));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value build_info(Info info) {
  Napi::Env env = info.Env();
  const CudaStatus& s = cuda_status();
  Napi::Object o = Napi::Object::New(env);
  o.Set("cuda", built_with_cuda());
  o.Set("cudaArchitectures", s.architectures);
  o.Set("cudaDeviceCount", s.device_count);
  o.Set("cudaRuntimeVersion", version_or_null(env, s.runtime_version));
  o.Set("driverCudaVersion", version_or_null(env, s.driver_version));
  o.Set("gpuStatus", gpu_status_name(s.status));
  o.Set("gpuReason", text_or_null(env, s.reason));
  o.Set("cpuIsa", cpu::gemm_microkernel_name());
  return o;
}

}  // namespace

void register_status_bindings(Napi::Env env, Napi::Object exports) {
  exports.Set("devices", Napi::Function::New(env, devices, "devices"));
  exports.Set("cudaDeviceReport", Napi::Function::New(env, cuda_device_report, "cudaDeviceReport"));
  exports.Set("buildInfo", Napi::Function::New(env, build_info, "buildInfo"));
}

}  // namespace germ::napi
