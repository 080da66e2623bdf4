// Host launcher of the Hopper GEMM (gemm_wgmma_sm90a.cu): wgmma tensor cores fed by
// the bulk tensor copy engine (TMA). Built only when the architecture list
// holds sm_90 (CMake then defines GERM_HAVE_SM90A for gemm_dispatch.cu and
// compiles gemm_wgmma_sm90a.cu for sm_90a alone), and used only on compute
// capability 9.0 devices.
#pragma once
#include <cuda_runtime_api.h>
#include "../../contract/kernel_types.h"

namespace germ::kernels {

// Runs C = alpha * A B^T + beta * C (+ bias) for f16 / bf16 with A [m][k]
// (trans_a false) and B [n][k] (trans_b true, the nn.Linear weight), when the
// operands meet the copy engine's rules (16-byte aligned base pointers, leading
// dimensions and batch strides). Sets *launched = false, and returns
// cudaSuccess, when the arguments are of another kind: the caller then uses
// its other kernels. The caller has checked the device is compute 9.0.
cudaError_t gemm_sm90a(const GemmArgs& args, int sm_count, cudaStream_t stream, bool* launched);

// GEGLU fused into the GEMM's epilogue: out [m, n / 2] = gelu(gate) * up where
// B [n][k]'s rows come in blocks of 64 gate rows followed by the 64 matching
// up rows (the layout ops::linear_geglu builds), f16 / bf16, x @ W^T, one
// batch entry, no bias, alpha 1, beta 0, out written at row stride ldc.
// accepts() says whether the arguments are of that kind (and aligned for the
// copy engine); gemm_geglu_sm90a launches (cudaErrorInvalidValue otherwise).
bool gemm_geglu_sm90a_accepts(const GemmArgs& args);
cudaError_t gemm_geglu_sm90a(const GemmArgs& args, int sm_count, cudaStream_t stream);

// The fused LoRA forward (kernels::LoraGemmArgs): f16 / bf16, x @ W^T, one
// batch entry, alpha 1, beta 0, rank a multiple of 8 up to kLoraFusedMaxRank,
// every operand aligned for the copy engine, t and ldt keeping pairs aligned.
bool gemm_lora_sm90a_accepts(const LoraGemmArgs& args);
cudaError_t gemm_lora_sm90a(const LoraGemmArgs& args, int sm_count, cudaStream_t stream);

// false when GERM_DISABLE_SM90A is set (and not "0"): every Hopper kernel
// (this GEMM, the integer one) then stays on its mma.sync path, to test and
// time that path there. Read once (gemm_dispatch.cu).
bool sm90a_enabled();

}  // namespace germ::kernels
