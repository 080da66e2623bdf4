#include "tensor.h"

namespace germ {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

int64_t TensorImpl::numel() const { return shape_numel(shape); }

bool TensorImpl::is_contiguous() const {
  int64_t expect = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expect) return false;
    expect *= shape[i];
  }
  return true;
}

TensorPtr contiguous_tensor(StoragePtr storage, DType dtype, Shape shape) {
  auto t = std::make_shared<TensorImpl>();
  t->storage = std::move(storage);
  t->dtype = dtype;
  t->strides = contiguous_strides(shape);
  t->shape = std::move(shape);
  return t;
}

void check_view_bounds(const TensorImpl& t) {
  if (t.shape.size() != t.strides.size())
    throw GermError(ErrorCode::Shape, "view: shape and strides differ in length");
  if (t.offset < 0) throw GermError(ErrorCode::Shape, "view: negative offset");
  int64_t lo = t.offset, hi = t.offset;
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (t.shape[i] < 0) throw GermError(ErrorCode::Shape, "view: negative dimension in " + shape_str(t.shape));
    if (t.shape[i] == 0) return;  // empty views touch nothing
    int64_t span = (t.shape[i] - 1) * t.strides[i];
    if (span < 0) lo += span; else hi += span;
  }
  const int64_t capacity = static_cast<int64_t>(t.storage->nbytes()) / dtype_size(t.dtype);
  if (lo < 0 || hi >= capacity)
    throw GermError(ErrorCode::Shape, "view " + shape_str(t.shape) + " with strides " + shape_str(t.strides) +
                                          " at offset " + std::to_string(t.offset) + " reaches outside its storage of " +
                                          std::to_string(capacity) + " elements");
}

}  // namespace germ
