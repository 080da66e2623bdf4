// Attention's vector primitives (see attention_simd.h), one source built twice.
//
// Same scheme as gemm_microkernel.cc: the bodies are always_inline templates
// written with GCC vector extensions; a target("avx2,fma") wrapper and a plain
// wrapper each get their own copy, and the table is chosen once. The ISA
// decision itself is not repeated here: it is whatever the GEMM micro-kernel
// chose, so GERM_CPU_ISA=generic switches both at once.
#include "attention_simd.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "gemm_microkernel.h"

namespace germ::cpu {
namespace {

typedef float Vec8 __attribute__((vector_size(32)));
typedef int32_t Vec8i __attribute__((vector_size(32)));

#define GERM_INLINE inline __attribute__((always_inline))

// Vectors are moved with memcpy and never passed to or returned from
// functions by value (see gemm_microkernel.cc): the helpers below take
// references, so no 32-byte vector crosses an ABI boundary of the baseline
// build. A scalar broadcast is written `Vec8{} + v`.

// ---- tile GEMM ----------------------------------------------------------------
//
// MR rows x 16 columns of C in registers (2 Vec8 per row), one rank-1 update per
// k: broadcast A[i][p], FMA with the B row segment. MR = 6 is the GEMM
// micro-kernel's shape (12 accumulators + 2 B + 1 broadcast = 15 ymm). A is
// read in place (row stride lda): the tiles are small and L1-resident, so
// packing would cost more than the strided broadcasts it saves.
constexpr int kMR = 6;

template <int MR>
GERM_INLINE void gemm_rows(int64_t n, int64_t k, const float* __restrict a, int64_t lda,
                           const float* __restrict b, int64_t ldb, float* __restrict c, int64_t ldc,
                           bool accumulate) {
  for (int64_t j0 = 0; j0 < n; j0 += kAttnPanel) {
    Vec8 acc0[MR], acc1[MR];
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) acc0[i] = acc1[i] = Vec8{};
    const float* bp = b + j0;
#pragma GCC unroll 4
    for (int64_t p = 0; p < k; ++p) {
      Vec8 b0, b1;
      std::memcpy(&b0, bp + p * ldb, sizeof b0);
      std::memcpy(&b1, bp + p * ldb + 8, sizeof b1);
#pragma GCC unroll 6
      for (int i = 0; i < MR; ++i) {
        const float av = a[i * lda + p];
        acc0[i] += av * b0;
        acc1[i] += av * b1;
      }
    }
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      float* row = c + i * ldc + j0;
      if (accumulate) {
        Vec8 c0, c1;
        std::memcpy(&c0, row, sizeof c0);
        std::memcpy(&c1, row + 8, sizeof c1);
        acc0[i] += c0;
        acc1[i] += c1;
      }
      std::memcpy(row, &acc0[i], sizeof acc0[i]);
      std::memcpy(row + 8, &acc1[i], sizeof acc1[i]);
    }
  }
}

GERM_INLINE void gemm_body(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                           const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  int64_t i = 0;
  for (; i + kMR <= m; i += kMR) gemm_rows<kMR>(n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate);
  const float* ar = a + i * lda;
  float* cr = c + i * ldc;
  switch (m - i) {
    case 5: gemm_rows<5>(n, k, ar, lda, b, ldb, cr, ldc, accumulate); break;
    case 4: gemm_rows<4>(n, k, ar, lda, b, ldb, cr, ldc, accumulate); break;
    case 3: gemm_rows<3>(n, k, ar, lda, b, ldb, cr, ldc, accumulate); break;
    case 2: gemm_rows<2>(n, k, ar, lda, b, ldb, cr, ldc, accumulate); break;
    case 1: gemm_rows<1>(n, k, ar, lda, b, ldb, cr, ldc, accumulate); break;
    default: break;
  }
}

// ---- exp2 ----------------------------------------------------------------------
//
// 2^x = 2^n * 2^f with n = round(x), f in [-0.5, 0.5]; 2^f by its Taylor series
// to degree 7 (truncation (ln2/2)^8/8! ~ 5e-9, below f32 rounding). x is
// clamped to [-127, 127]: at -127 the exponent field is 0 and the result is
// exactly 0, which is what -inf (a masked score) must give. libm's exp2f would
// not vectorise, and this pass runs once per score.
GERM_INLINE void exp2_inplace(Vec8& x) {
  const Vec8 lo = Vec8{} - 127.0f, hi = Vec8{} + 127.0f;
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  const Vec8 magic = Vec8{} + 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const Vec8 n = (x + magic) - magic;
  const Vec8 f = x - n;
  Vec8 poly = Vec8{} + 1.525273380405984e-05f;
  poly = poly * f + 1.5403530393381606e-04f;
  poly = poly * f + 1.3333558146428443e-03f;
  poly = poly * f + 9.618129107628477e-03f;
  poly = poly * f + 5.550410866482158e-02f;
  poly = poly * f + 2.402265069591007e-01f;
  poly = poly * f + 6.931471805599453e-01f;
  poly = poly * f + 1.0f;
  const Vec8i bits = (__builtin_convertvector(n, Vec8i) + 127) << 23;
  Vec8 two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  x = poly * two_n;
}

GERM_INLINE float hsum(const Vec8& v) {
  float s = 0.0f;
  for (int i = 0; i < 8; ++i) s += v[i];
  return s;
}

GERM_INLINE float exp2_sub_sum_body(float* x, int64_t n, float base) {
  Vec8 sum = Vec8{};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    Vec8 v;
    std::memcpy(&v, x + j, sizeof v);
    v -= base;
    exp2_inplace(v);
    sum += v;
    std::memcpy(x + j, &v, sizeof v);
  }
  if (j < n) {  // tail through the same polynomial, padded with -inf (-> 0)
    Vec8 v = Vec8{} - std::numeric_limits<float>::infinity();
    std::memcpy(&v, x + j, sizeof(float) * (n - j));
    v -= base;
    exp2_inplace(v);
    sum += v;
    std::memcpy(x + j, &v, sizeof(float) * (n - j));
  }
  return hsum(sum);
}

GERM_INLINE float row_max_body(const float* x, int64_t n) {
  Vec8 m = Vec8{} - std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    Vec8 v;
    std::memcpy(&v, x + j, sizeof v);
    m = v > m ? v : m;
  }
  float r = m[0];
  for (int i = 1; i < 8; ++i) r = m[i] > r ? m[i] : r;
  for (; j < n; ++j) r = x[j] > r ? x[j] : r;
  return r;
}

// ---- the two builds ----------------------------------------------------------------

#define GERM_ATTN_SIMD_VARIANT(suffix, attr)                                                     \
  attr void gemm_##suffix(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,          \
                          const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) { \
    gemm_body(m, n, k, a, lda, b, ldb, c, ldc, accumulate);                                      \
  }                                                                                              \
  attr float row_max_##suffix(const float* x, int64_t n) { return row_max_body(x, n); }          \
  attr float exp2_sub_sum_##suffix(float* x, int64_t n, float base) {                            \
    return exp2_sub_sum_body(x, n, base);                                                        \
  }

GERM_ATTN_SIMD_VARIANT(avx2_fma, __attribute__((target("avx2,fma"))))
GERM_ATTN_SIMD_VARIANT(generic, )

#undef GERM_ATTN_SIMD_VARIANT

constexpr AttentionSimd kAvx2Fma{gemm_avx2_fma, row_max_avx2_fma, exp2_sub_sum_avx2_fma, "avx2+fma"};
constexpr AttentionSimd kGeneric{gemm_generic, row_max_generic, exp2_sub_sum_generic, "generic"};

}  // namespace

const AttentionSimd& attention_simd() {
  static const AttentionSimd& table =
      std::strcmp(gemm_microkernel_name(), "avx2+fma") == 0 ? kAvx2Fma : kGeneric;
  return table;
}

}  // namespace germ::cpu
