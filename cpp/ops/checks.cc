#include <string>
#include "../core/checked.h"
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

// A 2-D view as rows of `width` consecutive elements every `ld` elements
// (either orientation); false when it has no such layout.
static bool row_layout(const TensorImpl& t, int64_t* ld, int64_t* width) {
  if (t.ndim() != 2) return false;
  if (t.strides[1] == 1 || t.shape[1] == 1) {
    *ld = t.shape[0] == 1 ? t.shape[1] : t.strides[0];
    *width = t.shape[1];
  } else if (t.strides[0] == 1 || t.shape[0] == 1) {
    *ld = t.strides[1];
    *width = t.shape[0];
  } else {
    return false;
  }
  return *ld >= *width;
}

// Whether two 2-D views may share an element: the same storage and
// overlapping spans, unless both are rows with one leading dim whose column
// ranges are disjoint (the fused LoRA forward's [x W^T | x A^T] halves).
bool may_overlap(const TensorImpl& x, const TensorImpl& y) {
  if (x.storage != y.storage || x.numel() == 0 || y.numel() == 0) return false;
  auto span_end = [](const TensorImpl& t) {
    int64_t e = t.offset;
    for (size_t i = 0; i < t.shape.size(); ++i) e += (t.shape[i] - 1) * t.strides[i];
    return e;
  };
  if (span_end(x) < y.offset || span_end(y) < x.offset) return false;
  int64_t ldx, wx, ldy, wy;
  if (!row_layout(x, &ldx, &wx) || !row_layout(y, &ldy, &wy) || ldx != ldy || ldx == 0) return true;
  const int64_t cx = x.offset % ldx, cy = y.offset % ldy;
  if (cx + wx > ldx || cy + wy > ldy) return true;
  return !(cx + wx <= cy || cy + wy <= cx);
}

TensorPtr empty(Backend& backend, DType dtype, const Shape& shape) {
  for (int64_t d : shape)
    if (d < 0) throw GermError(ErrorCode::Shape, "negative dimension in shape " + shape_str(shape));
  const int64_t n = shape_numel(shape);  // checked, like the byte count (and the strides, below)
  const int64_t nbytes = checked_mul(n, static_cast<int64_t>(dtype_size(dtype)), "allocation");
  return contiguous_tensor(backend.allocate(static_cast<size_t>(nbytes)), dtype, shape);
}

}  // namespace germ::ops
