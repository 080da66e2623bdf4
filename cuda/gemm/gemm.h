// Host launcher for the dense GEMM (cuda/gemm/*.cu).
//
// Contract: kernels::GemmArgs in cuda/common/kernel_types.h (shared with the
// CPU backend). f16 / bf16 run on tensor cores (mma.sync, f32 accumulation);
// bf16 on sm_75, which has no bf16 tensor cores, and f32 everywhere run a
// tiled SIMT kernel with f32 accumulation.
#pragma once
#include <cuda_runtime_api.h>
#include "../../contract/kernel_types.h"

namespace germ::kernels {

cudaError_t gemm(const GemmArgs& args, cudaStream_t stream);

// GEMM with GEGLU in its epilogue (gemm_sm90a.h has the contract: B's rows
// interleaved in blocks of 64 gate + 64 up rows, out [m, n / 2]). Only where
// the Hopper kernel runs; elsewhere callers compose gemm() and the GEGLU
// kernel, which gives the same values up to the rounding of the gate and up
// sums. fusable() is the host's question, asked before any output exists.
bool gemm_geglu_fusable(const GemmArgs& args);
cudaError_t gemm_geglu(const GemmArgs& args, cudaStream_t stream);

// The fused LoRA forward (kernels::LoraGemmArgs), likewise Hopper only;
// callers compose the stacked GEMM and a rank-r GEMM elsewhere.
bool gemm_lora_fusable(const LoraGemmArgs& args);
cudaError_t gemm_lora(const LoraGemmArgs& args, cudaStream_t stream);

}  // namespace germ::kernels
