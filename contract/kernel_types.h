// Plain C++ vocabulary shared by every kernel family and by the CPU backend.
//
// This header holds no CUDA types on purpose: the CPU-only build (no nvcc, no
// toolkit headers) includes it too, so one set of op codes and one index
// description serve both backends.
#pragma once
#include <cstdint>

namespace germ::kernels {

// Element types a kernel can see. The numbering is the addon's DType numbering
// (cpp/core/dtype.h static_asserts that), so a cast between them is free.
enum class KDType : int32_t { F32 = 0, F16 = 1, BF16 = 2, I8 = 3, I32 = 4, U8 = 5 };

inline bool is_float(KDType t) { return t == KDType::F32 || t == KDType::F16 || t == KDType::BF16; }

inline int64_t kdtype_size(KDType t) {
  switch (t) {
    case KDType::F32: case KDType::I32: return 4;
    case KDType::F16: case KDType::BF16: return 2;
    default: return 1;
  }
}

// Elementwise maps. Every op computes in f32 and rounds once into the output.
//   alpha, beta are the op's scalar parameters (ignored where unused).
enum class UnaryOp : int32_t {
  Identity = 0,  // y = x            (copy, make-contiguous, dtype cast: any dtype pair)
  Affine,        // y = alpha*x+beta (scalar add / sub / mul / div all land here)
  Neg, Abs, Exp, Log, Sqrt, Rsqrt, Recip, Square,
  Tanh, Sigmoid, Relu, Silu,
  Gelu,          // exact: 0.5 x (1 + erf(x / sqrt 2)), as DNABERT-2's GLU uses
  GeluTanh,      // tanh approximation
  PowScalar,     // y = x^alpha
  ClampScalar,   // y = min(max(x, alpha), beta)
};

enum class BinaryOp : int32_t { Add = 0, Sub, Mul, Div, Maximum, Minimum, Pow };

enum class ReduceOp : int32_t { Sum = 0, Mean, Max, Min };

constexpr int kMaxDims = 8;

// Iteration over a contiguous output of `ndim` dims; input operand i is read at
// sum_d idx_d * stride[i][d] (element strides, 0 on broadcast dims). The caller
// collapses adjacent dims first, so a contiguous operand arrives as ndim 1,
// stride 1 and the kernels take their vectorised fast path.
struct StridedIndex {
  int32_t ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride[2][kMaxDims] = {};
};

// Dense GEMM arguments, shared by the CUDA launcher (cuda/gemm/gemm.h) and the
// CPU backend (cpp/cpu/ops.h). Row-major, batched, strided:
//   C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] (+ bias broadcast over rows)
// op(A) is [m, k] (A stored [k, m] when trans_a), op(B) is [k, n] (B stored
// [n, k] when trans_b, the nn.Linear weight layout). A, B, C, bias share
// dtype; leading dims and batch strides are in elements. beta == 0 never reads
// C (it may hold NaN); k == 0 gives C = beta * C + bias.
struct GemmArgs {
  KDType dtype = KDType::F32;
  bool trans_a = false;
  bool trans_b = false;
  int64_t m = 0, n = 0, k = 0, batch = 1;
  const void* a = nullptr; int64_t lda = 0; int64_t stride_a = 0;
  const void* b = nullptr; int64_t ldb = 0; int64_t stride_b = 0;
  void* c = nullptr;       int64_t ldc = 0; int64_t stride_c = 0;
  const void* bias = nullptr;  // [n] or null
  float alpha = 1.0f;
  float beta = 0.0f;
};

// The GEGLU GEMM's weight layout (cuda/gemm/gemm_wgmma_sm90a.cu): the rows
// of [Wg; Wu] interleaved in blocks of kGegluBlock gate rows, each followed by
// the same rows of Wu, so that one 2 * kGegluBlock-wide output tile holds the
// gate and up sums of the same kGegluBlock outputs in one thread. Half the
// kernel's tile width; cpp/ops packs weights to it and reads it back.
constexpr int64_t kGegluBlock = 64;

// GEMM with GEGLU in its epilogue (cuda/gemm/gemm.h, gemm_geglu): gemm's
// arguments with B in the layout above and C [m, n / 2]. Its own type, so
// that supports() asks about this kernel.
struct GemmGegluArgs {
  GemmArgs gemm;
};

// Ranks the fused LoRA forward takes (multiples of 8 up to this); the caller
// composes GEMMs for the others.
constexpr int64_t kLoraFusedMaxRank = 32;

// The fused LoRA forward (cuda/gemm/gemm.h, gemm_lora): base.c = x W^T +
// base.bias + scale (x A^T) B^T with x = base.a [m][k] and W = base.b [n][k]
// (the nn.Linear layout: trans_b), A [rank][k] (row stride ld_la), B [n][rank]
// (row stride ld_lb); t [m][rank] (row stride ldt) receives x A^T, rounded to
// the dtype, for the backward pass.
struct LoraGemmArgs {
  GemmArgs base;
  const void* lora_a = nullptr; int64_t ld_la = 0;
  const void* lora_b = nullptr; int64_t ld_lb = 0;
  int64_t rank = 0;
  float scale = 1.0f;
  void* t = nullptr; int64_t ldt = 0;
};

}  // namespace germ::kernels
