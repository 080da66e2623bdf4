// Host launchers for LayerNorm forward and backward (cuda/norm/*.cu).
// x, residual, out, dout, dx: contiguous [rows, cols] of float dtype dt;
// weight, bias: [cols] of dtype dt; mean, rstd: [rows] f32, written by the
// forward for the backward to reuse (llm.c style: the backward recomputes
// nothing else).
#pragma once
#include <cuda_runtime_api.h>
#include "../../contract/layernorm_args.h"

namespace germ::kernels {

// Normalises x, or with a non-null `residual` the sum s = x + residual rounded
// once to dt (exactly what the unfused add would store), so addLayerNorm(x, r)
// is layerNorm(add(x, r)) in one read of each input; the backward then takes
// that sum as its x.
cudaError_t layernorm_forward(const LayerNormArgs& args, cudaStream_t stream);

// Writes dx (dt) and the parameter gradients dweight, dbias as f32 [cols]
// (overwritten, not accumulated). `scratch` must hold
// layernorm_backward_scratch_floats(args) floats for per-block partials.
cudaError_t layernorm_backward(const LayerNormGradArgs& args, float* scratch, cudaStream_t stream);

int64_t layernorm_backward_scratch_floats(const LayerNormGradArgs& args);

}  // namespace germ::kernels
