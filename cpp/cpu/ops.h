// The CPU backend's kernels: the same op codes and layouts as the CUDA
// launchers in cuda/*/ (see cuda/common/kernel_types.h), without a stream.
// Each runs to completion on the intra-op pool before returning. These are the
// reference the CUDA results are tested against, so they accumulate in f32 or
// better and round once into the output, exactly like the GPU kernels.
#pragma once
#include <cstdint>
#include "../../contract/kernel_types.h"
#include "../../contract/moments.h"
#include "../../contract/quant_math.h"
#include "../../contract/lora_args.h"
#include "../../contract/qgemm_args.h"

namespace germ::cpu {

using kernels::BinaryOp;
using kernels::KDType;
using kernels::ReduceOp;
using kernels::StridedIndex;
using kernels::UnaryOp;

void unary(UnaryOp op, KDType in_dt, KDType out_dt, const void* x, void* y,
           const StridedIndex& idx, int64_t n, float alpha, float beta);

void binary(BinaryOp op, KDType dt, const void* a, const void* b, void* y,
            const StridedIndex& idx, int64_t n);

void reduce(ReduceOp op, KDType dt, const void* x, void* y, int64_t outer, int64_t len,
            int64_t inner);

// kernels::GemmArgs contract (cuda/common/kernel_types.h). Cache-blocked and
// packed, multithreaded over tiles.
using kernels::GemmArgs;
void gemm(const GemmArgs& args);

// residual: null, or [rows, cols] added to x first (round(x + residual) is
// normalised: addLayerNorm), as in cuda/norm/layernorm.h.
void layernorm_forward(KDType dt, void* out, float* mean, float* rstd, const void* x,
                       const void* residual, const void* weight, const void* bias, int64_t rows,
                       int64_t cols, float eps);

// dweight, dbias: f32 [cols], overwritten.
void layernorm_backward(KDType dt, void* dx, float* dweight, float* dbias, const void* dout,
                        const void* x, const void* weight, const float* mean,
                        const float* rstd, int64_t rows, int64_t cols);

// out[i, :] = table[ids[i], :] for i < n: rows of `hidden` elements of dt
// (any dtype: a byte copy). An id outside [0, vocab) gives a zero row. With
// `check`, returns the position of the first such id, else -1 (and -1
// without looking when !check).
int64_t embedding(KDType dt, void* out, const void* table, const int32_t* ids, int64_t n, int64_t vocab,
                  int64_t hidden, bool check);

// out[r, j] = gelu(x[r, j] + b[j]) * (x[r, inner + j] + b[inner + j]) for
// j < inner: the GEGLU of DNABERT-2's gated MLP. x rows are 2 * inner wide
// with row stride ldx (elements); out is contiguous [rows, inner]; bias
// [2 * inner] or null. Exact (erf) GELU, f32 math, one rounding into dt.
void geglu(KDType dt, void* out, const void* x, int64_t ldx, const void* bias, int64_t rows, int64_t inner);

// --- outlier statistics (stats.cc; contract: cuda/stats/stats.h): x
// contiguous [rows, cols] float, rows, cols >= 1. Writes each row's token
// kurtosis and max |x|, each column's max |x|, and *state = prev (or empty)
// merged with the moments of x. f64 accumulation.
void outlier_stats(KDType dt, const void* x, int64_t rows, int64_t cols, const kernels::StatsState* prev,
                   kernels::StatsState* state, float* row_kurt, float* row_absmax, float* col_absmax);
// --- quantization (quant.cc, quant_nf4.cc): the layouts and arithmetic of
// cuda/quant/quant_math.h, the same codes as the CUDA kernels bit for bit.
void quantize(const kernels::QuantArgs& args);
void dequantize(const kernels::DequantArgs& args);
void nf4_quantize(const kernels::Nf4Args& args);
void nf4_dequantize(const kernels::Nf4Args& args);
// --- quantized GEMMs (qgemm.cc, qgemm_w4.cc; contract: cuda/qgemm/qgemm_args.h)
void quantize_tokens(const kernels::TokenQuantArgs& args);
void qgemm_int(const kernels::IntGemmArgs& args);  // exact int32 dot products
void qgemm_w4(const kernels::W4Args& args);
// --- LoRA (lora_merge.cc; contract: cuda/lora/lora_args.h)
void lora_merge(const kernels::LoraMergeArgs& args);

}  // namespace germ::cpu
