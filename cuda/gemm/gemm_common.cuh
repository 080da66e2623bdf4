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
__device__ __forceinline__ float output_value_of(const GemmParams& p, float acc, float c_old, bool has_bias,
                                                 float bias) {
  float v = p.alpha * acc;
  if (p.beta != 0.0f) v += p.beta * c_old;
  if (has_bias) v += bias;
  return v;
}
template <typename T>
__device__ __forceinline__ float output_value(const GemmParams& p, float acc, T c_old, const T* bias, int64_t col) {
  return output_value_of(p, acc, to_f32(c_old), bias != nullptr, bias != nullptr ? to_f32(bias[col]) : 0.f);
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
  T* dst = c + row * p.ldc + col;
  T pair[2] = {T{}, T{}};
  if (p.beta != 0.0f) load_pair(dst, pair);
  store_pair(dst, true, from_f32<T>(output_value(p, v0, pair[0], bias, col)),
             from_f32<T>(output_value(p, v1, pair[1], bias, col + 1)));
}

// A thread's share of an m64 block of a wgmma GEMM (sm90a_gemm_loop.cuh's
// BlockStore layout: rows row, row + 8; columns col0 + 8j, + 1; acc[4j ..
// 4j + 3]) through output_value_of. The bias and, for beta != 0, the old C of
// kGroup chunks are loaded before any of their stores: a load that follows a
// store through a pointer that may alias it waits for that store, which made
// the pair-at-a-time path wait out a memory round trip per pair whenever it
// read bias or C. `aligned`: C's rows keep pairs 2 * sizeof(T)-aligned.
template <typename T, int kGroup, int kAccum>
__device__ __forceinline__ void store_output_block(const GemmParams& p, T* c, const T* bias, bool aligned,
                                                   int64_t row, int64_t col0, const float (&acc)[kAccum]) {
  constexpr int kChunks = kAccum / 4;
  static_assert(kChunks % kGroup == 0, "whole groups of 8-column chunks");
  const bool read_c = p.beta != 0.0f, has_bias = bias != nullptr;
  const int64_t rows[2] = {row, row + 8};
#pragma unroll
  for (int g = 0; g < kChunks; g += kGroup) {
    float old[kGroup][2][2], bv[kGroup][2];  // [chunk][row][column of the pair]
#pragma unroll
    for (int j = 0; j < kGroup; ++j) {
      const int64_t col = col0 + 8 * (g + j);
#pragma unroll
      for (int h = 0; h < 2; ++h) bv[j][h] = has_bias && col + h < p.n ? to_f32(bias[col + h]) : 0.f;
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        old[j][r][0] = old[j][r][1] = 0.f;
        if (!read_c || rows[r] >= p.m || col >= p.n) continue;
        const T* src = c + rows[r] * p.ldc + col;
        if (aligned && col + 1 < p.n) {
          T pair[2];
          load_pair(src, pair);
          old[j][r][0] = to_f32(pair[0]);
          old[j][r][1] = to_f32(pair[1]);
        } else {
          old[j][r][0] = to_f32(src[0]);
          if (col + 1 < p.n) old[j][r][1] = to_f32(src[1]);
        }
      }
    }
#pragma unroll
    for (int j = 0; j < kGroup; ++j) {
      const int64_t col = col0 + 8 * (g + j);
      if (col >= p.n) continue;
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        if (rows[r] >= p.m) continue;
        const int i = 4 * (g + j) + 2 * r;
        T* dst = c + rows[r] * p.ldc + col;
        const T o0 = from_f32<T>(output_value_of(p, acc[i], old[j][r][0], has_bias, bv[j][0]));
        if (col + 1 >= p.n) { dst[0] = o0; continue; }
        store_pair(dst, aligned, o0, from_f32<T>(output_value_of(p, acc[i + 1], old[j][r][1], has_bias, bv[j][1])));
      }
    }
  }
}

// The old C of a warp's rows row0 .. row0 + 15, columns col0 .. col0 + BN - 1
// into L2 (beta != 0 only; BlockStore's prefetch, lane-parallel): with a short
// K the epilogue's reads of C are most of a tile's time, and from HBM each
// group of them waits ~1 us (the rank-r update y += s t B^T, K = r, ran at
// 0.5 TB/s). One prefetch per 128-byte line of each row, and one at the row's
// last column for a row that does not start on a line.
template <typename T, int BN>
__device__ __forceinline__ void prefetch_c_rows(const GemmParams& p, const T* c, int64_t row0, int64_t col0) {
  if (p.beta == 0.0f) return;
  constexpr int kStep = 128 / sizeof(T), kPoints = BN / kStep + 1;
  const int lane = threadIdx.x % 32;
  for (int i = lane; i < 16 * kPoints; i += 32) {
    const int64_t row = row0 + i / kPoints;
    const int64_t col = col0 + min((i % kPoints) * kStep, BN - 1);
    if (row < p.m && col < p.n) asm volatile("prefetch.global.L2 [%0];\n" ::"l"(c + row * p.ldc + col));
  }
}

}  // namespace germ::kernels::gemm_detail
