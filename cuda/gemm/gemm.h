// Host launcher for the dense GEMM (cuda/gemm/*.cu).
//
// Contract: kernels::GemmArgs in cuda/common/kernel_types.h (shared with the
// CPU backend). f16 / bf16 run on tensor cores (mma.sync, f32 accumulation);
// bf16 on sm_75, which has no bf16 tensor cores, and f32 everywhere run a
// tiled SIMT kernel with f32 accumulation.
#pragma once
#include <cuda_runtime_api.h>
#include "../common/kernel_types.h"

namespace germ::kernels {

cudaError_t gemm(const GemmArgs& args, cudaStream_t stream);

}  // namespace germ::kernels
