// Identity casts that must not pass through f32.
//
// The general unary path reads every dtype as f32, which is exact for the
// float types and for integers up to 2^24 in magnitude. A same-dtype copy (a
// make-contiguous of an I32 index tensor, say) and an integer -> integer cast
// must be exact for every value, so they take these native paths instead.
#pragma once
#include <cstdint>
#include "../../contract/kernel_types.h"

namespace germ::cpu {

// True when Identity from in_dt to out_dt is handled here (same dtype, or both
// integer types); then y[i] = x[at(i)] for i in [start, start + count),
// saturating on integer narrowing.
bool is_exact_cast(kernels::KDType in_dt, kernels::KDType out_dt);
void exact_cast(kernels::KDType in_dt, kernels::KDType out_dt, const void* x, void* y,
                const kernels::StridedIndex& idx, int64_t start, int64_t count);

}  // namespace germ::cpu
