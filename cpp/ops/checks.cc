#include <string>
#include "ops.h"

namespace germ::ops {

void require_same_device(const char* op, std::initializer_list<const TensorPtr*> ts) {
  const TensorImpl* first = nullptr;
  for (const TensorPtr* t : ts) {
    if (!t || !*t) continue;
    if (!first) first = t->get();
    else if ((*t)->device() != first->device())
      throw GermError(ErrorCode::Device, std::string(op) + ": tensors on different devices (" +
                                             first->device().str() + " and " + (*t)->device().str() +
                                             "); move one with .to()");
  }
}

void require_float(const char* op, const TensorPtr& t) {
  if (!dtype_is_float(t->dtype))
    throw GermError(ErrorCode::Dtype, std::string(op) + ": expected a float tensor (f32, f16 or bf16), got " +
                                          dtype_name(t->dtype) + " " + shape_str(t->shape));
}

void require_dtype(const char* op, const TensorPtr& t, DType dtype, const char* what) {
  if (t->dtype != dtype)
    throw GermError(ErrorCode::Dtype, std::string(op) + ": " + what + " must be " + dtype_name(dtype) + ", got " +
                                          dtype_name(t->dtype) + " " + shape_str(t->shape));
}

TensorPtr empty(Backend& backend, DType dtype, const Shape& shape) {
  for (int64_t d : shape)
    if (d < 0) throw GermError(ErrorCode::Shape, "negative dimension in shape " + shape_str(shape));
  const int64_t n = shape_numel(shape);
  return contiguous_tensor(backend.allocate(static_cast<size_t>(n * dtype_size(dtype))), dtype, shape);
}

}  // namespace germ::ops
