// Packed weights: a weight rearranged once, at load, into the layout its fused
// op reads. The layout is decided here and travels with the packed tensor as
// an opaque code (lib/ops.ts PackedWeight), so neither lib/ nor the model code
// knows a kernel's tile size.
#include <string>
#include <vector>
#include "ops.h"

namespace germ::ops {

PackedGeglu pack_geglu(const TensorPtr& w) {
  require_float("packGeglu", w);
  if (w->ndim() != 2 || w->shape[0] % 2 != 0 || w->shape[0] > INT32_MAX)
    throw GermError(ErrorCode::Shape, "packGeglu: w must be [2 * I, H] (the I gate rows, then the I up rows), got " +
                                          shape_str(w->shape));
  const int64_t two_i = w->shape[0], inner = two_i / 2;
  if (inner % kGegluBlock != 0) return {w, GegluLayout::Halves};
  // Row i of the packed weight: blocks of kGegluBlock gate rows, each followed
  // by the same kGegluBlock up rows; one gather on w's device.
  std::vector<int32_t> rows(static_cast<size_t>(two_i));
  for (int64_t i = 0; i < two_i; ++i) {
    const int64_t block = i / (2 * kGegluBlock), j = i % (2 * kGegluBlock);
    rows[i] = static_cast<int32_t>((j < kGegluBlock ? 0 : inner) + block * kGegluBlock + j % kGegluBlock);
  }
  return {embedding(w, rows), GegluLayout::Blocked};
}

TensorPtr linear_geglu_packed(const TensorPtr& x_in, const TensorPtr& w, GegluLayout layout) {
  if (layout == GegluLayout::Blocked) return linear_geglu(x_in, w);
  const char* op = "linearGeglu";
  require_same_device(op, {&x_in, &w});
  require_float(op, x_in);
  require_dtype(op, w, x_in->dtype, "w");
  if (x_in->ndim() < 1 || w->ndim() != 2 || w->shape[1] != x_in->shape.back() || w->shape[0] % 2 != 0)
    throw GermError(ErrorCode::Shape, "linearGeglu: x must be [..., H] and w [2 * I, H], got " + shape_str(x_in->shape) +
                                          " and " + shape_str(w->shape));
  // [Wg; Wu] as given: one GEMM into [..., 2I], then geglu over its halves (a
  // 1-D x is one row).
  if (x_in->ndim() >= 2) return geglu(matmul(x_in, w, nullptr, {false, true, 1.f}), nullptr);
  const TensorPtr x = contiguous(x_in);
  const TensorPtr act = geglu(matmul(view(x, {1, w->shape[1]}, {w->shape[1], 1}, x->offset), w, nullptr,
                                     {false, true, 1.f}), nullptr);
  return view(act, {act->shape[1]}, {1}, act->offset);
}

}  // namespace germ::ops
