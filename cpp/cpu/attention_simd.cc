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

// One vector type per build, each the machine's native width: 8 lanes (ymm) for
// AVX2, 4 (xmm) for the baseline. A 32-byte GCC vector in the baseline build is
// lowered through the stack (every broadcast and accumulator round-trips
// memory): the attention forward measured 2 GFLOP/s that way, 25 with the
// 4-lane type (AVX2: ~60).
typedef float F8 __attribute__((vector_size(32)));
typedef int32_t I8 __attribute__((vector_size(32)));
typedef float F4 __attribute__((vector_size(16)));
typedef int32_t I4 __attribute__((vector_size(16)));

template <class F, class I, int Lanes, int MR>
struct Isa {
  using Float = F;
  using Int = I;
  static constexpr int kLanes = Lanes;
  static constexpr int kMR = MR;  // GEMM rows in registers
};
// 6 rows x 16 columns = 12 ymm accumulators + 2 B + 1 broadcast of the 16 ymm
// (the GEMM micro-kernel's shape). Baseline: 16 columns are 4 xmm per row and
// B takes 4 more, so 2 rows (8 + 4 + 1 of the 16 xmm) is what fits.
using IsaAvx2 = Isa<F8, I8, 8, 6>;
using IsaBaseline = Isa<F4, I4, 4, 2>;

#define GERM_INLINE inline __attribute__((always_inline))

// Vectors are moved with memcpy and never passed to or returned from functions
// by value (see gemm_microkernel.cc): helpers take references, so no vector
// crosses an ABI boundary of the baseline build.

// ---- tile GEMM ----------------------------------------------------------------
//
// MR rows x 16 columns of C in registers, one rank-1 update per k: broadcast
// A[i][p], FMA with the B row segment. A is read in place (row stride lda):
// the tiles are small and L1-resident, so packing would cost more than the
// strided broadcasts it saves.
template <class S, int MR>
GERM_INLINE void gemm_rows(int64_t n, int64_t k, const float* __restrict a, int64_t lda,
                           const float* __restrict b, int64_t ldb, float* __restrict c, int64_t ldc,
                           bool accumulate) {
  using V = typename S::Float;
  constexpr int L = S::kLanes, NV = kAttnPanel / L;
  for (int64_t j0 = 0; j0 < n; j0 += kAttnPanel) {
    V acc[MR][NV];
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = V{};
    const float* bp = b + j0;
#pragma GCC unroll 4
    for (int64_t p = 0; p < k; ++p) {
      V bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) std::memcpy(&bv[v], bp + p * ldb + v * L, sizeof(V));
#pragma GCC unroll 6
      for (int i = 0; i < MR; ++i) {
        const float av = a[i * lda + p];  // scalar * vector: vbroadcastss / shufps
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] += av * bv[v];
      }
    }
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      float* row = c + i * ldc + j0;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        if (accumulate) {
          V cv;
          std::memcpy(&cv, row + v * L, sizeof(V));
          acc[i][v] += cv;
        }
        std::memcpy(row + v * L, &acc[i][v], sizeof(V));
      }
    }
  }
}

template <class S>
GERM_INLINE void gemm_body(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                           const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  constexpr int MR = S::kMR;
  static_assert(MR >= 2 && MR <= 6, "remainder cases below cover 1 .. 5 rows");
  int64_t i = 0;
  for (; i + MR <= m; i += MR) gemm_rows<S, MR>(n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate);
  const float* ar = a + i * lda;
  float* cr = c + i * ldc;
  switch (m - i) {
    case 5: gemm_rows<S, 5>(n, k, ar, lda, b, ldb, cr, ldc, accumulate); break;
    case 4: gemm_rows<S, 4>(n, k, ar, lda, b, ldb, cr, ldc, accumulate); break;
    case 3: gemm_rows<S, 3>(n, k, ar, lda, b, ldb, cr, ldc, accumulate); break;
    case 2: gemm_rows<S, 2>(n, k, ar, lda, b, ldb, cr, ldc, accumulate); break;
    case 1: gemm_rows<S, 1>(n, k, ar, lda, b, ldb, cr, ldc, accumulate); break;
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
template <class S>
GERM_INLINE void exp2_inplace(typename S::Float& x) {
  using V = typename S::Float;
  using VI = typename S::Int;
  x = x < -127.0f ? V{} - 127.0f : x;
  x = x > 127.0f ? V{} + 127.0f : x;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const V n = (x + magic) - magic;
  const V f = x - n;
  V poly = f * 1.525273380405984e-05f + 1.5403530393381606e-04f;
  poly = poly * f + 1.3333558146428443e-03f;
  poly = poly * f + 9.618129107628477e-03f;
  poly = poly * f + 5.550410866482158e-02f;
  poly = poly * f + 2.402265069591007e-01f;
  poly = poly * f + 6.931471805599453e-01f;
  poly = poly * f + 1.0f;
  const VI bits = (__builtin_convertvector(n, VI) + 127) << 23;
  V two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  x = poly * two_n;
}

template <class S>
GERM_INLINE float exp2_sub_sum_body(float* x, int64_t n, float base) {
  using V = typename S::Float;
  constexpr int L = S::kLanes;
  V sum = V{};
  int64_t j = 0;
  for (; j + L <= n; j += L) {
    V v;
    std::memcpy(&v, x + j, sizeof v);
    v -= base;
    exp2_inplace<S>(v);
    sum += v;
    std::memcpy(x + j, &v, sizeof v);
  }
  if (j < n) {  // tail through the same polynomial, padded with -inf (-> 0)
    V v = V{} - std::numeric_limits<float>::infinity();
    std::memcpy(&v, x + j, sizeof(float) * (n - j));
    v -= base;
    exp2_inplace<S>(v);
    sum += v;
    std::memcpy(x + j, &v, sizeof(float) * (n - j));
  }
  float total = 0.0f;
  for (int i = 0; i < L; ++i) total += sum[i];
  return total;
}

template <class S>
GERM_INLINE float row_max_body(const float* x, int64_t n) {
  using V = typename S::Float;
  constexpr int L = S::kLanes;
  V m = V{} - std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + L <= n; j += L) {
    V v;
    std::memcpy(&v, x + j, sizeof v);
    m = v > m ? v : m;
  }
  float r = m[0];
  for (int i = 1; i < L; ++i) r = m[i] > r ? m[i] : r;
  for (; j < n; ++j) r = x[j] > r ? x[j] : r;
  return r;
}

// ---- the two builds ----------------------------------------------------------------

#define GERM_ATTN_SIMD_VARIANT(suffix, attr, isa)                                                \
  attr void gemm_##suffix(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,          \
                          const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) { \
    gemm_body<isa>(m, n, k, a, lda, b, ldb, c, ldc, accumulate);                                 \
  }                                                                                              \
  attr float row_max_##suffix(const float* x, int64_t n) { return row_max_body<isa>(x, n); }     \
  attr float exp2_sub_sum_##suffix(float* x, int64_t n, float base) {                            \
    return exp2_sub_sum_body<isa>(x, n, base);                                                   \
  }

GERM_ATTN_SIMD_VARIANT(avx2_fma, __attribute__((target("avx2,fma"))), IsaAvx2)
GERM_ATTN_SIMD_VARIANT(generic, , IsaBaseline)

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
