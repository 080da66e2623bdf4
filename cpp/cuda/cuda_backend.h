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

  void unary(kernels::UnaryOp op, kernels::KDType in_dt, kernels::KDType out_dt, const void* x, void* y,
             const kernels::StridedIndex& idx, int64_t n, float alpha, float beta) override;
  void binary(kernels::BinaryOp op, kernels::KDType dt, const void* a, const void* b, void* y,
              const kernels::StridedIndex& idx, int64_t n) override;
  void reduce(kernels::ReduceOp op, kernels::KDType dt, const void* x, void* y, int64_t outer, int64_t len,
              int64_t inner) override;
  void gemm(const kernels::GemmArgs& args) override;
  bool gemm_geglu_fusable(const kernels::GemmArgs& args) override;
  void gemm_geglu(const kernels::GemmArgs& args) override;
  bool gemm_lora_fusable(const kernels::LoraGemmArgs& args) override;
  void gemm_lora(const kernels::LoraGemmArgs& args) override;
  void layernorm_forward(kernels::KDType dt, void* out, float* mean, float* rstd, const void* x, const void* residual,
                         const void* weight, const void* bias, int64_t rows, int64_t cols, float eps) override;
  void layernorm_backward(kernels::KDType dt, void* dx, float* dweight, float* dbias, const void* dout, const void* x,
                          const void* weight, const float* mean, const float* rstd, int64_t rows,
                          int64_t cols) override;
  int64_t embedding(kernels::KDType dt, void* out, const void* table, const int32_t* ids, int64_t n, int64_t vocab,
                    int64_t hidden, bool check) override;
  void geglu(kernels::KDType dt, void* out, const void* x, int64_t ldx, const void* bias, int64_t rows,
             int64_t inner) override;
  void attention_forward(const kernels::AttentionParams& p) override;
  void attention_backward(const kernels::AttentionGradParams& g) override;
  void fill_zero(void* dst, size_t nbytes) override;
  // outlier statistics (stats)
  void outlier_stats(kernels::KDType dt, const void* x, int64_t rows, int64_t cols, const kernels::StatsState* prev,
                     kernels::StatsState* state, float* row_kurt, float* row_absmax, float* col_absmax) override;
  // quantization (cuda/quant/quant_math.h)
  void quantize(const kernels::QuantArgs& a) override;
  void dequantize(const kernels::DequantArgs& a) override;
  void nf4_quantize(const kernels::Nf4Args& a) override;
  void nf4_dequantize(const kernels::Nf4Args& a) override;
  // quantized GEMMs (cuda/qgemm/qgemm_args.h)
  void quantize_tokens(const kernels::TokenQuantArgs& a) override;
  void qgemm_int(const kernels::IntGemmArgs& a) override;
  void qgemm_w4(const kernels::W4Args& a) override;
  void lora_merge(const kernels::LoraMergeArgs& a) override;
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

  int index_;
  cudaStream_t stream_ = nullptr;
  CachingAllocator allocator_;
  PinnedPool pinned_{index_, &stream_};
  void* staging_[2] = {nullptr, nullptr};
  cudaEvent_t staging_done_[2] = {nullptr, nullptr};
};

}  // namespace germ
