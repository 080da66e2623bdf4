// What the GEMM kernels share: the device-side parameter block, the tile raster
// and the epilogue (alpha * acc + beta * C + bias, one rounding into C's dtype).
#pragma once
#include <cstdint>
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

// One output element. beta == 0 never reads C (it may hold NaN); the bias is
// added after alpha, as nn.Linear does.
template <typename T>
__device__ __forceinline__ void store_output(const GemmParams& p, T* c, const T* bias, int64_t row, int64_t col,
                                             float acc) {
  float v = p.alpha * acc;
  T* dst = c + row * p.ldc + col;
  if (p.beta != 0.0f) v += p.beta * to_f32(*dst);
  if (bias != nullptr) v += to_f32(bias[col]);
  *dst = from_f32<T>(v);
}

}  // namespace germ::kernels::gemm_detail
