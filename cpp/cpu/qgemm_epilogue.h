// The epilogue of the CPU quantized GEMMs (contract: cuda/qgemm/qgemm_args.h):
// bias, exact GELU, one rounding into the output dtype, for a run of columns
// of one output row.
#pragma once
#include <cstdint>
#include "../../contract/qgemm_args.h"
#include "dtype_access.h"
#include "elementwise_math.h"

namespace germ::cpu {

// v holds y[row, j0 .. j0 + count) before the bias; it is modified in place.
inline void store_epilogue(const kernels::QEpilogue& ep, int64_t n, int64_t row, int64_t j0, float* v, int64_t count) {
  if (ep.bias)
    for (int64_t j = 0; j < count; ++j) v[j] += ep.bias[j0 + j];
  if (ep.gelu)
    for (int64_t j = 0; j < count; ++j) v[j] = gelu_erf(v[j]);
  store_from_float(ep.out_dtype, v, ep.y, row * n + j0, count);
}

}  // namespace germ::cpu
