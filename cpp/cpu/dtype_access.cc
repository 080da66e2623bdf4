// Block loaders and storers for every KDType (see dtype_access.h).
#include "dtype_access.h"

#include "strided_runs.h"

namespace germ::cpu {
namespace {

template <class T>
void load_run(const T* src, int64_t stride, int64_t count, float* dst) {
  if (stride == 1) {
    for (int64_t i = 0; i < count; ++i) dst[i] = to_float(src[i]);
  } else if (stride == 0) {
    const float v = to_float(src[0]);
    for (int64_t i = 0; i < count; ++i) dst[i] = v;
  } else {
    for (int64_t i = 0; i < count; ++i) dst[i] = to_float(src[i * stride]);
  }
}

}  // namespace

void load_as_float(KDType dt, const void* base, int64_t start, int64_t count, float* dst) {
  dispatch_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    load_run(static_cast<const T*>(base) + start, 1, count, dst);
  });
}

void load_strided_as_float(KDType dt, const void* base, const kernels::StridedIndex& idx,
                           int operand, int64_t start, int64_t count, float* dst) {
  dispatch_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* src = static_cast<const T*>(base);
    for_each_strided_run(idx, operand, start, count,
                         [&](int64_t off, int64_t stride, int64_t run, int64_t pos) {
                           load_run(src + off, stride, run, dst + pos);
                         });
  });
}

void store_from_float(KDType dt, const float* src, void* base, int64_t start, int64_t count) {
  dispatch_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    T* out = static_cast<T*>(base) + start;
    for (int64_t i = 0; i < count; ++i) out[i] = from_float<T>(src[i]);
  });
}

void round_through(KDType dt, float* v, int64_t count) {
  dispatch_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    for (int64_t i = 0; i < count; ++i) v[i] = to_float(from_float<T>(v[i]));
  });
}

}  // namespace germ::cpu
