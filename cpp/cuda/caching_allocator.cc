#include "caching_allocator.h"
#include <cuda_runtime_api.h>
#include <string>
#include "cuda_check.h"

namespace germ {

size_t CachingAllocator::bin_size(size_t nbytes) {
  if (nbytes == 0) nbytes = 1;
  constexpr size_t kSmall = size_t(1) << 20;
  if (nbytes <= kSmall) return (nbytes + 511) / 512 * 512;
  size_t pow2 = kSmall;
  while (pow2 * 2 <= nbytes) pow2 *= 2;
  const size_t step = pow2 / 4;
  return (nbytes + step - 1) / step * step;
}

StoragePtr CachingAllocator::allocate(size_t nbytes) {
  const size_t bin = bin_size(nbytes);
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.alloc_calls;
    auto it = free_.find(bin);
    if (it != free_.end()) {
      p = it->second;
      free_.erase(it);
    } else {
      cuda_check(cudaSetDevice(device_), "cudaSetDevice");
      cudaError_t status = cudaMalloc(&p, bin);
      if (status == cudaErrorMemoryAllocation) {
        // Out of memory with blocks parked in the cache: give them back and retry.
        cudaGetLastError();
        free_cached_locked();
        status = cudaMalloc(&p, bin);
      }
      if (status != cudaSuccess) {
        cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        const ErrorCode code = status == cudaErrorMemoryAllocation ? ErrorCode::OutOfMemory : ErrorCode::Cuda;
        throw GermError(code, "cuda:" + std::to_string(device_) + ": cudaMalloc of " + std::to_string(nbytes) +
                                  " bytes failed: " + cudaGetErrorName(status) + " (" + std::to_string(free_b) +
                                  " of " + std::to_string(total_b) + " bytes free; germ holds " +
                                  std::to_string(stats_.allocated_bytes) + ")");
      }
      ++stats_.device_alloc_calls;
      stats_.reserved_bytes += static_cast<int64_t>(bin);
    }
    stats_.allocated_bytes += static_cast<int64_t>(bin);
    if (stats_.allocated_bytes > stats_.peak_allocated_bytes) stats_.peak_allocated_bytes = stats_.allocated_bytes;
  }
  return std::make_shared<Storage>(Device::cuda(device_), p, nbytes,
                                   [this, bin](void* q, size_t) { release(q, bin); });
}

void CachingAllocator::release(void* p, size_t bin) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.allocated_bytes -= static_cast<int64_t>(bin);
  free_.emplace(bin, p);
}

void CachingAllocator::free_cached_locked() {
  if (free_.empty()) return;
  cudaSetDevice(device_);
  for (auto& [bin, p] : free_) {
    cudaFree(p);  // synchronises the device, so queued users of p are done
    stats_.reserved_bytes -= static_cast<int64_t>(bin);
  }
  free_.clear();
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  free_cached_locked();
}

MemoryStats CachingAllocator::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace germ
