// The CPU backend's kernels: the same op codes and layouts as the CUDA
// launchers in cuda/*/ (see cuda/common/kernel_types.h), without a stream.
// Each runs to completion on the intra-op pool before returning. These are the
// reference the CUDA results are tested against, so they accumulate in f32 or
// better and round once into the output, exactly like the GPU kernels.
#pragma once
#include <cstdint>
#include "../../cuda/common/kernel_types.h"

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

void layernorm_forward(KDType dt, void* out, float* mean, float* rstd, const void* x,
                       const void* weight, const void* bias, int64_t rows, int64_t cols,
                       float eps);

// dweight, dbias: f32 [cols], overwritten.
void layernorm_backward(KDType dt, void* dx, float* dweight, float* dbias, const void* dout,
                        const void* x, const void* weight, const float* mean,
                        const float* rstd, int64_t rows, int64_t cols);

}  // namespace germ::cpu
