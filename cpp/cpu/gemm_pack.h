// Packing GEMM operands into the micro-kernel's layout.
//
// Packing is where every operand variation is absorbed (dtype, transpose,
// leading dimension, edges), so the micro-kernel sees exactly one layout:
//   A block (mc x kc of op(A)): ceil(mc / kMR) panels; panel r holds
//     a[p * kMR + i] = op(A)(r * kMR + i, p), zero past row mc.
//   B block (kc x nc of op(B)): ceil(nc / kNR) panels; panel s holds
//     b[p * kNR + j] = op(B)(p, s * kNR + j), zero past column nc.
// f16 / bf16 (and the integer types) are widened to f32 here, once per element
// per block instead of once per use.
#pragma once
#include <cstdint>
#include "../../contract/kernel_types.h"

namespace germ::cpu {

// `a` points at op(A)(0, 0) of this matrix; op(A)(i, p) is a[i * lda + p], or
// a[p * lda + i] when trans_a.
void pack_a_block(kernels::KDType dt, const void* a, int64_t lda, bool trans_a, int64_t i0,
                  int64_t mc, int64_t p0, int64_t kc, float* dst);

// op(B)(p, j) is b[p * ldb + j], or b[j * ldb + p] when trans_b.
void pack_b_block(kernels::KDType dt, const void* b, int64_t ldb, bool trans_b, int64_t p0,
                  int64_t kc, int64_t j0, int64_t nc, float* dst);

}  // namespace germ::cpu
