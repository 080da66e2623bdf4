#include "host_allocator.h"
#include <cstdlib>
#include <string>

namespace germ {

StoragePtr HostAllocator::allocate(Device device, size_t nbytes) {
  // aligned_alloc wants a multiple of the alignment; 64 bytes is a cache line
  // and the widest vector load any CPU kernel does.
  const size_t rounded = ((nbytes ? nbytes : 1) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p)
    throw GermError(ErrorCode::OutOfMemory, "cpu: out of memory allocating " + std::to_string(nbytes) + " bytes");
  ++calls_;
  const int64_t now = allocated_ += static_cast<int64_t>(rounded);
  for (int64_t peak = peak_.load(); now > peak && !peak_.compare_exchange_weak(peak, now);) {
  }
  return std::make_shared<Storage>(device, p, nbytes, [this, rounded](void* q, size_t) {
    std::free(q);
    allocated_ -= static_cast<int64_t>(rounded);
  });
}

MemoryStats HostAllocator::stats() const {
  MemoryStats s;
  s.allocated_bytes = s.reserved_bytes = allocated_.load();
  s.peak_allocated_bytes = peak_.load();
  s.alloc_calls = s.device_alloc_calls = calls_.load();
  return s;
}

}  // namespace germ
