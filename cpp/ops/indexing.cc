#include "indexing.h"
#include <algorithm>

namespace germ::ops {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw GermError(ErrorCode::Shape, std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                                            " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_strides(const TensorImpl& t, const Shape& out_shape) {
  Shape s(out_shape.size(), 0);
  const size_t lead = out_shape.size() - t.shape.size();
  for (size_t i = 0; i < t.shape.size(); ++i) s[lead + i] = t.shape[i] == 1 ? 0 : t.strides[i];
  return s;
}

kernels::StridedIndex make_index(const Shape& out_shape, const Shape& stride0, const Shape& stride1) {
  const bool two = !stride1.empty();
  // Keep dims of size > 1, outermost first.
  Shape shape, s0, s1;
  for (size_t i = 0; i < out_shape.size(); ++i) {
    if (out_shape[i] == 1) continue;
    shape.push_back(out_shape[i]);
    s0.push_back(stride0[i]);
    s1.push_back(two ? stride1[i] : 0);
  }
  // Merge dim i into dim i+1 (inner) when both operands step through them as one.
  Shape ms, m0, m1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (!ms.empty() && m0.back() == s0[i] * shape[i] && m1.back() == s1[i] * shape[i]) {
      ms.back() *= shape[i];
      m0.back() = s0[i];
      m1.back() = s1[i];
    } else {
      ms.push_back(shape[i]);
      m0.push_back(s0[i]);
      m1.push_back(s1[i]);
    }
  }
  if (ms.empty()) {  // a single element
    ms = {1};
    m0 = {1};
    m1 = {two ? 1 : 0};
  }
  if (ms.size() > static_cast<size_t>(kernels::kMaxDims))
    throw GermError(ErrorCode::Shape, "elementwise op over " + shape_str(out_shape) + ": more than " +
                                          std::to_string(kernels::kMaxDims) + " non-mergeable dims; call contiguous() first");
  kernels::StridedIndex idx;
  idx.ndim = static_cast<int32_t>(ms.size());
  for (size_t i = 0; i < ms.size(); ++i) {
    idx.shape[i] = ms[i];
    idx.stride[0][i] = m0[i];
    idx.stride[1][i] = m1[i];
  }
  return idx;
}

}  // namespace germ::ops
