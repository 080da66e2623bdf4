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
    for (auto it = range.first; it != range.second; ++it) {
      if (cudaEventQuery(it->second.released) == cudaSuccess) {  // its last DMA is done
        block = it->second;
        free_.erase(it);
        break;
      }
    }
  }
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
