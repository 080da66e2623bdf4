// The CPU backend: host storages, a worker thread as its "stream", and the
// multithreaded kernels of cpp/cpu/.
#pragma once
#include "../core/backend.h"
#include "host_allocator.h"

namespace germ {

class CpuBackend final : public Backend {
 public:
  CpuBackend();
  Device device() const override { return Device::cpu(); }
  StoragePtr allocate(size_t nbytes) override { return allocator_.allocate(Device::cpu(), nbytes); }
  MemoryStats memory_stats() override { return allocator_.stats(); }
  StoragePtr upload_buffer(size_t nbytes) override { return allocate(nbytes); }

  GERM_BACKEND_KERNELS(GERM_OVERRIDE_KERNEL)
  void fill_zero(void* dst, size_t nbytes) override;
  void copy_from_host(void* dst, const void* src, size_t nbytes) override;
  void copy_to_host(void* dst, const void* src, size_t nbytes) override;

 private:
  HostAllocator allocator_;
};

}  // namespace germ
