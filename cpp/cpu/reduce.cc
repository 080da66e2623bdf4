// Reductions over the middle axis of a contiguous [outer, len, inner] tensor.
//
// As the reference for the GPU's f32 tree sums, Sum and Mean accumulate in
// double. Max and Min propagate NaN (as torch.amax does). Empty reductions give
// Sum 0, Mean NaN (0/0), Max -inf, Min +inf.
//
// The result is independent of the thread count: `len` is cut into fixed
// kLenChunk slices (not into per-thread slices), each slice's partial is
// computed by one task, and the partials of an output are combined in slice
// order. So a whole-tensor sum (outer = inner = 1) is parallel and still
// bit-reproducible.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "dtype_access.h"
#include "ops.h"
#include "thread_pool.h"

namespace germ::cpu {
namespace {

constexpr int64_t kLenChunk = 16 * 1024;   // slice of the reduced axis per task
constexpr int64_t kInnerBlock = 256;       // outputs per task when inner > 1

// Running state of one output: a double sum, or a float extreme plus a NaN flag.
struct Partial {
  double sum = 0.0;
  float extreme = 0.0f;
  bool nan = false;
};

float identity_extreme(ReduceOp op) {
  return op == ReduceOp::Max ? -std::numeric_limits<float>::infinity()
                             : std::numeric_limits<float>::infinity();
}

bool is_sum(ReduceOp op) { return op == ReduceOp::Sum || op == ReduceOp::Mean; }

// Sum of a row slice with four accumulators: breaks the add latency chain and
// stays deterministic (the order depends only on the data length).
double sum_row(const float* v, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += v[i]; s1 += v[i + 1]; s2 += v[i + 2]; s3 += v[i + 3];
  }
  for (; i < n; ++i) s0 += v[i];
  return (s0 + s1) + (s2 + s3);
}

void extreme_row(ReduceOp op, const float* v, int64_t n, Partial& p) {
  float e = p.extreme;
  bool nan = p.nan;
  if (op == ReduceOp::Max) {
    for (int64_t i = 0; i < n; ++i) { nan |= v[i] != v[i]; e = v[i] > e ? v[i] : e; }
  } else {
    for (int64_t i = 0; i < n; ++i) { nan |= v[i] != v[i]; e = v[i] < e ? v[i] : e; }
  }
  p.extreme = e;
  p.nan = nan;
}

// Reduces x[o, l0:l1, i0:i0+ni] into parts[0:ni].
void reduce_slice(ReduceOp op, KDType dt, const void* x, int64_t len, int64_t inner, int64_t o,
                  int64_t l0, int64_t l1, int64_t i0, int64_t ni, Partial* parts) {
  float buf[kBlock];
  for (int64_t j = 0; j < ni; ++j) parts[j] = Partial{0.0, identity_extreme(op), false};
  const int64_t base = o * len * inner;
  if (inner == 1) {  // the row case: the reduced axis is contiguous
    for (int64_t l = l0; l < l1; l += kBlock) {
      const int64_t cnt = std::min(kBlock, l1 - l);
      load_as_float(dt, x, base + l, cnt, buf);
      if (is_sum(op)) parts[0].sum += sum_row(buf, cnt);
      else extreme_row(op, buf, cnt, parts[0]);
    }
    return;
  }
  // Strided case: walk the reduced axis, each step a contiguous run of inner
  // outputs; the update loops are elementwise across outputs and vectorise.
  std::vector<double> sums(is_sum(op) ? ni : 0, 0.0);
  for (int64_t l = l0; l < l1; ++l) {
    load_as_float(dt, x, base + l * inner + i0, ni, buf);
    if (is_sum(op)) {
      for (int64_t j = 0; j < ni; ++j) sums[j] += buf[j];
    } else {
      for (int64_t j = 0; j < ni; ++j) {
        Partial& p = parts[j];
        p.nan |= buf[j] != buf[j];
        p.extreme = (op == ReduceOp::Max) ? (buf[j] > p.extreme ? buf[j] : p.extreme)
                                          : (buf[j] < p.extreme ? buf[j] : p.extreme);
      }
    }
  }
  if (is_sum(op)) for (int64_t j = 0; j < ni; ++j) parts[j].sum = sums[j];
}

}  // namespace

void reduce(const kernels::ReduceArgs& args) {
  if (args.outer <= 0 || args.inner <= 0) return;
  if (static_cast<int>(args.op) < 0 || static_cast<int>(args.op) > static_cast<int>(ReduceOp::Min))
    throw std::invalid_argument("germ cpu: unknown reduce op " + std::to_string(static_cast<int>(args.op)));
  dispatch_dtype(args.dt, [](auto) {});
  const int64_t len = std::max<int64_t>(args.len, 0);

  const int64_t slices = std::max<int64_t>(1, (len + kLenChunk - 1) / kLenChunk);
  const int64_t inner_blocks = (args.inner + kInnerBlock - 1) / kInnerBlock;
  const int64_t outputs = args.outer * args.inner;
  // parts[(o * inner + i) * slices + s]: partial of output (o, i) over slice s.
  std::vector<Partial> parts(static_cast<size_t>(outputs * slices));

  // One task per (outer, slice, inner block); grain keeps tasks >= ~16K elements.
  const int64_t tasks = args.outer * slices * inner_blocks;
  const int64_t work_per_task = std::max<int64_t>(1, std::min(len, kLenChunk) * std::min(args.inner, kInnerBlock));
  const int64_t grain = std::max<int64_t>(1, (16 * 1024) / work_per_task);
  parallel_for(tasks, grain, [&](int64_t begin, int64_t end) {
    std::vector<Partial> local(static_cast<size_t>(std::min(args.inner, kInnerBlock)));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t ib = t % inner_blocks;
      const int64_t s = (t / inner_blocks) % slices;
      const int64_t o = t / (inner_blocks * slices);
      const int64_t i0 = ib * kInnerBlock, ni = std::min(kInnerBlock, args.inner - i0);
      const int64_t l0 = s * kLenChunk, l1 = std::min(len, l0 + kLenChunk);
      reduce_slice(args.op, args.dt, args.x, len, args.inner, o, l0, l1, i0, ni, local.data());
      for (int64_t j = 0; j < ni; ++j) parts[((o * args.inner) + i0 + j) * slices + s] = local[j];
    }
  });

  // Combine slices in order and round into dt.
  parallel_for(outputs, 4096, [&](int64_t begin, int64_t end) {
    float buf[kBlock];
    for (int64_t b = begin; b < end; b += kBlock) {
      const int64_t cnt = std::min(kBlock, end - b);
      for (int64_t j = 0; j < cnt; ++j) {
        const Partial* p = &parts[(b + j) * slices];
        if (is_sum(args.op)) {
          double s = 0.0;
          for (int64_t k = 0; k < slices; ++k) s += p[k].sum;
          if (args.op == ReduceOp::Mean) s /= static_cast<double>(len);  // len 0: 0/0 = NaN
          buf[j] = static_cast<float>(s);
        } else {
          Partial acc{0.0, identity_extreme(args.op), false};
          for (int64_t k = 0; k < slices; ++k) {
            acc.nan |= p[k].nan;
            acc.extreme = args.op == ReduceOp::Max ? std::max(acc.extreme, p[k].extreme)
                                              : std::min(acc.extreme, p[k].extreme);
          }
          buf[j] = acc.nan ? std::numeric_limits<float>::quiet_NaN() : acc.extreme;
        }
      }
      store_from_float(args.dt, buf, args.y, b, cnt);
    }
  });
}

}  // namespace germ::cpu
