// Host launchers of the quantized GEMMs (contract: qgemm_args.h; the shared
// arithmetic: qgemm_math.h).
//
// Small problems (few tokens, a weight of few output rows) split K across
// blocks so that enough SMs stream the weight; the partial sums go to a
// workspace the caller provides (size from *_workspace_bytes, 0 when no
// split is made) and a second kernel reduces them in a fixed order and runs
// the epilogue, so results do not depend on scheduling.
#pragma once
#include <cstddef>
#include <cuda_runtime_api.h>
#include "../../contract/qgemm_args.h"

namespace germ::kernels {

// Per-token (smoothed) symmetric quantization of activations: one warp per row.
cudaError_t quantize_tokens(const TokenQuantArgs& a, cudaStream_t stream);

size_t qgemm_int_workspace_bytes(const IntGemmArgs& a);
cudaError_t qgemm_int(const IntGemmArgs& a, void* workspace, cudaStream_t stream);

size_t qgemm_w4_workspace_bytes(const W4Args& a);
cudaError_t qgemm_w4(const W4Args& a, void* workspace, cudaStream_t stream);

}  // namespace germ::kernels
