#include "cpu_backend.h"
#include <cstring>
#include "../cpu/attention.h"
#include "../cpu/ops.h"

namespace germ {

CpuBackend::CpuBackend() { executor_ = std::make_unique<Executor>("germ-cpu"); }

void CpuBackend::unary(kernels::UnaryOp op, kernels::KDType in_dt, kernels::KDType out_dt, const void* x, void* y,
                       const kernels::StridedIndex& idx, int64_t n, float alpha, float beta) {
  cpu::unary(op, in_dt, out_dt, x, y, idx, n, alpha, beta);
}

void CpuBackend::binary(kernels::BinaryOp op, kernels::KDType dt, const void* a, const void* b, void* y,
                        const kernels::StridedIndex& idx, int64_t n) {
  cpu::binary(op, dt, a, b, y, idx, n);
}

void CpuBackend::reduce(kernels::ReduceOp op, kernels::KDType dt, const void* x, void* y, int64_t outer, int64_t len,
                        int64_t inner) {
  cpu::reduce(op, dt, x, y, outer, len, inner);
}

void CpuBackend::gemm(const kernels::GemmArgs& args) { cpu::gemm(args); }

void CpuBackend::layernorm_forward(kernels::KDType dt, void* out, float* mean, float* rstd, const void* x,
                                   const void* residual, const void* weight, const void* bias, int64_t rows,
                                   int64_t cols, float eps) {
  cpu::layernorm_forward(dt, out, mean, rstd, x, residual, weight, bias, rows, cols, eps);
}

void CpuBackend::layernorm_backward(kernels::KDType dt, void* dx, float* dweight, float* dbias, const void* dout,
                                    const void* x, const void* weight, const float* mean, const float* rstd,
                                    int64_t rows, int64_t cols) {
  cpu::layernorm_backward(dt, dx, dweight, dbias, dout, x, weight, mean, rstd, rows, cols);
}

int64_t CpuBackend::embedding(kernels::KDType dt, void* out, const void* table, const int32_t* ids, int64_t n,
                              int64_t vocab, int64_t hidden, bool check) {
  return cpu::embedding(dt, out, table, ids, n, vocab, hidden, check);
}

void CpuBackend::geglu(kernels::KDType dt, void* out, const void* x, int64_t ldx, const void* bias, int64_t rows,
                       int64_t inner) {
  cpu::geglu(dt, out, x, ldx, bias, rows, inner);
}

void CpuBackend::attention_forward(const kernels::AttentionParams& p) { cpu::attention_forward(p); }
void CpuBackend::attention_backward(const kernels::AttentionGradParams& g) { cpu::attention_backward(g); }
void CpuBackend::fill_zero(void* dst, size_t nbytes) { std::memset(dst, 0, nbytes); }

// --- outlier statistics
void CpuBackend::outlier_stats(kernels::KDType dt, const void* x, int64_t rows, int64_t cols,
                               const kernels::StatsState* prev, kernels::StatsState* state, float* row_kurt,
                               float* row_absmax, float* col_absmax) {
  cpu::outlier_stats(dt, x, rows, cols, prev, state, row_kurt, row_absmax, col_absmax);
}
// quantization
void CpuBackend::quantize(const kernels::QuantArgs& a) { cpu::quantize(a); }
void CpuBackend::dequantize(const kernels::DequantArgs& a) { cpu::dequantize(a); }
void CpuBackend::nf4_quantize(const kernels::Nf4Args& a) { cpu::nf4_quantize(a); }
void CpuBackend::nf4_dequantize(const kernels::Nf4Args& a) { cpu::nf4_dequantize(a); }
// quantized GEMMs
void CpuBackend::quantize_tokens(const kernels::TokenQuantArgs& a) { cpu::quantize_tokens(a); }
void CpuBackend::qgemm_int(const kernels::IntGemmArgs& a) { cpu::qgemm_int(a); }
void CpuBackend::qgemm_w4(const kernels::W4Args& a) { cpu::qgemm_w4(a); }
void CpuBackend::lora_merge(const kernels::LoraMergeArgs& a) { cpu::lora_merge(a); }

void CpuBackend::copy_from_host(void* dst, const void* src, size_t nbytes) { std::memcpy(dst, src, nbytes); }
void CpuBackend::copy_to_host(void* dst, const void* src, size_t nbytes) { std::memcpy(dst, src, nbytes); }

}  // namespace germ
