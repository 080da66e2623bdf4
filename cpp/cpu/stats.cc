// Outlier statistics on the CPU (contract: cuda/stats/stats.h, the CUDA
// kernels' twin). Values widen exactly to f64; every kBlock-element block is
// two-pass (its mean, then power sums of the offsets from it) and blocks,
// rows and slices merge with stats_merge, the same exact formulas the GPU
// uses. Work is split in fixed pieces merged in order, so the result does not
// depend on the thread count:
//   short rows: slices of ~kSliceElems elements (whole rows), one partial each;
//   long rows (> kSliceElems): each row's segments in parallel, merged in order.
// max |x| per column is a second, column-blocked pass (reads stay sequential).
#include <algorithm>
#include <cmath>
#include <vector>

#include "../../contract/moments.h"
#include "dtype_access.h"
#include "ops.h"
#include "thread_pool.h"

namespace germ::cpu {
namespace {

using kernels::StatsState;

constexpr int64_t kSliceElems = 64 * 1024;
constexpr int64_t kColBlock = 1024;

double nan_max(double a, double b) { return kernels::stats_nan_max(a, b); }

// Moments of x[start, start + len) (f64 two-pass per block); max |x| into amax.
StatsState range_state(KDType dt, const void* x, int64_t start, int64_t len, double& amax) {
  float buf[kBlock];
  StatsState acc = kernels::stats_empty();
  for (int64_t b0 = 0; b0 < len; b0 += kBlock) {
    const int64_t nb = std::min(kBlock, len - b0);
    load_as_float(dt, x, start + b0, nb, buf);
    double sum = 0;
    for (int64_t j = 0; j < nb; ++j) {
      sum += buf[j];
      amax = nan_max(amax, std::fabs(double(buf[j])));
    }
    const double shift = sum / double(nb);
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    for (int64_t j = 0; j < nb; ++j) {
      const double d = double(buf[j]) - shift, d2 = d * d;
      s1 += d;
      s2 += d2;
      s3 += d2 * d;
      s4 += d2 * d2;
    }
    acc = kernels::stats_merge(acc, kernels::stats_from_shifted(double(nb), shift, s1, s2, s3, s4));
  }
  return acc;
}

// The row as a token: writes its kurtosis and max |x|, returns its state.
StatsState finish_row(const StatsState& rs, double amax, int64_t r, float* row_kurt, float* row_absmax) {
  const StatsState t = kernels::stats_as_token(rs, amax);
  row_kurt[r] = static_cast<float>(t.kurt_sum);
  row_absmax[r] = static_cast<float>(amax);
  return t;
}

StatsState merge_in_order(const std::vector<StatsState>& parts) {
  StatsState acc = kernels::stats_empty();
  for (const StatsState& p : parts) acc = kernels::stats_merge(acc, p);
  return acc;
}

StatsState short_rows(KDType dt, const void* x, int64_t rows, int64_t cols, float* row_kurt, float* row_absmax) {
  const int64_t per_slice = std::max<int64_t>(1, kSliceElems / cols);
  std::vector<StatsState> parts(static_cast<size_t>((rows + per_slice - 1) / per_slice));
  parallel_for(static_cast<int64_t>(parts.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t s = begin; s < end; ++s) {
      StatsState acc = kernels::stats_empty();
      for (int64_t r = s * per_slice; r < std::min(rows, (s + 1) * per_slice); ++r) {
        double amax = 0;
        const StatsState rs = range_state(dt, x, r * cols, cols, amax);
        acc = kernels::stats_merge(acc, finish_row(rs, amax, r, row_kurt, row_absmax));
      }
      parts[static_cast<size_t>(s)] = acc;
    }
  });
  return merge_in_order(parts);
}

StatsState long_rows(KDType dt, const void* x, int64_t rows, int64_t cols, float* row_kurt, float* row_absmax) {
  const int64_t segs = (cols + kSliceElems - 1) / kSliceElems;
  std::vector<StatsState> parts(static_cast<size_t>(segs));
  std::vector<double> amaxes(static_cast<size_t>(segs));
  StatsState acc = kernels::stats_empty();
  for (int64_t r = 0; r < rows; ++r) {
    parallel_for(segs, 1, [&](int64_t begin, int64_t end) {
      for (int64_t s = begin; s < end; ++s) {
        double amax = 0;
        const int64_t c0 = s * kSliceElems;
        parts[size_t(s)] = range_state(dt, x, r * cols + c0, std::min(kSliceElems, cols - c0), amax);
        amaxes[size_t(s)] = amax;
      }
    });
    double amax = 0;
    for (double a : amaxes) amax = nan_max(amax, a);
    acc = kernels::stats_merge(acc, finish_row(merge_in_order(parts), amax, r, row_kurt, row_absmax));
  }
  return acc;
}

void col_absmax(KDType dt, const void* x, int64_t rows, int64_t cols, float* out) {
  const int64_t blocks = (cols + kColBlock - 1) / kColBlock;
  const int64_t grain = std::max<int64_t>(1, kSliceElems / std::max<int64_t>(1, rows * std::min(cols, kColBlock)));
  parallel_for(blocks, grain, [&](int64_t begin, int64_t end) {
    float buf[kBlock];
    for (int64_t b = begin; b < end; ++b) {
      const int64_t c0 = b * kColBlock, nc = std::min(kColBlock, cols - c0);
      float* m = out + c0;
      std::fill(m, m + nc, 0.f);
      for (int64_t r = 0; r < rows; ++r) {
        load_as_float(dt, x, r * cols + c0, nc, buf);
        for (int64_t j = 0; j < nc; ++j) {
          const float a = std::fabs(buf[j]);
          if (a > m[j] || a != a) m[j] = a;
        }
      }
    }
  });
}

}  // namespace

void outlier_stats(const kernels::OutlierStatsArgs& args) {
  const StatsState now = args.cols > kSliceElems
                             ? long_rows(args.dt, args.x, args.rows, args.cols, args.row_kurt, args.row_absmax)
                             : short_rows(args.dt, args.x, args.rows, args.cols, args.row_kurt, args.row_absmax);
  *args.state = args.prev ? kernels::stats_merge(*args.prev, now) : now;
  col_absmax(args.dt, args.x, args.rows, args.cols, args.col_absmax);
}

}  // namespace germ::cpu
