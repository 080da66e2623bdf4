#include "tensor.h"
#include "checked.h"

namespace germ {

int64_t shape_numel(const Shape& shape) {
  for (int64_t d : shape)
    if (d == 0) return 0;
  int64_t n = 1;
  for (int64_t d : shape) n = checked_mul(n, d, "shape");
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s = checked_mul(s, shape[i], "contiguous strides");
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
  for (int64_t d : t.shape)
    if (d < 0) throw GermError(ErrorCode::Shape, "view: negative dimension in " + shape_str(t.shape));
  for (int64_t d : t.shape)
    if (d == 0) return;  // empty views touch nothing
  // Lowest and highest element reached, with every step checked: a wrapped
  // product would put a far-away view back inside the bounds.
  int64_t lo = t.offset, hi = t.offset;
  for (size_t i = 0; i < t.shape.size(); ++i) {
    const int64_t span = checked_mul(t.shape[i] - 1, t.strides[i], "view");
    if (span < 0) lo = checked_add(lo, span, "view"); else hi = checked_add(hi, span, "view");
  }
  const int64_t capacity = static_cast<int64_t>(t.storage->nbytes()) / dtype_size(t.dtype);
  if (lo < 0 || hi >= capacity)
    throw GermError(ErrorCode::Shape, "view " + shape_str(t.shape) + " with strides " + shape_str(t.strides) +
                                          " at offset " + std::to_string(t.offset) + " reaches outside its storage of " +
                                          std::to_string(capacity) + " elements");
}

}  // namespace germ
