#include "pinned_pool.h"
#include "caching_allocator.h"
#include "cuda_check.h"

namespace germ {

StoragePtr PinnedPool::allocate(size_t nbytes) {
  const size_t bin = CachingAllocator::bin_size(nbytes);
  Block block{nullptr, nullptr};
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto range = free_.equal_range(bin);
    auto pick = range.second;
    for (auto it = range.first; it != range.second; ++it) {
      pick = it;
      if (cudaEventQuery(it->second.released) == cudaSuccess) break;  // its last DMA is done
    }
    if (pick != range.second) {
      block = pick->second;
      free_.erase(pick);
    }
  }
  // A block whose DMA is still running is worth waiting for: the wait is at
  // most one copy at link speed, while pinning fresh memory costs far more
  // (and would grow the pool on every call that outruns the GPU).
  if (block.ptr) cuda_check(cudaEventSynchronize(block.released), "cudaEventSynchronize (upload buffer)");
  if (!block.ptr) {
    cuda_check(cudaSetDevice(device_), "cudaSetDevice");
    cuda_check(cudaHostAlloc(&block.ptr, bin, cudaHostAllocDefault), "cudaHostAlloc (upload buffer)");
    cuda_check(cudaEventCreateWithFlags(&block.released, cudaEventDisableTiming), "cudaEventCreate");
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
