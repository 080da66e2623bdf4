// Host launchers for attention (cuda/attention/*.cu). All enqueue on `stream`
// and never synchronise. Contract: attention_params.h.
#pragma once
#include <cuda_runtime_api.h>
#include "../../contract/attention_params.h"

namespace germ::kernels {

// Whether the fused kernels take these params (dtype, head dim, normaliser,
// row alignment, the loaded image's arch on the current device); the caller
// asks before launching and runs the naive kernels otherwise. The fused
// launchers return cudaErrorInvalidValue for params these reject.
bool attention_fused_supported(const AttentionParams& p);
bool attention_backward_fused_supported(const AttentionGradParams& g);

// Fused flash forward (online softmax, no score matrix in memory) for the
// Softmax and Softmax1 normalisers; f16 / bf16, head_dim 32, 64 or 128.
cudaError_t attention_forward(const AttentionParams& p, cudaStream_t stream);

// Fused flash backward: dq, dk, dv from the saved lse (scores recomputed),
// FlashAttention-2 style. `scratch` must hold attention_backward_scratch_bytes(p).
cudaError_t attention_backward(const AttentionGradParams& g, void* scratch, cudaStream_t stream);
size_t attention_backward_scratch_bytes(const AttentionParams& p);

// The unfused path: one score row at a time in `scratch`, every normaliser
// (Clipped only runs here), f16 / bf16 / f32. The baseline of the GERM paper's
// outlier-removal comparisons; slow by design, exact by construction.
cudaError_t attention_naive_forward(const AttentionParams& p, void* scratch, cudaStream_t stream);
cudaError_t attention_naive_backward(const AttentionGradParams& g, void* scratch, cudaStream_t stream);
size_t attention_naive_scratch_bytes(const AttentionParams& p);

}  // namespace germ::kernels
