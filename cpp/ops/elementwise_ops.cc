#include "indexing.h"
#include "ops.h"
#include "task.h"

namespace germ::ops {

TensorPtr unary(kernels::UnaryOp op, const TensorPtr& x, float alpha, float beta) {
  if (op != kernels::UnaryOp::Identity) require_float("unary op", x);
  Backend& be = backend_for(x->device());
  TensorPtr out = empty(be, x->dtype, x->shape);
  const kernels::StridedIndex idx = make_index(x->shape, x->strides);
  const int64_t n = x->numel();
  const kernels::KDType dt = kd(x->dtype);
  const kernels::UnaryArgs a{op, dt, dt, x->data(), out->data(), idx, n, alpha, beta};
  submit(be, storages({&x}), {out->storage}, [a](Backend& b) {
    if (a.n) b.unary(a);
  });
  return out;
}

TensorPtr binary(kernels::BinaryOp op, const TensorPtr& a, const TensorPtr& b) {
  static const char* names[] = {"add", "sub", "mul", "div", "maximum", "minimum", "pow"};
  const char* name = names[static_cast<int>(op)];
  require_same_device(name, {&a, &b});
  require_float(name, a);
  if (a->dtype != b->dtype)
    throw GermError(ErrorCode::Dtype, std::string(name) + ": dtypes differ (" + dtype_name(a->dtype) + " " +
                                          shape_str(a->shape) + " and " + dtype_name(b->dtype) + " " +
                                          shape_str(b->shape) + "); cast one first");
  const Shape shape = broadcast_shapes(a->shape, b->shape, name);
  Backend& be = backend_for(a->device());
  TensorPtr out = empty(be, a->dtype, shape);
  const kernels::StridedIndex idx = make_index(shape, broadcast_strides(*a, shape), broadcast_strides(*b, shape));
  const int64_t n = out->numel();
  const kernels::BinaryArgs args{op, kd(a->dtype), a->data(), b->data(), out->data(), idx, n};
  submit(be, storages({&a, &b}), {out->storage}, [args](Backend& be2) {
    if (args.n) be2.binary(args);
  });
  return out;
}

}  // namespace germ::ops
