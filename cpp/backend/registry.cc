// Which backends exist and how they are found. Backends live for the whole
// process (never destroyed): their executor threads and CUDA streams must
// outlive every tensor, and tearing CUDA down during static destruction is a
// classic source of crashes at exit.
#include <mutex>
#include <thread>
#include "../core/backend.h"
#include "cpu_backend.h"
#ifdef GERM_WITH_CUDA
#include <cuda_runtime_api.h>
#include "../cuda/cuda_backend.h"
#endif

namespace germ {

namespace {
std::mutex g_mu;
std::vector<Backend*> g_backends;  // index 0: cpu; then cuda:N at 1 + N (null until used)

Backend*& slot(size_t i) {
  if (g_backends.size() <= i) g_backends.resize(i + 1, nullptr);
  return g_backends[i];
}
}  // namespace

bool built_with_cuda() {
#ifdef GERM_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef GERM_WITH_CUDA
  // The runtime is linked statically and loads libcuda.so lazily: without a
  // driver this returns an error, which means no device, never a crash.
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();
      n = 0;
    }
    return n;
  }();
  return count;
#else
  return 0;
#endif
}

Backend& backend_for(Device device) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!device.is_cuda()) {
    Backend*& b = slot(0);
    if (!b) b = new CpuBackend();
    return *b;
  }
  const int count = cuda_device_count();
  if (device.index < 0 || device.index >= count) {
    std::string why = !built_with_cuda()  ? "this build of germ has no CUDA support"
                      : count == 0       ? "no CUDA device is visible (no GPU, no driver, or CUDA_VISIBLE_DEVICES)"
                                          : std::to_string(count) + " CUDA device(s) present";
    throw GermError(ErrorCode::Device, "device " + device.str() + " is not available: " + why);
  }
#ifdef GERM_WITH_CUDA
  Backend*& b = slot(1 + static_cast<size_t>(device.index));
  if (!b) b = new CudaBackend(device.index);
  return *b;
#else
  throw GermError(ErrorCode::Internal, "unreachable");
#endif
}

std::vector<Backend*> live_backends() {
  std::lock_guard<std::mutex> lock(g_mu);
  std::vector<Backend*> out;
  for (Backend* b : g_backends)
    if (b) out.push_back(b);
  return out;
}

std::vector<DeviceInfo> list_devices() {
  std::vector<DeviceInfo> out;
  DeviceInfo cpu;
  cpu.device = "cpu";
  cpu.name = "cpu";
  cpu.multiprocessors = static_cast<int>(std::thread::hardware_concurrency());
  out.push_back(cpu);
#ifdef GERM_WITH_CUDA
  for (int i = 0; i < cuda_device_count(); ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    DeviceInfo d;
    d.device = "cuda:" + std::to_string(i);
    d.name = prop.name;
    d.cc_major = prop.major;
    d.cc_minor = prop.minor;
    d.total_memory = static_cast<int64_t>(prop.totalGlobalMem);
    d.multiprocessors = prop.multiProcessorCount;
    out.push_back(d);
  }
#endif
  return out;
}

}  // namespace germ
