// What the GEMM kernels share: the device-side parameter block, the tile raster
// and the epilogue (alpha * acc + beta * C + bias, one rounding into C's dtype).
#pragma once
#include <cstdint>
#include <cstring>
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
// elements written apart, and an epilogue that loaded C and the bias ahead
// (PairInputs) rounds as one that loads them as it goes.
__device__ __forceinline__ float output_value(const GemmParams& p, float acc, float c_old, bool has_bias,
                                              float bias_v) {
  float v = p.alpha * acc;
  if (p.beta != 0.0f) v += p.beta * c_old;
  if (has_bias) v += bias_v;
  return v;
}

// One output element. beta == 0 never reads C (it may hold NaN).
template <typename T>
__device__ __forceinline__ void store_output(const GemmParams& p, T* c, const T* bias, int64_t row, int64_t col,
                                             float acc) {
  T* dst = c + row * p.ldc + col;
  *dst = from_f32<T>(output_value(p, acc, p.beta != 0.0f ? to_f32(*dst) : 0.f, bias != nullptr,
                                  bias != nullptr ? to_f32(bias[col]) : 0.f));
}

// Whether the pair at dst can move as one 2 * sizeof(T)-byte access.
template <typename T>
__device__ __forceinline__ bool pair_aligned(const T* dst) {
  return reinterpret_cast<uintptr_t>(dst) % (2 * sizeof(T)) == 0;
}

template <typename T>
using PairBits = std::conditional_t<sizeof(T) == 2, uint32_t, uint2>;

// What the epilogue of outputs (row, col), (row, col + 1) reads besides the
// sums, as f32: C's old values (beta != 0; zeros otherwise) and the bias.
// Loading them apart from the stores lets an epilogue issue many pairs' loads
// together instead of one load-use-store chain per pair (sm90a_gemm_loop.cuh).
struct PairInputs {
  float c0 = 0.f, c1 = 0.f, b0 = 0.f, b1 = 0.f;
};

// col even, row < m, col < n; col + 1 may be n. `aligned`: pair_aligned of
// the pair's address (C's pair then moves as one access).
template <typename T>
__device__ __forceinline__ PairInputs load_pair_inputs(const GemmParams& p, const T* c, const T* bias, bool aligned,
                                                      int64_t row, int64_t col) {
  PairInputs in;
  const bool two = col + 1 < p.n;
  if (p.beta != 0.0f) {
    const T* src = c + row * p.ldc + col;
    if (aligned && two) {
      const PairBits<T> old = *reinterpret_cast<const PairBits<T>*>(src);
      T pair[2];
      memcpy(pair, &old, sizeof(old));
      in.c0 = to_f32(pair[0]);
      in.c1 = to_f32(pair[1]);
    } else {
      in.c0 = to_f32(src[0]);
      if (two) in.c1 = to_f32(src[1]);
    }
  }
  if (bias != nullptr) {
    in.b0 = to_f32(bias[col]);
    if (two) in.b1 = to_f32(bias[col + 1]);
  }
  return in;
}

// Writes outputs (row, col) and (row, col + 1) (when col + 1 < n) from their
// sums and loaded inputs: one access where `aligned`, else element by element.
template <typename T>
__device__ __forceinline__ void store_pair(const GemmParams& p, T* c, bool has_bias, bool aligned, int64_t row,
                                           int64_t col, float v0, float v1, const PairInputs& in) {
  T* dst = c + row * p.ldc + col;
  T pair[2] = {from_f32<T>(output_value(p, v0, in.c0, has_bias, in.b0)), T{}};
  if (col + 1 >= p.n) {
    dst[0] = pair[0];
    return;
  }
  pair[1] = from_f32<T>(output_value(p, v1, in.c1, has_bias, in.b1));
  if (aligned) {
    PairBits<T> bits;
    memcpy(&bits, pair, sizeof(bits));
    *reinterpret_cast<PairBits<T>*>(dst) = bits;
  } else {
    dst[0] = pair[0];
    dst[1] = pair[1];
  }
}

// Two adjacent outputs (row, col) and (row, col + 1), col even, loaded and
// stored as they come (bounds checked here).
template <typename T>
__device__ __forceinline__ void store_output_pair(const GemmParams& p, T* c, const T* bias, bool aligned,
                                                  int64_t row, int64_t col, float v0, float v1) {
  if (row >= p.m || col >= p.n) return;
  store_pair(p, c, bias != nullptr, aligned, row, col, v0, v1, load_pair_inputs(p, c, bias, aligned, row, col));
}

// The f16 / bf16 epilogue of the sm_90a GEMMs in sm90a_gemm_loop.cuh's
// prefetch protocol: prefetch() loads a pair's inputs, the call stores it.
// c is batch entry 0's C; entry b sits stride_c further.
template <typename T>
struct PairEpilogue {
  const GemmParams& p;
  T* c;
  const T* bias;
  bool aligned;
  __device__ __forceinline__ PairInputs prefetch(int64_t b, int64_t row, int64_t col) const {
    return load_pair_inputs(p, c + b * p.stride_c, bias, aligned, row, col);
  }
  __device__ __forceinline__ void operator()(int64_t b, int64_t row, int64_t col, float v0, float v1,
                                             const PairInputs& in) const {
    store_pair(p, c + b * p.stride_c, bias != nullptr, aligned, row, col, v0, v1, in);
  }
};

}  // namespace germ::kernels::gemm_detail
