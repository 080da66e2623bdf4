// The vector primitives under the CPU attention kernels: a small f32 tile
// GEMM and the exp2 row pass of the softmax. Built twice (AVX2+FMA and
// baseline x86-64) like the GEMM micro-kernel, and picked once at first use by
// the same decision (gemm_microkernel_name(), which honours GERM_CPU_ISA).
//
// Everything here works on f32 tiles that the attention code has already
// converted into thread-local buffers, so operands are plain row-major arrays
// with leading dimensions in elements.
#pragma once
#include <cstdint>

namespace germ::cpu {

// Column panel of the tile GEMM: n must be a multiple of this.
constexpr int64_t kAttnPanel = 16;

struct AttentionSimd {
  // C[m x n] = A[m x k] B[k x n] (accumulate: C +=). Row-major, leading dims
  // lda / ldb / ldc; n % kAttnPanel == 0, any m and k (k == 0 gives 0 / no-op).
  void (*gemm)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, bool accumulate);
  // max_j x[j] over j < n (-inf when n == 0).
  float (*row_max)(const float* x, int64_t n);
  // x[j] = exp2(x[j] - base) for j < n; returns the sum of the new x. -inf
  // inputs give exact 0. Relative error ~2 ulp (polynomial exp2, no libm).
  float (*exp2_sub_sum)(float* x, int64_t n, float base);
  const char* name;  // "avx2+fma" or "generic"
};

const AttentionSimd& attention_simd();

}  // namespace germ::cpu
