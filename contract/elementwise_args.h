// Arguments of the elementwise kernels (cuda/elementwise, cpp/cpu/elementwise.cc,
// cpp/cpu/geglu.cc). Op codes and StridedIndex: kernel_types.h.
#pragma once
#include <cstdint>
#include "kernel_types.h"

namespace germ::kernels {

// y = op(x) over n elements read through idx (operand 0); y is contiguous.
// Identity casts between any dtype pair; the other ops take float dtypes.
struct UnaryArgs {
  UnaryOp op = UnaryOp::Identity;
  KDType in_dt = KDType::F32, out_dt = KDType::F32;
  const void* x = nullptr;
  void* y = nullptr;
  StridedIndex idx;
  int64_t n = 0;
  float alpha = 0.f, beta = 0.f;  // the op's scalars (UnaryOp says which)
};

// y = op(a, b) over n elements, a read through idx operand 0, b operand 1.
struct BinaryArgs {
  BinaryOp op = BinaryOp::Add;
  KDType dt = KDType::F32;
  const void* a = nullptr;
  const void* b = nullptr;
  void* y = nullptr;
  StridedIndex idx;
  int64_t n = 0;
};

// out[r, j] = gelu(x[r, j] + bias[j]) * (x[r, inner + j] + bias[inner + j])
// for j < inner: x rows are 2 * inner wide with row stride ldx (elements), out
// is contiguous [rows, inner], bias [2 * inner] or null. Exact (erf) GELU, f32
// math, one rounding into dt.
struct GegluArgs {
  KDType dt = KDType::F32;
  void* out = nullptr;
  const void* x = nullptr;
  int64_t ldx = 0;
  const void* bias = nullptr;
  int64_t rows = 0, inner = 0;
};

}  // namespace germ::kernels
