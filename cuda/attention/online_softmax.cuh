// The normalisers (contract/attention_params.h): the forward's online softmax
// over a warp's score tile, the softmax1 null key, and the clipped softmax's
// scalar pieces (the naive kernels).
//
// Folded scores (FlashAttention-2): the fused forward stores element s' of the
// S tile with the row's true logit, in log2 units, s' * ks - rowoff[row], so
// the scale, a per-row offset (ALiBi, alibi.cuh) and the running max meet in
// one FMA inside exp2.
//
// Running max m and sum l per row:
//   softmax : m starts at -inf, l at 0.
//   softmax1: m starts at 0, the null key's logit, and its exp2(-m) is added
//             to l at the end, so the null key is counted exactly once.
// A row with no visible key keeps m = -inf and l = 0 (softmax: O = 0, lse =
// -inf) or m = 0 and l = 1 (softmax1: O = 0, lse = 0). The exponent base of a
// row whose running max is still -inf is taken as 0, so exp2(-inf - -inf)
// never makes a NaN.
#pragma once
#include "attention_common.cuh"

namespace germ::kernels::attn_detail {

__device__ __forceinline__ float softmax_max_init(bool softmax1) { return softmax1 ? 0.0f : -INFINITY; }

// Exponent base of a running max: 0 while the row has seen no key.
__device__ __forceinline__ float softmax_base(float m) { return m == -INFINITY ? 0.0f : m; }

// The folded form without a bias: rowoff = 0 and ks = scale2, or, for a scale
// that is not positive, the scale applied now and ks = 1 (the max of s * ks is
// ks * max(s) only for ks > 0).
template <int M, int N>
__device__ __forceinline__ float scale_fold_tile(float (&s)[M][N][4], float (&rowoff)[M][2], float scale2) {
#pragma unroll
  for (int i = 0; i < M; ++i) rowoff[i][0] = rowoff[i][1] = 0.0f;
  if (!(scale2 > 0.0f)) {
#pragma unroll
    for (int i = 0; i < M; ++i)
#pragma unroll
      for (int j = 0; j < N; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[i][j][e] *= scale2;
    return 1.0f;
  }
  return scale2;
}

// One key block of the online softmax over a warp's folded S tile (a row lives
// in the 4 threads of a quad; rowoff differs between them, so the max is
// reduced in true units). Each row's max m grows to cover the block, S becomes
// P = exp2(logit - m), alpha = exp2(m_old - m) is what the row's O must be
// multiplied by, and l = l * alpha + this thread's part of the row sum (the
// quad's parts are summed at the end). Returns whether some row of this thread
// got a new max.
template <int M, int N>
__device__ __forceinline__ bool online_softmax_block(float (&s)[M][N][4], float (&row_m)[M][2], float (&row_l)[M][2],
                                                     float (&alpha)[M][2], float ks, const float (&rowoff)[M][2]) {
  bool grew = false;
#pragma unroll
  for (int i = 0; i < M; ++i)
#pragma unroll
    for (int rh = 0; rh < 2; ++rh) {
      float mx = -INFINITY;
#pragma unroll
      for (int j = 0; j < N; ++j) mx = fmaxf(mx, fmaxf(s[i][j][2 * rh], s[i][j][2 * rh + 1]));
      mx = quad_max(fmaxf(row_m[i][rh], fmaf(mx, ks, -rowoff[i][rh])));
      const float base = softmax_base(mx);
      alpha[i][rh] = ex2_approx(row_m[i][rh] - base);  // exp2(-inf) = 0 on the first visible block
      grew |= mx != row_m[i][rh];
      row_m[i][rh] = mx;
      const float nb2 = -(base + rowoff[i][rh]);
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < N; ++j)
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const float pv = ex2_approx(fmaf(s[i][j][2 * rh + c], ks, nb2));
          s[i][j][2 * rh + c] = pv;
          sum += pv;
        }
      row_l[i][rh] = row_l[i][rh] * alpha[i][rh] + sum;
    }
  return grew;
}

// O *= alpha per row. Only when some row of the warp has a new max (alpha = 1
// exactly otherwise); the vote keeps the branch warp-uniform.
template <int M, int DF>
__device__ __forceinline__ void rescale_acc(float (&o)[M][DF][4], const float (&alpha)[M][2], bool grew) {
  if (__any_sync(0xffffffffu, grew)) {
#pragma unroll
    for (int i = 0; i < M; ++i)
#pragma unroll
      for (int dj = 0; dj < DF; ++dj)
#pragma unroll
        for (int e = 0; e < 4; ++e) o[i][dj][e] *= alpha[i][e >> 1];
  }
}

// A row's denominator from this thread's part of l: the quad's sum, plus the
// null key's exp2(-m) for softmax1 (m >= 0 there, so it is <= 1).
__device__ __forceinline__ float softmax_denominator(float l_part, float m, bool softmax1) {
  float l = quad_sum(l_part);
  if (softmax1) l += exp2f(-m);
  return l;
}

// lse (natural log) of a row from its max (log2 units) and denominator; -inf
// for a row with nothing in the denominator.
__device__ __forceinline__ float softmax_lse(float m, float l) { return l > 0.0f ? m * kLn2 + logf(l) : -INFINITY; }

// Clipped softmax (Bondarenko et al. 2023): p~ = clip(lin, 0, 1) with lin =
// (zeta - gamma) p + gamma; d p~ / d p = zeta - gamma where the clip is
// inactive, 0 where it is.
__device__ __forceinline__ float clip_unit(float lin) { return fminf(fmaxf(lin, 0.0f), 1.0f); }
__device__ __forceinline__ bool clip_inactive(float lin) { return lin > 0.0f && lin < 1.0f; }

}  // namespace germ::kernels::attn_detail
