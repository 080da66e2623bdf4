#include "ops.h"
#include "task.h"

namespace germ::ops {

TensorPtr reduce(kernels::ReduceOp op, const TensorPtr& x_in, std::optional<int64_t> axis, bool keepdim) {
  require_float("reduce", x_in);
  const int64_t nd = x_in->ndim();
  int64_t outer = 1, len = x_in->numel(), inner = 1;
  Shape out_shape;
  if (axis) {
    int64_t ax = *axis < 0 ? *axis + nd : *axis;
    if (ax < 0 || ax >= nd)
      throw GermError(ErrorCode::Shape, "reduce: axis " + std::to_string(*axis) + " out of range for shape " +
                                            shape_str(x_in->shape));
    outer = 1;
    inner = 1;
    for (int64_t i = 0; i < ax; ++i) outer *= x_in->shape[i];
    for (int64_t i = ax + 1; i < nd; ++i) inner *= x_in->shape[i];
    len = x_in->shape[ax];
    for (int64_t i = 0; i < nd; ++i) {
      if (i != ax) out_shape.push_back(x_in->shape[i]);
      else if (keepdim) out_shape.push_back(1);
    }
  } else if (keepdim) {
    out_shape.assign(nd, 1);
  }
  const TensorPtr x = contiguous(x_in);
  Backend& be = backend_for(x->device());
  TensorPtr out = empty(be, x->dtype, out_shape);
  const kernels::ReduceArgs a{op, kd(x->dtype), x->data(), out->data(), outer, len, inner};
  submit(be, storages({&x}), {out->storage}, [a](Backend& b) {
    if (a.outer != 0 && a.inner != 0) b.reduce(a);
  });
  return out;
}

}  // namespace germ::ops
