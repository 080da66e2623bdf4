// Host launchers for elementwise maps (cuda/elementwise/*.cu).
// All launchers enqueue on `stream`, never synchronise, and return the launch
// error (cudaSuccess when the kernel was queued).
#pragma once
#include <cuda_runtime_api.h>
#include "../common/kernel_types.h"

namespace germ::kernels {

// y[i] = op(x[at(i)]) for i < n, y contiguous of dtype out_dt.
// Identity accepts every dtype pair (float<->int casts round to nearest and
// saturate); the math ops need float in_dt and out_dt.
cudaError_t unary(UnaryOp op, KDType in_dt, KDType out_dt, const void* x, void* y,
                  const StridedIndex& idx, int64_t n, float alpha, float beta,
                  cudaStream_t stream);

// y[i] = op(a[at_a(i)], b[at_b(i)]) for i < n; a, b and y share float dtype dt.
cudaError_t binary(BinaryOp op, KDType dt, const void* a, const void* b, void* y,
                   const StridedIndex& idx, int64_t n, cudaStream_t stream);

}  // namespace germ::kernels
