// LayerNorm over the last dim of a contiguous [rows, cols] tensor, forward and
// backward (contract: ops.h, cuda/norm/layernorm.h).
//
// Forward: per row, mean and variance in double with two passes (no
// E[x^2] - E[x]^2 cancellation), rstd = 1 / sqrt(var + eps); both written as
// f32 for the backward, which reuses them instead of recomputing.
// Backward: with xhat = (x - mean) * rstd and g = dout * weight,
//   dx      = rstd * (g - mean(g) - xhat * mean(g * xhat))
//   dweight = sum over rows of dout * xhat,   dbias = sum over rows of dout.
// The parameter gradients are column sums over rows; they are computed per
// fixed slice of kRowSlice rows and the slices added in order, so the result
// does not depend on the thread count.
//
// With a residual (addLayerNorm) the forward normalises s = x + residual,
// rounded once to dt as the unfused add would store it; the row statistics
// code is the same.
//
// Null weight / bias mean 1 / 0; null mean / rstd (forward) or dx / dweight /
// dbias (backward) are simply not written.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "dtype_access.h"
#include "ops.h"
#include "thread_pool.h"

namespace germ::cpu {
namespace {

constexpr int64_t kRowSlice = 256;   // rows per partial of dweight / dbias
constexpr int64_t kColBlock = 1024;  // columns per partial task (f32 block size)

// Loads a [cols] parameter vector as f32, or `fill` when it is absent.
std::vector<float> load_param(KDType dt, const void* p, int64_t cols, float fill) {
  std::vector<float> v(static_cast<size_t>(cols), fill);
  if (p) load_as_float(dt, p, 0, cols, v.data());
  return v;
}

// Rows per parallel chunk so that a chunk touches >= ~32K elements.
int64_t row_grain(int64_t cols) { return std::max<int64_t>(1, (32 * 1024) / std::max<int64_t>(cols, 1)); }

}  // namespace

void layernorm_forward(const kernels::LayerNormArgs& args) {
  if (args.rows <= 0) return;
  dispatch_dtype(args.dt, [](auto) {});
  if (!args.x) throw std::invalid_argument("germ cpu layernorm_forward: null input");
  const std::vector<float> w = load_param(args.dt, args.weight, args.cols, 1.0f);
  const std::vector<float> b = load_param(args.dt, args.bias, args.cols, 0.0f);

  parallel_for(args.rows, row_grain(args.cols), [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(args.cols)), res(args.residual ? static_cast<size_t>(args.cols) : 0);
    for (int64_t r = begin; r < end; ++r) {
      load_as_float(args.dt, args.x, r * args.cols, args.cols, row.data());
      if (args.residual) {
        load_as_float(args.dt, args.residual, r * args.cols, args.cols, res.data());
        for (int64_t j = 0; j < args.cols; ++j) row[j] += res[j];
        round_through(args.dt, row.data(), args.cols);
      }
      double sum = 0.0;
      for (int64_t j = 0; j < args.cols; ++j) sum += row[j];
      const double mu = args.cols > 0 ? sum / static_cast<double>(args.cols) : 0.0;
      double sq = 0.0;
      for (int64_t j = 0; j < args.cols; ++j) {
        const double d = row[j] - mu;
        sq += d * d;
      }
      const double var = args.cols > 0 ? sq / static_cast<double>(args.cols) : 0.0;
      const float m = static_cast<float>(mu);
      const float rs = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(args.eps)));
      if (args.mean) args.mean[r] = m;
      if (args.rstd) args.rstd[r] = rs;
      if (args.out) {
        for (int64_t j = 0; j < args.cols; ++j) row[j] = (row[j] - m) * rs * w[j] + b[j];
        store_from_float(args.dt, row.data(), args.out, r * args.cols, args.cols);
      }
    }
  });
}

void layernorm_backward(const kernels::LayerNormGradArgs& args) {
  if (args.cols <= 0) return;
  dispatch_dtype(args.dt, [](auto) {});
  if (args.rows <= 0) {  // empty batch: zero parameter gradients
    if (args.dweight) std::fill(args.dweight, args.dweight + args.cols, 0.0f);
    if (args.dbias) std::fill(args.dbias, args.dbias + args.cols, 0.0f);
    return;
  }
  if (!args.x || !args.dout || !args.mean || !args.rstd)
    throw std::invalid_argument("germ cpu layernorm_backward: null x, dout, mean or rstd");
  const std::vector<float> w = load_param(args.dt, args.weight, args.cols, 1.0f);

  if (args.dx) {
    parallel_for(args.rows, row_grain(args.cols), [&](int64_t begin, int64_t end) {
      std::vector<float> xr(static_cast<size_t>(args.cols)), gr(static_cast<size_t>(args.cols));
      for (int64_t r = begin; r < end; ++r) {
        load_as_float(args.dt, args.x, r * args.cols, args.cols, xr.data());
        load_as_float(args.dt, args.dout, r * args.cols, args.cols, gr.data());
        const float m = args.mean[r], rs = args.rstd[r];
        double sum_g = 0.0, sum_gx = 0.0;
        for (int64_t j = 0; j < args.cols; ++j) {
          const float xhat = (xr[j] - m) * rs;
          const float g = gr[j] * w[j];
          xr[j] = xhat;
          gr[j] = g;
          sum_g += g;
          sum_gx += static_cast<double>(g) * xhat;
        }
        const float mean_g = static_cast<float>(sum_g / static_cast<double>(args.cols));
        const float mean_gx = static_cast<float>(sum_gx / static_cast<double>(args.cols));
        for (int64_t j = 0; j < args.cols; ++j) xr[j] = rs * (gr[j] - mean_g - xr[j] * mean_gx);
        store_from_float(args.dt, xr.data(), args.dx, r * args.cols, args.cols);
      }
    });
  }

  if (!args.dweight && !args.dbias) return;
  const int64_t slices = (args.rows + kRowSlice - 1) / kRowSlice;
  const int64_t col_blocks = (args.cols + kColBlock - 1) / kColBlock;
  // part_w/part_b[s * cols + j]: sum over rows of slice s, column j.
  std::vector<double> part_w(static_cast<size_t>(slices * args.cols));
  std::vector<double> part_b(static_cast<size_t>(slices * args.cols));
  parallel_for(slices * col_blocks, 1, [&](int64_t begin, int64_t end) {
    float xs[kBlock], gs[kBlock];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t s = t / col_blocks, cb = t % col_blocks;
      const int64_t j0 = cb * kColBlock, nj = std::min(kColBlock, args.cols - j0);
      double* pw = &part_w[s * args.cols + j0];
      double* pb = &part_b[s * args.cols + j0];
      std::fill(pw, pw + nj, 0.0);
      std::fill(pb, pb + nj, 0.0);
      const int64_t r1 = std::min(args.rows, (s + 1) * kRowSlice);
      for (int64_t r = s * kRowSlice; r < r1; ++r) {
        load_as_float(args.dt, args.x, r * args.cols + j0, nj, xs);
        load_as_float(args.dt, args.dout, r * args.cols + j0, nj, gs);
        const float m = args.mean[r], rs = args.rstd[r];
        for (int64_t j = 0; j < nj; ++j) {
          pw[j] += static_cast<double>(gs[j]) * ((xs[j] - m) * rs);
          pb[j] += gs[j];
        }
      }
    }
  });
  parallel_for(args.cols, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      double sw = 0.0, sb = 0.0;
      for (int64_t s = 0; s < slices; ++s) {
        sw += part_w[s * args.cols + j];
        sb += part_b[s * args.cols + j];
      }
      if (args.dweight) args.dweight[j] = static_cast<float>(sw);
      if (args.dbias) args.dbias[j] = static_cast<float>(sb);
    }
  });
}

}  // namespace germ::cpu
