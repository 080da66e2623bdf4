// The CPU backend: host storages, a worker thread as its "stream", and the
// multithreaded kernels of cpp/cpu/.
#pragma once
#include "../core/backend.h"
#include "host_allocator.h"

namespace germ {

class CpuBackend final : public Backend {
 public:
  CpuBackend();
  Device device() const override { return Device::cpu(); }
  StoragePtr allocate(size_t nbytes) override { return allocator_.allocate(Device::cpu(), nbytes); }
  MemoryStats memory_stats() override { return allocator_.stats(); }
  StoragePtr upload_buffer(size_t nbytes) override { return allocate(nbytes); }

  void unary(kernels::UnaryOp op, kernels::KDType in_dt, kernels::KDType out_dt, const void* x, void* y,
             const kernels::StridedIndex& idx, int64_t n, float alpha, float beta) override;
  void binary(kernels::BinaryOp op, kernels::KDType dt, const void* a, const void* b, void* y,
              const kernels::StridedIndex& idx, int64_t n) override;
  void reduce(kernels::ReduceOp op, kernels::KDType dt, const void* x, void* y, int64_t outer, int64_t len,
              int64_t inner) override;
  void gemm(const kernels::GemmArgs& args) override;
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

 private:
  HostAllocator allocator_;
};

}  // namespace germ
