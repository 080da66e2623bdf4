// The 6 x 16 f32 GEMM micro-kernel, built twice from one source: once for
// AVX2+FMA and once for baseline x86-64, picked at run time (gemm_microkernel).
//
// Prebuilt binaries cannot use -march=native, so the AVX2 build is a function
// with __attribute__((target("avx2,fma"))) into which the shared body is
// inlined; the compiler then emits ymm FMAs for the GCC vector-extension code
// below. (target_clones("avx2,fma", ...) would make separate "avx2" and "fma"
// clones rather than one with both, hence the explicit pair and dispatcher.)
#include "gemm_microkernel.h"

#include <cstdlib>
#include <cstring>

namespace germ::cpu {
namespace {

// 8 floats: one ymm register in the AVX2 build; 4: one xmm register.
typedef float Vec8 __attribute__((vector_size(32)));
typedef float Vec4 __attribute__((vector_size(16)));

// Vectors are moved with memcpy (one unaligned vmovups each) and never passed
// to or returned from functions, so no vector crosses an ABI boundary.

// A 6 x (2 * lanes of V) strip of the micro-tile: columns [0, 2 * lanes) of b's
// kNR-wide rows and of c. Rank-1 update per p: broadcast one A value per row,
// FMA into both vectors of the row.
template <typename V>
inline __attribute__((always_inline)) void microkernel_strip(int64_t kc, const float* __restrict a,
                                                             const float* __restrict b,
                                                             float* __restrict c, int64_t ldc,
                                                             bool accumulate) {
  constexpr int kLanes = sizeof(V) / sizeof(float);
  V acc[kMR][2] = {};
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    V b0, b1;
    std::memcpy(&b0, b + p * kNR, sizeof b0);
    std::memcpy(&b1, b + p * kNR + kLanes, sizeof b1);
    const float* ap = a + p * kMR;
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      acc[i][0] += ap[i] * b0;
      acc[i][1] += ap[i] * b1;
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < kMR; ++i) {
    float* row = c + i * ldc;
    if (accumulate) {
      V c0, c1;
      std::memcpy(&c0, row, sizeof c0);
      std::memcpy(&c1, row + kLanes, sizeof c1);
      acc[i][0] += c0;
      acc[i][1] += c1;
    }
    std::memcpy(row, &acc[i][0], sizeof acc[i][0]);
    std::memcpy(row + kLanes, &acc[i][1], sizeof acc[i][1]);
  }
}

static_assert(kNR == 16, "a C row of the micro-tile is two Vec8, or two strips of two Vec4");

// AVX2: the whole 6 x 16 tile in 12 ymm accumulators.
__attribute__((target("avx2,fma"))) void microkernel_avx2_fma(int64_t kc, const float* a,
                                                             const float* b, float* c,
                                                             int64_t ldc, bool accumulate) {
  microkernel_strip<Vec8>(kc, a, b, c, ldc, accumulate);
}

// Baseline x86-64 has 16 xmm registers: the 6 x 16 tile (24 xmm of
// accumulators) would spill on every update, so this build covers it as two
// 6 x 8 halves, 12 accumulators and 2 B vectors each, re-reading the A panel
// (from L1) for the second half.
void microkernel_generic(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  for (int half = 0; half < 2; ++half) microkernel_strip<Vec4>(kc, a, b + half * 8, c + half * 8, ldc, accumulate);
}

bool use_avx2_fma() {
  const char* isa = std::getenv("GERM_CPU_ISA");
  if (isa && std::strcmp(isa, "generic") == 0) return false;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

}  // namespace

MicroKernel gemm_microkernel() {
  static const MicroKernel kernel = use_avx2_fma() ? microkernel_avx2_fma : microkernel_generic;
  return kernel;
}

const char* gemm_microkernel_name() {
  return gemm_microkernel() == microkernel_avx2_fma ? "avx2+fma" : "generic";
}

}  // namespace germ::cpu
