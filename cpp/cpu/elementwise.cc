// Elementwise maps: unary (every UnaryOp, casts included) and binary with
// broadcasting, both over a contiguous output (see ops.h, kernel_types.h).
//
// Each parallel chunk walks its range in f32 blocks: gather + convert the
// inputs (dtype_access.h), run the op's f32 math over the block, round into the
// output. The f32 -> f32 contiguous case skips the blocks and maps straight
// from input to output, the loop the compiler vectorises best.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cast_exact.h"
#include "dtype_access.h"
#include "elementwise_math.h"
#include "ops.h"
#include "thread_pool.h"

namespace germ::cpu {
namespace {

// Items per parallel chunk at least: below this, waking a worker costs more
// than the work (a cheap op does ~1 element/ns).
constexpr int64_t kElementwiseGrain = 32 * 1024;

bool is_contiguous(const StridedIndex& idx, int operand) {
  return idx.ndim == 0 || (idx.ndim == 1 && idx.stride[operand][0] == 1);
}

using UnaryFn = void (*)(const float*, float*, int64_t, float, float);
using BinaryFn = void (*)(const float*, const float*, float*, int64_t);

template <UnaryOp Op>
void unary_map(const float* x, float* y, int64_t n, float alpha, float beta) {
  for (int64_t i = 0; i < n; ++i) y[i] = unary_math<Op>(x[i], alpha, beta);
}

template <BinaryOp Op>
void binary_map(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = binary_math<Op>(a[i], b[i]);
}

UnaryFn unary_fn(UnaryOp op) {
  switch (op) {
    case UnaryOp::Identity: return unary_map<UnaryOp::Identity>;
    case UnaryOp::Affine: return unary_map<UnaryOp::Affine>;
    case UnaryOp::Neg: return unary_map<UnaryOp::Neg>;
    case UnaryOp::Abs: return unary_map<UnaryOp::Abs>;
    case UnaryOp::Exp: return unary_map<UnaryOp::Exp>;
    case UnaryOp::Log: return unary_map<UnaryOp::Log>;
    case UnaryOp::Sqrt: return unary_map<UnaryOp::Sqrt>;
    case UnaryOp::Rsqrt: return unary_map<UnaryOp::Rsqrt>;
    case UnaryOp::Recip: return unary_map<UnaryOp::Recip>;
    case UnaryOp::Square: return unary_map<UnaryOp::Square>;
    case UnaryOp::Tanh: return unary_map<UnaryOp::Tanh>;
    case UnaryOp::Sigmoid: return unary_map<UnaryOp::Sigmoid>;
    case UnaryOp::Relu: return unary_map<UnaryOp::Relu>;
    case UnaryOp::Silu: return unary_map<UnaryOp::Silu>;
    case UnaryOp::Gelu: return unary_map<UnaryOp::Gelu>;
    case UnaryOp::GeluTanh: return unary_map<UnaryOp::GeluTanh>;
    case UnaryOp::PowScalar: return unary_map<UnaryOp::PowScalar>;
    case UnaryOp::ClampScalar: return unary_map<UnaryOp::ClampScalar>;
  }
  throw std::invalid_argument("germ cpu: unknown unary op " + std::to_string(static_cast<int>(op)));
}

BinaryFn binary_fn(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return binary_map<BinaryOp::Add>;
    case BinaryOp::Sub: return binary_map<BinaryOp::Sub>;
    case BinaryOp::Mul: return binary_map<BinaryOp::Mul>;
    case BinaryOp::Div: return binary_map<BinaryOp::Div>;
    case BinaryOp::Maximum: return binary_map<BinaryOp::Maximum>;
    case BinaryOp::Minimum: return binary_map<BinaryOp::Minimum>;
    case BinaryOp::Pow: return binary_map<BinaryOp::Pow>;
  }
  throw std::invalid_argument("germ cpu: unknown binary op " + std::to_string(static_cast<int>(op)));
}

}  // namespace

void unary(const kernels::UnaryArgs& args) {
  if (args.n <= 0) return;
  if (args.op == UnaryOp::Identity && is_exact_cast(args.in_dt, args.out_dt)) {
    parallel_for(args.n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
      exact_cast(args.in_dt, args.out_dt, args.x, args.y, args.idx, begin, end - begin);
    });
    return;
  }
  const UnaryFn fn = unary_fn(args.op);
  dispatch_dtype(args.in_dt, [](auto) {});  // reject unknown dtype codes before going parallel
  dispatch_dtype(args.out_dt, [](auto) {});
  const bool contiguous = is_contiguous(args.idx, 0);

  if (contiguous && args.in_dt == KDType::F32 && args.out_dt == KDType::F32) {
    parallel_for(args.n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
      fn(static_cast<const float*>(args.x) + begin, static_cast<float*>(args.y) + begin, end - begin,
         args.alpha, args.beta);
    });
    return;
  }
  parallel_for(args.n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    float buf[kBlock];
    for (int64_t i = begin; i < end; i += kBlock) {
      const int64_t len = std::min(kBlock, end - i);
      if (contiguous) load_as_float(args.in_dt, args.x, i, len, buf);
      else load_strided_as_float(args.in_dt, args.x, args.idx, 0, i, len, buf);
      fn(buf, buf, len, args.alpha, args.beta);
      store_from_float(args.out_dt, buf, args.y, i, len);
    }
  });
}

void binary(const kernels::BinaryArgs& args) {
  if (args.n <= 0) return;
  const BinaryFn fn = binary_fn(args.op);
  dispatch_dtype(args.dt, [](auto) {});
  const bool a_contiguous = is_contiguous(args.idx, 0);
  const bool b_contiguous = is_contiguous(args.idx, 1);

  if (a_contiguous && b_contiguous && args.dt == KDType::F32) {
    parallel_for(args.n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
      fn(static_cast<const float*>(args.a) + begin, static_cast<const float*>(args.b) + begin,
         static_cast<float*>(args.y) + begin, end - begin);
    });
    return;
  }
  parallel_for(args.n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    float abuf[kBlock], bbuf[kBlock];
    for (int64_t i = begin; i < end; i += kBlock) {
      const int64_t len = std::min(kBlock, end - i);
      if (a_contiguous) load_as_float(args.dt, args.a, i, len, abuf);
      else load_strided_as_float(args.dt, args.a, args.idx, 0, i, len, abuf);
      if (b_contiguous) load_as_float(args.dt, args.b, i, len, bbuf);
      else load_strided_as_float(args.dt, args.b, args.idx, 1, i, len, bbuf);
      fn(abuf, bbuf, abuf, len);
      store_from_float(args.dt, abuf, args.y, i, len);
    }
  });
}

}  // namespace germ::cpu
