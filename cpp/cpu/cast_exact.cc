// Same-dtype copies and integer -> integer casts (see cast_exact.h).
#include "cast_exact.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "dtype_access.h"
#include "strided_runs.h"

namespace germ::cpu {
namespace {

bool is_int(KDType t) { return t == KDType::I8 || t == KDType::I32 || t == KDType::U8; }

// Saturating integer conversion through int64 (which holds every source value).
template <class To, class From>
To saturate(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else {
    int64_t w = static_cast<int64_t>(v);
    w = std::clamp<int64_t>(w, std::numeric_limits<To>::min(), std::numeric_limits<To>::max());
    return static_cast<To>(w);
  }
}

template <class From, class To>
void cast_runs(const From* x, To* y, const kernels::StridedIndex& idx, int64_t start,
               int64_t count) {
  for_each_strided_run(idx, 0, start, count,
                       [&](int64_t off, int64_t stride, int64_t run, int64_t pos) {
                         To* out = y + start + pos;
                         const From* in = x + off;
                         if constexpr (std::is_same_v<To, From>) {
                           if (stride == 1) {  // bit copy: keeps NaN payloads and -0
                             std::memcpy(out, in, run * sizeof(To));
                             return;
                           }
                         }
                         for (int64_t i = 0; i < run; ++i) {
                           if constexpr (std::is_same_v<To, From>) out[i] = in[i * stride];
                           else out[i] = saturate<To>(in[i * stride]);
                         }
                       });
}

}  // namespace

bool is_exact_cast(KDType in_dt, KDType out_dt) {
  return in_dt == out_dt || (is_int(in_dt) && is_int(out_dt));
}

void exact_cast(KDType in_dt, KDType out_dt, const void* x, void* y,
                const kernels::StridedIndex& idx, int64_t start, int64_t count) {
  dispatch_dtype(in_dt, [&](auto in_tag) {
    using From = decltype(in_tag);
    if (in_dt == out_dt) {
      cast_runs(static_cast<const From*>(x), static_cast<From*>(y), idx, start, count);
      return;
    }
    if constexpr (std::is_integral_v<From>) {
      dispatch_dtype(out_dt, [&](auto out_tag) {
        using To = decltype(out_tag);
        if constexpr (std::is_integral_v<To>) {
          cast_runs(static_cast<const From*>(x), static_cast<To*>(y), idx, start, count);
        }
      });
    }
  });
}

}  // namespace germ::cpu
