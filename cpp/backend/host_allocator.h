// 64-byte aligned host memory with usage counters, for CPU storages.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include "../core/backend.h"

namespace germ {

class HostAllocator {
 public:
  StoragePtr allocate(Device device, size_t nbytes);  // throws ERR_OUT_OF_MEMORY
  MemoryStats stats() const;

 private:
  std::atomic<int64_t> allocated_{0}, peak_{0}, calls_{0};
};

}  // namespace germ
