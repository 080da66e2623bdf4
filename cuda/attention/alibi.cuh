// ALiBi (contract/attention_params.h): bias_ij = -slope * |pos_i - pos_j|
// (symmetric, encoders) or -slope * (pos_i - pos_j) (causal), where
// pos_i - pos_j = i + diag - j. The fused kernels take the slope in log2 units
// (SeqInfo::alibi2) and hold distances as floats per row: an int->float per
// element would share the MUFU pipe with exp2.
#pragma once
#include "attention_common.cuh"

namespace germ::kernels::attn_detail {

// What the bias subtracts from a score at distance pos_i - pos_j.
__device__ __forceinline__ float alibi_penalty(float slope, float dist, bool symmetric) {
  return slope * (symmetric ? fabsf(dist) : dist);
}
__device__ __forceinline__ float alibi_penalty(float slope, int dist, bool symmetric) {
  return slope * static_cast<float>(symmetric ? abs(dist) : dist);
}

// Scale and ALiBi of a warp's forward S tile (queries x keys, M m16 by N n8
// fragments), in the folded form of online_softmax.cuh: the logit of element
// (i, j, 2rh + c) becomes s * ks - rowoff[i][rh]; returns ks (1 here). dbase is
// the distance of the warp's first row to the block's first key, so that
// element's distance is fb - (8j + c) with fb = dbase + 16i + g + 8rh - 2t.
//  * Where the tile lies on one side of the diagonal (or the bias is causal,
//    one-sided), bias = sa * dist is linear (sa = +-alibi2): s' = fma(s,
//    scale2, sa * (8j + c)), one FMA per element with every per-column factor
//    small and exact, and rowoff = sa * fb.
//  * A tile that crosses the diagonal of symmetric ALiBi takes |dist| per
//    element (rowoff = 0).
template <int M, int N>
__device__ __forceinline__ float alibi_fold_tile(float (&s)[M][N][4], float (&rowoff)[M][2], float scale2,
                                                 float alibi2, bool symmetric, int dbase, int g, int t) {
  constexpr int kBlockN = N * 8;
  const bool below = dbase - (kBlockN - 1) >= 0, above = dbase + M * 16 - 1 <= 0;
  if (!symmetric || below || above) {
    const float sa = (symmetric && above) ? -alibi2 : alibi2;
#pragma unroll
    for (int i = 0; i < M; ++i)
#pragma unroll
      for (int rh = 0; rh < 2; ++rh) rowoff[i][rh] = sa * static_cast<float>(dbase + i * 16 + g + rh * 8 - 2 * t);
#pragma unroll
    for (int j = 0; j < N; ++j)
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        const float a = sa * static_cast<float>(j * 8 + c);
#pragma unroll
        for (int i = 0; i < M; ++i)
#pragma unroll
          for (int rh = 0; rh < 2; ++rh) s[i][j][2 * rh + c] = fmaf(s[i][j][2 * rh + c], scale2, a);
      }
  } else {
#pragma unroll
    for (int i = 0; i < M; ++i)
#pragma unroll
      for (int rh = 0; rh < 2; ++rh) {
        rowoff[i][rh] = 0.0f;
        const float fb = static_cast<float>(dbase + i * 16 + g + rh * 8 - 2 * t);
#pragma unroll
        for (int j = 0; j < N; ++j)
#pragma unroll
          for (int c = 0; c < 2; ++c) {
            const float dist = fb - static_cast<float>(j * 8 + c);
            s[i][j][2 * rh + c] = fmaf(s[i][j][2 * rh + c], scale2, -alibi2 * fabsf(dist));
          }
      }
  }
  return 1.0f;
}

}  // namespace germ::kernels::attn_detail
