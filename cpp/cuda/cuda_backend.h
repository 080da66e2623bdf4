// The CUDA backend of one device: its stream (owned by the executor thread),
// its caching allocator, pinned staging for host copies, and dispatch into
// the kernel launchers of cuda/.
#pragma once
#include <cuda_runtime_api.h>
#include "../core/backend.h"
#include "caching_allocator.h"
#include "pinned_pool.h"

namespace germ {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int index);
  ~CudaBackend() override;
  Device device() const override { return Device::cuda(index_); }
  StoragePtr allocate(size_t nbytes) override;
  MemoryStats memory_stats() override { return allocator_.stats(); }
  void empty_cache() override { allocator_.empty_cache(); }
  StoragePtr upload_buffer(size_t nbytes) override { return pinned_.allocate(nbytes); }

  GERM_BACKEND_KERNELS(GERM_OVERRIDE_KERNEL)
  GERM_BACKEND_FUSED_KERNELS(GERM_OVERRIDE_FUSED_KERNEL)
  void fill_zero(void* dst, size_t nbytes) override;
  void copy_from_host(void* dst, const void* src, size_t nbytes) override;
  void copy_to_host(void* dst, const void* src, size_t nbytes) override;
  void synchronize() override;

 private:
  // Double-buffered pinned staging: host copies go through page-locked memory
  // in chunks, so the memcpy of one chunk overlaps the DMA of the other and
  // the copy runs at the link's speed rather than pageable-memory speed.
  static constexpr size_t kStagingBytes = size_t(8) << 20;
  void ensure_staging();
  StoragePtr scratch_floats(int64_t count);
  StoragePtr scratch_bytes(size_t count);
  void use_device_here();  // for supports(), asked on the JavaScript thread

  int index_;
  cudaStream_t stream_ = nullptr;
  CachingAllocator allocator_;
  PinnedPool pinned_{index_, &stream_};
  void* staging_[2] = {nullptr, nullptr};
  cudaEvent_t staging_done_[2] = {nullptr, nullptr};
};

}  // namespace germ
