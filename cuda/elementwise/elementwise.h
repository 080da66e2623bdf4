// Host launchers for elementwise maps (cuda/elementwise/*.cu).
// All launchers enqueue on `stream`, never synchronise, and return the launch
// error (cudaSuccess when the kernel was queued).
#pragma once
#include <cuda_runtime_api.h>
#include "../../contract/elementwise_args.h"

namespace germ::kernels {

// y[i] = op(x[at(i)]) for i < n, y contiguous of dtype out_dt.
// Identity accepts every dtype pair (float<->int casts round to nearest and
// saturate); the math ops need float in_dt and out_dt.
cudaError_t unary(const UnaryArgs& args, cudaStream_t stream);

// y[i] = op(a[at_a(i)], b[at_b(i)]) for i < n; a, b and y share float dtype dt.
cudaError_t binary(const BinaryArgs& args, cudaStream_t stream);

// GEGLU (DNABERT-2's gated MLP): for r < rows, j < inner,
//   out[r * inner + j] = gelu(x[r * ldx + j] + b[j]) * (x[r * ldx + inner + j] + b[inner + j])
// with the exact (erf) GELU, f32 math, one rounding into dt. x rows hold
// 2 * inner elements at row stride ldx >= 2 * inner; bias [2 * inner] or null;
// out contiguous. One pass, 16-byte packets where inner, ldx and the pointers
// allow.
cudaError_t geglu(const GegluArgs& args, cudaStream_t stream);

}  // namespace germ::kernels
