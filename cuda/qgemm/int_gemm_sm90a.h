// Host launcher of the Hopper integer GEMM (int_gemm_wgmma_sm90a.cu): int8
// wgmma fed by TMA. Built, like the f16 one (../gemm/gemm_sm90a.h), only when
// the architecture list holds sm_90 (GERM_HAVE_SM90A), used only on compute
// capability 9.0 devices.
#pragma once
#include <cuda_runtime_api.h>
#include "../../contract/qgemm_args.h"

namespace germ::kernels {

// W8A8 / W6A6 (bits 8: int8 codes) y = epilogue(sx sw (xq wq^T)), or the raw
// int32 sums, exactly as qgemm_int (int_gemm.cu) computes them, when the
// copy engine can read the operands (16-byte aligned xq / wq, k % 16 == 0).
// Sets *launched = false, and returns cudaSuccess, for what it does not take
// (W4A4, other alignments): the caller then runs its mma.sync kernels. The
// caller has checked the device is compute 9.0 and the problem large.
cudaError_t qgemm_int_sm90a(const IntGemmArgs& a, int sm_count, cudaStream_t stream, bool* launched);

}  // namespace germ::kernels
