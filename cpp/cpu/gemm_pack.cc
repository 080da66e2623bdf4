// Operand packing for the GEMM (layouts in gemm_pack.h).
//
// Each loop reads its source along the source's contiguous direction: for a
// row-major A (or a trans_b B) that is one source row per panel row, written
// with stride kMR (kNR) into the panel; otherwise one contiguous kMR (kNR)
// slice per p.
#include "gemm_pack.h"

#include <algorithm>

#include "dtype_access.h"
#include "gemm_microkernel.h"

namespace germ::cpu {
namespace {

// Packs a `rows x kc` slab of a matrix into panels of height `width`
// (kMR for A, kNR for B): dst[panel][p][r] = M(r, p), zero-padded.
// M(r, p) = src[r * along_rows + p * along_k] with one of the two strides 1.
template <class T, int64_t Width>
void pack_panels(const T* src, int64_t along_rows, int64_t along_k, int64_t rows, int64_t kc,
                 float* dst) {
  for (int64_t r0 = 0; r0 < rows; r0 += Width) {
    const int64_t h = std::min(Width, rows - r0);
    float* panel = dst + (r0 / Width) * Width * kc;
    const T* s = src + r0 * along_rows;
    if (along_k == 1) {
      // Source rows are contiguous in p: stream each row, scatter into the panel.
      for (int64_t r = 0; r < h; ++r) {
        const T* row = s + r * along_rows;
        for (int64_t p = 0; p < kc; ++p) panel[p * Width + r] = to_float(row[p]);
      }
      for (int64_t r = h; r < Width; ++r)
        for (int64_t p = 0; p < kc; ++p) panel[p * Width + r] = 0.0f;
    } else {
      // Source is contiguous along rows: each p is one contiguous slice.
      for (int64_t p = 0; p < kc; ++p) {
        const T* col = s + p * along_k;
        float* out = panel + p * Width;
        for (int64_t r = 0; r < h; ++r) out[r] = to_float(col[r]);
        for (int64_t r = h; r < Width; ++r) out[r] = 0.0f;
      }
    }
  }
}

}  // namespace

void pack_a_block(KDType dt, const void* a, int64_t lda, bool trans_a, int64_t i0, int64_t mc,
                  int64_t p0, int64_t kc, float* dst) {
  dispatch_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* base = static_cast<const T*>(a);
    if (!trans_a)  // A is [m, k]: op(A)(i, p) = a[i * lda + p]
      pack_panels<T, kMR>(base + i0 * lda + p0, lda, 1, mc, kc, dst);
    else           // A is [k, m]: op(A)(i, p) = a[p * lda + i]
      pack_panels<T, kMR>(base + p0 * lda + i0, 1, lda, mc, kc, dst);
  });
}

void pack_b_block(KDType dt, const void* b, int64_t ldb, bool trans_b, int64_t p0, int64_t kc,
                  int64_t j0, int64_t nc, float* dst) {
  dispatch_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* base = static_cast<const T*>(b);
    // Panels run over columns j of op(B): "rows" of pack_panels are columns here.
    if (!trans_b)  // B is [k, n]: op(B)(p, j) = b[p * ldb + j]
      pack_panels<T, kNR>(base + p0 * ldb + j0, 1, ldb, nc, kc, dst);
    else           // B is [n, k]: op(B)(p, j) = b[j * ldb + p]
      pack_panels<T, kNR>(base + j0 * ldb + p0, ldb, 1, nc, kc, dst);
  });
}

}  // namespace germ::cpu
