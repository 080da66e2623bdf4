// CPU attention backward: scores recomputed tile by tile from the saved lse.
//
// Per score (query i, key j), natural-log units:
//   p   = exp(s - lse)                      (0 for a row with no key)
//   dp~ = dO_i . v_j * keep / (1 - p_drop)  (gradient of what multiplies v_j)
//   dp  = dp~, or for clipped (zeta - gamma) dp~ where (zeta-gamma) p + gamma
//         lies inside (0, 1) and 0 where the clip is active
//   D_i = sum_j p dp  = dO_i . O_i for softmax / softmax1 (O already carries
//         the dropout mask and the 1 / (1 - p_drop)); for clipped it is
//         summed explicitly in a sweep over the keys
//   ds  = p (dp - D_i)
//   dQ = scale dS K,  dK = scale dS^T Q,  dV = used^T dO  (used: what the
//   forward multiplied V by: p or the clipped p, times keep / (1 - p_drop))
//
// Two passes, each race-free without locks or atomics:
//   1. per (batch, head, query block): D_i, then dQ over all key blocks.
//   2. per (batch, head, key block): dK and dV over all query blocks, reading
//      the D_i of pass 1 from a [heads, total_q] scratch.
// That recomputes S and dP once more than a single pass with shared dK / dV
// accumulators would (7 tile GEMMs per score tile instead of 5), in exchange
// for parallelism over blocks rather than over (batch, head) only and no
// per-thread copies of dK / dV.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "attention.h"
#include "attention_tiles.h"
#include "thread_pool.h"

namespace germ::cpu {
namespace {

using namespace attn;
using kernels::AttentionGradParams;
using kernels::AttnNormalizer;

constexpr float kInf = std::numeric_limits<float>::infinity();

struct BwdScratch {
  explicit BwdScratch(int64_t dp)
      : q(kBlockQ * dp), dout(kBlockQ * dp), o(kBlockQ * dp), kt(dp * kBlockK), vt(dp * kBlockK),
        k(kBlockK * dp), s(kBlockQ * kBlockK), dp(kBlockQ * kBlockK), used(kBlockQ * kBlockK),
        st(kBlockK * kBlockQ), acc(kBlockQ * dp), acc2(kBlockK * dp), lse2(kBlockQ), dsum(kBlockQ),
        keep(kBlockK) {}
  std::vector<float> q, dout, o, kt, vt, k, s, dp, used, st, acc, acc2, lse2, dsum;
  std::vector<uint8_t> keep;
};

struct BwdContext : TileContext {
  const AttentionGradParams& g;
  float* dsum;  // [heads, total_q]: D_i from pass 1
};

// q and dO tiles of rows m0 .. m0 + rows - 1, and each row's lse in log2 units
// (+inf for a row with no key, so that exp2(s - lse2) is 0, never NaN).
void load_query_side(const BwdContext& c, const SeqView& sv, int64_t m0, int64_t rows, BwdScratch& w) {
  const AttentionParams& p = c.p;
  const int64_t col0 = sv.head * c.d;
  load_tile(p.dtype, p.q, p.q_row_stride, sv.q0 + m0, rows, col0, c.d, w.q.data(), c.dp, rows);
  load_tile(p.dtype, c.g.dout, c.g.dout_row_stride, sv.q0 + m0, rows, col0, c.d, w.dout.data(), c.dp, rows);
  const float* lse = p.lse + sv.head * p.total_q + sv.q0 + m0;
  for (int64_t i = 0; i < rows; ++i) {
    // A softmax row without keys has lse -inf; a softmax1 one has lse 0 but
    // every score is -inf, so it gives p = 0 by itself.
    w.lse2[i] = lse[i] == -kInf ? kInf : lse[i] * kLog2e;
  }
}

// k^T and v^T tiles of keys n0 .. n0 + cols - 1 (for S and dP).
void load_key_side_t(const BwdContext& c, const SeqView& sv, int64_t n0, int64_t cols, BwdScratch& w) {
  const AttentionParams& p = c.p;
  const int64_t col0 = sv.head * c.d;
  load_tile_t(p.dtype, p.k, p.k_row_stride, sv.k0 + n0, cols, col0, c.d, w.kt.data(), kBlockK);
  load_tile_t(p.dtype, p.v, p.v_row_stride, sv.k0 + n0, cols, col0, c.d, w.vt.data(), kBlockK);
}

// For the tile (rows from m0, keys from n0): w.s = p, w.dp = dp (dropout and
// clip applied, 0 for masked keys), w.used = what multiplied V (if want_used).
void probs_and_dp(const BwdContext& c, const SeqView& sv, int64_t m0, int64_t rows, int64_t n0, int64_t cols,
                  bool want_used, BwdScratch& w) {
  const AttentionParams& p = c.p;
  const bool clipped = p.normalizer == AttnNormalizer::Clipped, dropout = p.dropout_p > 0.0f;
  const float zg = p.clip_zeta - p.clip_gamma, gamma = p.clip_gamma;
  score_tile(c.simd, sv, c.scale2, w.q.data(), c.dp, m0, rows, w.kt.data(), n0, cols, c.d, w.s.data());
  c.simd.gemm(rows, kBlockK, c.d, w.dout.data(), c.dp, w.vt.data(), kBlockK, w.dp.data(), kBlockK, false);
  for (int64_t i = 0; i < rows; ++i) {
    float* pi = w.s.data() + i * kBlockK;
    float* dpi = w.dp.data() + i * kBlockK;
    float* ui = w.used.data() + i * kBlockK;
    const int64_t vis = visible_cols(sv, m0 + i, n0, cols);
    c.simd.exp2_sub_sum(pi, kBlockK, w.lse2[i]);
    if (dropout) dropout_row(p, sv, m0 + i, n0, vis, c.drop_threshold, w.keep.data());
    for (int64_t j = 0; j < vis; ++j) {
      const float kf = dropout ? (w.keep[j] ? c.drop_scale : 0.0f) : 1.0f;
      float u = pi[j], g = dpi[j] * kf;
      if (clipped) {
        const float z = zg * pi[j] + gamma;
        u = std::clamp(z, 0.0f, 1.0f);
        g = z > 0.0f && z < 1.0f ? g * zg : 0.0f;
      }
      dpi[j] = g;
      if (want_used) ui[j] = u * kf;
    }
    std::fill(dpi + vis, dpi + kBlockK, 0.0f);
    if (want_used) std::fill(ui + vis, ui + kBlockK, 0.0f);
  }
}

// w.s = p (dp - D_i) in place.
void form_ds(int64_t rows, const float* dsum, BwdScratch& w) {
  for (int64_t i = 0; i < rows; ++i) {
    float* pi = w.s.data() + i * kBlockK;
    const float* dpi = w.dp.data() + i * kBlockK;
    const float di = dsum[i];
    for (int64_t j = 0; j < kBlockK; ++j) pi[j] *= dpi[j] - di;
  }
}

// ---- pass 1: D_i and dQ --------------------------------------------------------

void dq_task(const BwdContext& c, const SeqView& sv, int64_t m0, BwdScratch& w) {
  const AttentionParams& p = c.p;
  const int64_t rows = std::min(kBlockQ, sv.len_q - m0), col0 = sv.head * c.d;
  load_query_side(c, sv, m0, rows, w);
  const int64_t key_end = sv.visible_end(m0 + rows - 1);

  if (p.normalizer == AttnNormalizer::Clipped) {
    // D' = sum_j p dp: the clip breaks dO . O = sum p dp, so sweep the keys.
    std::fill(w.dsum.begin(), w.dsum.begin() + rows, 0.0f);
    for (int64_t n0 = 0; n0 < key_end; n0 += kBlockK) {
      const int64_t cols = std::min(kBlockK, key_end - n0);
      load_key_side_t(c, sv, n0, cols, w);
      probs_and_dp(c, sv, m0, rows, n0, cols, false, w);
      for (int64_t i = 0; i < rows; ++i) {
        const float* pi = w.s.data() + i * kBlockK;
        const float* dpi = w.dp.data() + i * kBlockK;
        float acc = 0.0f;
        for (int64_t j = 0; j < kBlockK; ++j) acc += pi[j] * dpi[j];
        w.dsum[i] += acc;
      }
    }
  } else {
    load_tile(p.dtype, p.o, p.o_row_stride, sv.q0 + m0, rows, col0, c.d, w.o.data(), c.dp, rows);
    for (int64_t i = 0; i < rows; ++i) {
      const float* oi = w.o.data() + i * c.dp;
      const float* gi = w.dout.data() + i * c.dp;
      float acc = 0.0f;
      for (int64_t e = 0; e < c.d; ++e) acc += oi[e] * gi[e];
      w.dsum[i] = acc;
    }
  }
  std::copy(w.dsum.begin(), w.dsum.begin() + rows, c.dsum + sv.head * p.total_q + sv.q0 + m0);

  std::fill(w.acc.begin(), w.acc.begin() + rows * c.dp, 0.0f);
  for (int64_t n0 = 0; n0 < key_end; n0 += kBlockK) {
    const int64_t cols = std::min(kBlockK, key_end - n0);
    load_key_side_t(c, sv, n0, cols, w);
    load_tile(p.dtype, p.k, p.k_row_stride, sv.k0 + n0, cols, col0, c.d, w.k.data(), c.dp, cols);
    probs_and_dp(c, sv, m0, rows, n0, cols, false, w);
    form_ds(rows, w.dsum.data(), w);
    c.simd.gemm(rows, c.dp, cols, w.s.data(), kBlockK, w.k.data(), c.dp, w.acc.data(), c.dp, true);
  }
  store_tile(p.dtype, w.acc.data(), c.dp, p.scale, c.g.dq, c.g.dq_row_stride, sv.q0 + m0, rows, col0, c.d);
}

// ---- pass 2: dK and dV ------------------------------------------------------------

// dst[j * kBlockQ + i] = src[i * kBlockK + j] for i < rows, j < cols.
void transpose_tile(const float* src, int64_t rows, int64_t cols, float* dst) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) dst[j * kBlockQ + i] = src[i * kBlockK + j];
}

void dkv_task(const BwdContext& c, const SeqView& sv, int64_t n0, BwdScratch& w) {
  const AttentionParams& p = c.p;
  const int64_t cols = std::min(kBlockK, sv.len_k - n0), col0 = sv.head * c.d;
  load_key_side_t(c, sv, n0, cols, w);
  float* dk = w.k.data();  // [kBlockK][dp] accumulator (this pass needs no k row tile)
  float* dv = w.acc2.data();
  std::fill(dk, dk + kBlockK * c.dp, 0.0f);
  std::fill(dv, dv + kBlockK * c.dp, 0.0f);
  // Visible keys are a prefix of each row, so queries before the first that
  // sees key n0 see none of this block.
  for (int64_t m0 = sv.first_query(n0); m0 < sv.len_q; m0 += kBlockQ) {
    const int64_t rows = std::min(kBlockQ, sv.len_q - m0);
    load_query_side(c, sv, m0, rows, w);
    const float* dsum = c.dsum + sv.head * p.total_q + sv.q0 + m0;
    probs_and_dp(c, sv, m0, rows, n0, cols, true, w);
    form_ds(rows, dsum, w);
    transpose_tile(w.used.data(), rows, cols, w.st.data());
    c.simd.gemm(cols, c.dp, rows, w.st.data(), kBlockQ, w.dout.data(), c.dp, dv, c.dp, true);
    transpose_tile(w.s.data(), rows, cols, w.st.data());
    c.simd.gemm(cols, c.dp, rows, w.st.data(), kBlockQ, w.q.data(), c.dp, dk, c.dp, true);
  }
  store_tile(p.dtype, dk, c.dp, p.scale, c.g.dk, c.g.dk_row_stride, sv.k0 + n0, cols, col0, c.d);
  store_tile(p.dtype, dv, c.dp, 1.0f, c.g.dv, c.g.dv_row_stride, sv.k0 + n0, cols, col0, c.d);
}

}  // namespace

void attention_backward(const kernels::AttentionGradParams& g) {
  const AttentionParams& p = g.fwd;
  if (!kernels::is_float(p.dtype)) throw std::invalid_argument("germ cpu attention: q, k, v must be f32, f16 or bf16");
  if (p.batch <= 0 || p.heads <= 0 || p.head_dim < 0) return;

  std::vector<float> dsum(static_cast<size_t>(int64_t(p.heads) * p.total_q));
  const BwdContext c{tile_context(p), g, dsum.data()};

  for_each_block<BwdScratch>(p, block_items(p, true, kBlockQ), c.dp,
                             [&](const SeqView& sv, int64_t start, BwdScratch& w) { dq_task(c, sv, start, w); });
  for_each_block<BwdScratch>(p, block_items(p, false, kBlockK), c.dp,
                             [&](const SeqView& sv, int64_t start, BwdScratch& w) { dkv_task(c, sv, start, w); });
}

}  // namespace germ::cpu
