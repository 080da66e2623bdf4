#include "pinned_pool.h"
#include "caching_allocator.h"
#include "cuda_check.h"

namespace germ {

StoragePtr PinnedPool::allocate(size_t nbytes) {
  const size_t bin = CachingAllocator::bin_size(nbytes);
  Block block{nullptr, nullptr};
  bool must_wait = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto range = free_.equal_range(bin);
    auto pick = range.second;
    bool done = false;  // pick's last DMA is done
    for (auto it = range.first; it != range.second && !done; ++it) {
      pick = it;
      done = cudaEventQuery(it->second.released) == cudaSuccess;
    }
    // A busy block's event marks everything queued on the stream when it was
    // returned, not just its own copy: waiting for it would hold this (the
    // JavaScript) thread until the GPU catches up, i.e. block the event loop
    // for as long as the device is behind. So a busy block is taken only when
    // the pool already holds kMaxPinnedBytes; below that a fresh one is pinned
    // (the pool then grows to what the uploads in flight need, and stops).
    (void)cudaGetLastError();  // cudaErrorNotReady from the queries is no error
    if (pick != range.second && (done || pinned_bytes_ + bin > kMaxPinnedBytes)) {
      block = pick->second;
      free_.erase(pick);
      must_wait = !done;
    } else {
      pinned_bytes_ += bin;
    }
  }
  if (must_wait) cuda_check(cudaEventSynchronize(block.released), "cudaEventSynchronize (upload buffer)");
  if (!block.ptr) {
    try {
      cuda_check(cudaSetDevice(device_), "cudaSetDevice");
      cuda_check(cudaHostAlloc(&block.ptr, bin, cudaHostAllocDefault), "cudaHostAlloc (upload buffer)");
      cuda_check(cudaEventCreateWithFlags(&block.released, cudaEventDisableTiming), "cudaEventCreate");
    } catch (...) {
      if (block.ptr) cudaFreeHost(block.ptr);
      std::lock_guard<std::mutex> lock(mu_);
      pinned_bytes_ -= bin;
      throw;
    }
  }
  return std::make_shared<Storage>(Device::cpu(), block.ptr, nbytes,
                                   [this, bin, block](void*, size_t) { release(bin, block); });
}

void PinnedPool::release(size_t bin, Block block) {
  // Marks the point after every copy queued so far: the block's last reader.
  cudaEventRecord(block.released, *stream_);
  std::lock_guard<std::mutex> lock(mu_);
  free_.emplace(bin, block);
}

}  // namespace germ
