// What the GEMM kernels share: the device-side parameter block, the tile raster
// and the epilogue (alpha * acc + beta * C + bias, one rounding into C's dtype).
#pragma once
#include <cstdint>
#include <type_traits>
#include "../common/dtype_io.cuh"

namespace germ::kernels::gemm_detail {

struct GemmParams {
  int64_t m, n, k, batch;
  const void* a; int64_t lda, stride_a;
  const void* b; int64_t ldb, stride_b;
  void* c; int64_t ldc, stride_c;
  const void* bias;
  float alpha, beta;
  bool trans_a, trans_b;  // read by the SIMT kernel; the tensor-core kernel takes them as template flags
};

// Block -> output tile. Tiles are visited in groups of kGroupM tile-rows,
// column by column inside a group, so the blocks resident at one time share A
// rows and B columns in L2 (the usual "grouped" raster).
__device__ __forceinline__ void tile_coords(int64_t tile, int64_t tiles_m, int64_t tiles_n, int64_t* tm,
                                            int64_t* tn) {
  constexpr int64_t kGroupM = 8;
  const int64_t width = kGroupM * tiles_n;
  const int64_t group = tile / width;
  const int64_t first_m = group * kGroupM;
  const int64_t rows = min(tiles_m - first_m, kGroupM);
  const int64_t in_group = tile - group * width;
  *tm = first_m + in_group % rows;
  *tn = in_group / rows;
}

// The f32 value of one output: alpha * acc (+ beta * C) (+ bias[col]), the
// bias after alpha as nn.Linear adds it. Every store path below goes through
// this one expression, so a pair written at once rounds exactly as two
// elements written apart.
template <typename T>
__device__ __forceinline__ float output_value(const GemmParams& p, float acc, T c_old, const T* bias, int64_t col) {
  float v = p.alpha * acc;
  if (p.beta != 0.0f) v += p.beta * to_f32(c_old);
  if (bias != nullptr) v += to_f32(bias[col]);
  return v;
}

// One output element. beta == 0 never reads C (it may hold NaN).
template <typename T>
__device__ __forceinline__ void store_output(const GemmParams& p, T* c, const T* bias, int64_t row, int64_t col,
                                             float acc) {
  T* dst = c + row * p.ldc + col;
  *dst = from_f32<T>(output_value(p, acc, p.beta != 0.0f ? *dst : T{}, bias, col));
}

// Whether the pair at dst can move as one 2 * sizeof(T)-byte access.
template <typename T>
__device__ __forceinline__ bool pair_aligned(const T* dst) {
  return reinterpret_cast<uintptr_t>(dst) % (2 * sizeof(T)) == 0;
}

// Two adjacent outputs (row, col) and (row, col + 1), col even. When both
// exist and `aligned` (pair_aligned of the pair's address), C is read (beta
// != 0) and written as one access; else element by element.
template <typename T>
__device__ __forceinline__ void store_output_pair(const GemmParams& p, T* c, const T* bias, bool aligned,
                                                  int64_t row, int64_t col, float v0, float v1) {
  if (row >= p.m || col >= p.n) return;
  if (!aligned || col + 1 >= p.n) {
    store_output(p, c, bias, row, col, v0);
    if (col + 1 < p.n) store_output(p, c, bias, row, col + 1, v1);
    return;
  }
  using Bits = std::conditional_t<sizeof(T) == 2, uint32_t, uint2>;
  T* dst = c + row * p.ldc + col;
  T pair[2] = {T{}, T{}};
  if (p.beta != 0.0f) {
    const Bits old = *reinterpret_cast<const Bits*>(dst);
    memcpy(pair, &old, sizeof(Bits));
  }
  pair[0] = from_f32<T>(output_value(p, v0, pair[0], bias, col));
  pair[1] = from_f32<T>(output_value(p, v1, pair[1], bias, col + 1));
  Bits bits;
  memcpy(&bits, pair, sizeof(Bits));
  *reinterpret_cast<Bits*>(dst) = bits;
}

}  // namespace germ::kernels::gemm_detail
