// Contract of the quantized GEMMs (cuda/qgemm/*.cu and cpp/cpu/qgemm*.cc),
// plain C++ so the CPU-only build includes it too. Every operand is
// contiguous and row-major; W is the nn.Linear layout [n, k] (one row per
// output feature), so y = x W^T.
//
//   Integer GEMM: W8A8 (also W6A6: 6-bit codes live in the same i8
//   container) and W4A4 (signed nibbles, packed two per byte as quantize()
//   packs them: element 2c of a row in the low nibble of byte c)
//     acc[i, j] = sum_k xq[i, k] * wq[j, k]        exact int32 (|acc| < 2^31
//                                                  while k < 131072)
//     y[i, j]   = epilogue(float(acc) * (sx[i] * sw[j]))
//   out_dtype I32 writes acc itself (no scale, bias or GELU): the exact check.
//
//   Weight-only 4-bit (W4A16 / NF4-A16)
//     w[j, k]   = value of W's code, exactly as dequantize() computes it in
//                 f32, then rounded to x's dtype (the tensor cores' input)
//     y[i, j]   = epilogue(sum_k x[i, k] * w[j, k])   (f32 accumulation)
//   So y equals linear(x, W.dequantize(x.dtype)) up to the f32 summation order.
//   One exception, more exact: the few-token CUDA kernel's int4 path with one
//   group per 128 k (w4_gemv.cu, "folded") skips the rounding to x's dtype,
//   y[i, j] = epilogue(sum_groups scale * sum_k x[i, k] * (code - zero)), i.e.
//   linear(x, W.dequantize('f32')) up to the f32 summation order.
//
//   epilogue(v) = cast(gelu?(v + bias[j]))   with exact (erf) GELU and one
//                 rounding into out_dtype.
#pragma once
#include <cstdint>
#include "kernel_types.h"

namespace germ::kernels {

// What follows the dot products; bias f32 [n] or null.
struct QEpilogue {
  KDType out_dtype = KDType::F32;
  void* y = nullptr;  // [m, n]
  const float* bias = nullptr;
  bool gelu = false;
};

struct IntGemmArgs {
  int64_t m = 0, n = 0, k = 0;
  int32_t bits = 8;            // 8: int8 codes, rows of k bytes; 4: packed nibbles, rows of ceil(k / 2) bytes
  const int8_t* xq = nullptr;  // [m, k] per-token codes
  const float* sx = nullptr;   // [m]
  const int8_t* wq = nullptr;  // [n, k] per-channel codes
  const float* sw = nullptr;   // sw[j * sw_stride]: 1 per channel, 0 for one per-tensor scale
  int64_t sw_stride = 1;
  QEpilogue ep;
};

// Per-token activation quantization with an optional SmoothQuant scale:
// row i of x [rows, cols] becomes x[i, k] / smooth[k] (one f32 division),
// then symmetric `bits`-bit codes with one scale per row (quant_math.h's
// quant_params / quant_code, so without smooth it equals quantize(x,
// {granularity: 'token'}) bit for bit). bits 8 / 6: q is i8 [rows, cols];
// bits 4: q is u8 [rows, ceil(cols / 2)], packed like quantize().
struct TokenQuantArgs {
  KDType x_dtype = KDType::F32;
  const void* x = nullptr;
  int64_t rows = 0, cols = 0;
  const float* smooth = nullptr;  // [cols] or null
  int32_t bits = 8;
  void* q = nullptr;
  float* scale = nullptr;  // [rows]
};

// The 4-bit weight formats of lib/quant, as they come out of quantize() /
// quantizeNf4(): codes packed two per byte, element 2c of a row in the low
// nibble of byte c (k is even, so rows start on bytes).
enum class W4Codes : int32_t { Int4Sym = 0, Int4Asym = 1, Nf4 = 2 };

struct W4Args {
  int64_t m = 0, n = 0, k = 0;
  KDType x_dtype = KDType::F16;  // f16 or bf16
  const void* x = nullptr;       // [m, k]
  W4Codes codes = W4Codes::Int4Sym;
  const uint8_t* wq = nullptr;   // [n, k / 2]
  // The scale of element (j, c) has index si = j * s_ld + c / group:
  //   per group s_ld = k / group; per channel s_ld = 1, group = k; per tensor
  //   s_ld = 0, group = k; NF4 blocks (k % block == 0) s_ld = k / block, which
  //   makes si the flat block index.
  int64_t group = 0, s_ld = 0;
  const float* scale = nullptr;    // Int4: scale[si]; Nf4: absmax[si] (null under double quant)
  const float* zero = nullptr;     // Int4Asym: zero[si]
  const uint8_t* qabsmax = nullptr;  // Nf4 double quant: absmax = dyn[qabsmax[si]] * absmax2[si / 256] + offset[0]
  const float* absmax2 = nullptr;
  const float* offset = nullptr;
  QEpilogue ep;
};

}  // namespace germ::kernels
