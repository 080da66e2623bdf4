// Which backends exist and how they are found. Backends live for the whole
// process (never destroyed): their executor threads and CUDA streams must
// outlive every tensor, and tearing CUDA down during static destruction is a
// classic source of crashes at exit.
#include <mutex>
#include <thread>
#include "../core/backend.h"
#include "cpu_backend.h"
#include "cuda_status.h"
#ifdef GERM_WITH_CUDA
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

int cuda_device_count() { return cuda_status().device_count; }

Backend& backend_for(Device device) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!device.is_cuda()) {
    Backend*& b = slot(0);
    if (!b) b = new CpuBackend();
    return *b;
  }
  // The status says why: no driver, a driver too old, a GPU not in the binary ...
  if (const std::string why = cuda_status().why_not(device.index); !why.empty())
    throw GermError(ErrorCode::Device, "device " + device.str() + " is not available: " + why);
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
  for (const CudaDeviceStatus& d : cuda_status().devices)
    if (d.usable) out.push_back(d.info);
  return out;
}

}  // namespace germ
