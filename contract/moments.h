// Partial central moments and their exact pairwise merge (Pebay 2008, after
// Terriberry / Chan): the state the outlier statistics reduce over segments,
// rows, blocks and batches. Shared by the CUDA kernels and the CPU backend, so
// both merge with the same formulas; no CUDA headers (the CPU build reads it).
//
// Everything is f64: the per-element work may run in f32 on a shifted copy of
// the data, but merging is where large means and huge counts lose precision.
#pragma once
#include "host_device.h"

namespace germ::kernels {

// n values with this mean and central sums m2 = sum (x - mean)^2, m3, m4;
// `rows` rows whose token kurtoses sum to kurt_sum; max |x| over them.
// The op layer hands it to JS as 8 raw doubles, in this order.
struct StatsState {
  double n, mean, m2, m3, m4;
  double rows, kurt_sum;
  double absmax;
};
static_assert(sizeof(StatsState) == 8 * sizeof(double), "StatsState is 8 packed doubles");

// NaN-propagating max: a NaN anywhere in the data shows in the result.
GERM_HD double stats_nan_max(double a, double b) { return (a > b || a != a) ? a : b; }

GERM_HD StatsState stats_empty() { return StatsState{0, 0, 0, 0, 0, 0, 0, 0}; }

// The moments of n values from the sums s_k = sum (x - shift)^k of their
// offsets from any shift: central moments about the true mean shift + s1/n.
// With shift near the mean the s_k carry no cancellation, and this correction
// removes whatever error the shift itself had.
GERM_HD StatsState stats_from_shifted(double n, double shift, double s1, double s2, double s3, double s4) {
  const double d = s1 / n, d2 = d * d;
  StatsState s = stats_empty();
  s.n = n;
  s.mean = shift + d;
  s.m2 = s2 - n * d2;
  s.m3 = s3 - 3 * d * s2 + 2 * n * d2 * d;
  s.m4 = s4 - 4 * d * s3 + 6 * d2 * s2 - 3 * n * d2 * d2;
  return s;
}

// Exact merge of two disjoint sets' moments (Pebay's formulas); rows and
// kurtosis sums add, absmax is the max.
GERM_HD StatsState stats_merge(const StatsState& a, const StatsState& b) {
  StatsState r;
  r.rows = a.rows + b.rows;
  r.kurt_sum = a.kurt_sum + b.kurt_sum;
  r.absmax = stats_nan_max(a.absmax, b.absmax);
  if (b.n == 0) { r.n = a.n; r.mean = a.mean; r.m2 = a.m2; r.m3 = a.m3; r.m4 = a.m4; return r; }
  if (a.n == 0) { r.n = b.n; r.mean = b.mean; r.m2 = b.m2; r.m3 = b.m3; r.m4 = b.m4; return r; }
  const double na = a.n, nb = b.n, n = na + nb;
  const double delta = b.mean - a.mean, dn = delta / n, dn2 = dn * dn;
  r.n = n;
  r.mean = a.mean + nb * dn;
  r.m2 = a.m2 + b.m2 + delta * dn * na * nb;
  r.m3 = a.m3 + b.m3 + delta * dn2 * na * nb * (na - nb) + 3 * dn * (na * b.m2 - nb * a.m2);
  r.m4 = a.m4 + b.m4 + delta * dn2 * dn * na * nb * (na * na - na * nb + nb * nb) +
         6 * dn2 * (na * na * b.m2 + nb * nb * a.m2) + 4 * dn * (na * b.m3 - nb * a.m3);
  return r;
}

// GERM's evaluation-code kurtosis of one token row:
// mean((x - mean)^4) / (std^4 + 1e-6), std unbiased (n - 1), not excess.
// One value gives NaN (its unbiased std is 0/0, as in torch.std).
GERM_HD double stats_token_kurtosis(const StatsState& row) {
  const double var = row.m2 / (row.n - 1);
  return (row.m4 / row.n) / (var * var + 1e-6);
}

// The row's state as one token of the tensor state: counted once, with its
// kurtosis and max |x|.
GERM_HD StatsState stats_as_token(StatsState row, double absmax) {
  row.rows = 1;
  row.kurt_sum = stats_token_kurtosis(row);
  row.absmax = absmax;
  return row;
}

}  // namespace germ::kernels
