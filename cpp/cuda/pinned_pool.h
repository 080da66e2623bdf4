// Page-locked host blocks for uploads, cached like device blocks.
//
// An upload copies the caller's data into a pinned block (on the calling
// thread, multithreaded) and the device's stream DMAs it from there at the
// link's full speed. A returned block records an event on the stream, and is
// handed out again once that event has completed, i.e. once the DMA that read
// it is done; until then a fresh block is pinned instead (up to a cap), so an
// upload never makes the calling JavaScript thread wait for the GPU. Fresh
// pageable buffers instead cost a page fault per 4 KiB (slow in VMs) and a
// second, staged copy.
#pragma once
#include <cuda_runtime_api.h>
#include <cstddef>
#include <map>
#include <mutex>
#include "../core/storage.h"

namespace germ {

class PinnedPool {
 public:
  PinnedPool(int device_index, cudaStream_t* stream) : device_(device_index), stream_(stream) {}
  // A CPU-side storage of at least nbytes of pinned memory (throws ERR_OUT_OF_MEMORY).
  StoragePtr allocate(size_t nbytes);

 private:
  struct Block {
    void* ptr;
    cudaEvent_t released;
  };
  void release(size_t bin, Block block);

  // Pinned memory the pool may hold before an upload waits for a busy block
  // rather than pinning more (pinned memory is locked out of the OS's reach).
  static constexpr size_t kMaxPinnedBytes = size_t(512) << 20;

  int device_;
  cudaStream_t* stream_;
  std::mutex mu_;
  std::multimap<size_t, Block> free_;
  size_t pinned_bytes_ = 0;  // blocks pinned so far, free or in use
};

}  // namespace germ
