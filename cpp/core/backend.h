// The backend interface: one instance per device, owning that device's
// executor (its stream), its allocator and its kernels.
//
// Threading: allocate() and memory_stats() are called on a JS thread; every
// other method runs on the backend's executor thread, inside a task.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include "backend_ops.h"
#include "device.h"
#include "error.h"
#include "executor.h"
#include "storage.h"

namespace germ {

struct MemoryStats {
  int64_t allocated_bytes = 0;  // held by live storages
  int64_t reserved_bytes = 0;   // allocated plus cached for reuse
  int64_t peak_allocated_bytes = 0;
  int64_t alloc_calls = 0;      // requests served
  int64_t device_alloc_calls = 0;  // of which went to the system / cudaMalloc
};

struct DeviceInfo {
  std::string device;  // "cpu" or "cuda:N"
  std::string name;
  int cc_major = 0, cc_minor = 0;
  int64_t total_memory = 0;
  int multiprocessors = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  Executor& executor() { return *executor_; }

  // Throws GermError(ERR_OUT_OF_MEMORY) when the memory is not there.
  virtual StoragePtr allocate(size_t nbytes) = 0;
  virtual MemoryStats memory_stats() = 0;
  virtual void empty_cache() {}

  // Kernels (executor thread; the list and its argument structs:
  // backend_ops.h). Pointers are into this device's storages.
#define GERM_PURE_KERNEL(ret, name, Args) virtual ret name(const Args& args) = 0;
  GERM_BACKEND_KERNELS(GERM_PURE_KERNEL)
#undef GERM_PURE_KERNEL
  virtual void fill_zero(void* dst, size_t nbytes) = 0;

  // Fused kernels: supports() is asked on the JavaScript thread, before
  // queuing; only a backend that says yes is ever called.
#define GERM_UNSUPPORTED_KERNEL(ret, name, Args)                                           \
  virtual bool supports(const Args&) { return false; }                                     \
  virtual ret name(const Args&) {                                                          \
    throw GermError(ErrorCode::Internal, #name ": no fused kernel on " + device().str()); \
  }
  GERM_BACKEND_FUSED_KERNELS(GERM_UNSUPPORTED_KERNEL)
#undef GERM_UNSUPPORTED_KERNEL

  // Host memory the device can read fast, for uploads: pinned on CUDA. The
  // caller fills it on its own thread, then queues copy_from_host from it.
  virtual StoragePtr upload_buffer(size_t nbytes) = 0;

  // Copies between host memory and this device (executor thread). Both return
  // only when `host` may be reused or read (a pinned upload_buffer source may
  // still be in flight: it guards its own reuse).
  virtual void copy_from_host(void* device_dst, const void* host_src, size_t nbytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* device_src, size_t nbytes) = 0;
  // Returns when all work queued on the device has finished (executor thread).
  virtual void synchronize() {}

 protected:
  std::unique_ptr<Executor> executor_;
};

// The backend of a device, created on first use. Throws ERR_DEVICE for a
// CUDA device that does not exist or cannot run this binary, saying why
// (cpp/backend/cuda_status.h).
Backend& backend_for(Device device);
// Backends created so far (for draining at shutdown).
std::vector<Backend*> live_backends();

// What hardware is here: the CPU first, then each usable CUDA device.
std::vector<DeviceInfo> list_devices();
int cuda_device_count();     // as the driver reports (usable or not); 0 without a driver, a device or CUDA support
bool built_with_cuda();

}  // namespace germ
