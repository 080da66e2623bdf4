// Arguments of the reductions (cuda/reduce, cpp/cpu/reduce.cc): x contiguous
// [outer, len, inner] reduced over len into y [outer, inner], both of dt.
#pragma once
#include <cstdint>
#include "kernel_types.h"

namespace germ::kernels {

struct ReduceArgs {
  ReduceOp op = ReduceOp::Sum;
  KDType dt = KDType::F32;
  const void* x = nullptr;
  void* y = nullptr;
  int64_t outer = 0, len = 0, inner = 0;
};

}  // namespace germ::kernels
