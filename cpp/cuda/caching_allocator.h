// A caching device allocator: training and inference loops free and request
// the same sizes step after step, so freed blocks are kept in size-class bins
// and handed out again instead of calling cudaMalloc / cudaFree (which
// synchronise the device) each time.
//
// Safety: every kernel on a device runs on that device's one stream, and a
// block is returned to the bin only when the last task using it has been
// enqueued, so a later user of the same block is ordered after it on the
// stream (the stream-ordered reuse argument of PyTorch's allocator).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>
#include "../core/backend.h"

namespace germ {

class CachingAllocator {
 public:
  explicit CachingAllocator(int device_index) : device_(device_index) {}
  ~CachingAllocator() = default;  // process-lifetime: cached blocks are left to the driver at exit

  StoragePtr allocate(size_t nbytes);  // throws ERR_OUT_OF_MEMORY with the sizes involved
  MemoryStats stats();
  void empty_cache();  // cudaFree every cached block

  // Rounds a request to its bin: multiples of 512 B below 1 MiB, then four
  // classes per power of two (at most 25% slack).
  static size_t bin_size(size_t nbytes);

 private:
  void release(void* p, size_t bin);
  void free_cached_locked();

  int device_;
  std::mutex mu_;
  std::multimap<size_t, void*> free_;  // bin size -> cached block
  MemoryStats stats_;
};

}  // namespace germ
