// Arguments of the outlier statistics (cuda/stats, cpp/cpu/stats.cc): x
// contiguous [rows, cols] of a float dt, rows, cols >= 1. Writes each row's
// token kurtosis and max |x|, each column's max |x|, and *state = prev (or
// empty when null) merged with the moments of x.
#pragma once
#include <cstdint>
#include "kernel_types.h"
#include "moments.h"

namespace germ::kernels {

struct OutlierStatsArgs {
  KDType dt = KDType::F32;
  const void* x = nullptr;
  int64_t rows = 0, cols = 0;
  const StatsState* prev = nullptr;
  StatsState* state = nullptr;
  float* row_kurt = nullptr;    // [rows]
  float* row_absmax = nullptr;  // [rows]
  float* col_absmax = nullptr;  // [cols]
};

}  // namespace germ::kernels
