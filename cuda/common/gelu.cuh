// Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), as DNABERT-2's GLU uses it, for
// every kernel that applies it (elementwise, GEGLU, GEMM epilogues). Written
// with erfc: 1 + erf(x / sqrt 2) cancels for x << 0 (gelu(-4) ~ -1e-4 would
// keep ~3 digits); erfc(-x / sqrt 2) is the same quantity without the
// cancellation. The CPU backend computes the same expression
// (cpp/cpu/elementwise_math.h).
#pragma once

namespace germ::kernels {

__device__ __forceinline__ float gelu_erf(float x) { return 0.5f * x * erfcf(-x * 0.70710678118654752f); }

}  // namespace germ::kernels
