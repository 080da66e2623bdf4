// Host launchers for LayerNorm forward and backward (cuda/norm/*.cu).
// x, out, dout, dx: contiguous [rows, cols] of float dtype dt; weight, bias:
// [cols] of dtype dt; mean, rstd: [rows] f32, written by the forward for the
// backward to reuse (llm.c style: the backward recomputes nothing else).
#pragma once
#include <cuda_runtime_api.h>
#include "../common/kernel_types.h"

namespace germ::kernels {

cudaError_t layernorm_forward(KDType dt, void* out, float* mean, float* rstd,
                              const void* x, const void* weight, const void* bias,
                              int64_t rows, int64_t cols, float eps, cudaStream_t stream);

// Writes dx (dt) and the parameter gradients dweight, dbias as f32 [cols]
// (overwritten, not accumulated). `scratch` must hold
// layernorm_backward_scratch_floats(rows, cols) floats for per-block partials.
cudaError_t layernorm_backward(KDType dt, void* dx, float* dweight, float* dbias,
                               const void* dout, const void* x, const void* weight,
                               const float* mean, const float* rstd, int64_t rows,
                               int64_t cols, float* scratch, cudaStream_t stream);

int64_t layernorm_backward_scratch_floats(int64_t rows, int64_t cols);

}  // namespace germ::kernels
