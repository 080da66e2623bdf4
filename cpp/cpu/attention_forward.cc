// CPU attention forward: FlashAttention's tiled online softmax on f32 tiles.
//
// One task = kBlockQ query rows of one (batch, head). The q tile is converted
// to f32 once; per key block the k tile (transposed) and v tile are converted,
// S = q k^T is one tile GEMM, the running row max m and sum l are updated, the
// accumulator is rescaled by exp2(m_old - m_new) and O += P V is a second tile
// GEMM. No [len_q, len_k] buffer: memory is a few tiles per thread.
//
//   softmax : m starts at -inf, l at 0.
//   softmax1: m starts at 0 (the null key's logit) and its exp2(-m) is added
//             to l at the end, so the null key is counted exactly once.
//   clipped : the clip needs the final normaliser, so a first sweep computes
//             m and l only, and a second sweep forms clip((zeta-gamma) p +
//             gamma, 0, 1) and accumulates it times V. lse is the plain
//             softmax's.
//   dropout : P is summed into l undropped, dropped entries are zeroed
//             before P V, and 1 / (1 - p) is applied to O at the end.
//
// Rows with no visible key: O = 0 and lse = -inf (softmax, clipped) or 0
// (softmax1). Query rows past seq_q_len are not touched.
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
using kernels::AttnNormalizer;

constexpr float kInf = std::numeric_limits<float>::infinity();

// Per-thread f32 tiles of one task.
struct FwdScratch {
  explicit FwdScratch(int64_t dp)
      : q(kBlockQ * dp), kt(dp * kBlockK), v(kBlockK * dp), s(kBlockQ * kBlockK), o(kBlockQ * dp),
        m(kBlockQ), l(kBlockQ), keep(kBlockK) {}
  std::vector<float> q, kt, v, s, o, m, l;
  std::vector<uint8_t> keep;
};

using FwdContext = TileContext;

// Scores of key block n0 for the task's rows, into w.s. Returns the keys in the block.
int64_t load_keys_and_score(const FwdContext& c, const SeqView& sv, int64_t m0, int64_t rows, int64_t n0,
                            int64_t key_end, bool with_v, FwdScratch& w) {
  const AttentionParams& p = c.p;
  const int64_t cols = std::min(kBlockK, key_end - n0), col0 = sv.head * c.d;
  load_tile_t(p.dtype, p.k, p.k_row_stride, sv.k0 + n0, cols, col0, c.d, w.kt.data(), kBlockK);
  if (with_v) load_tile(p.dtype, p.v, p.v_row_stride, sv.k0 + n0, cols, col0, c.d, w.v.data(), c.dp, cols);
  score_tile(c.simd, sv, c.scale2, w.q.data(), c.dp, m0, rows, w.kt.data(), n0, cols, c.d, w.s.data());
  return cols;
}

// Zeroes the dropped entries of score-tile row i (query m0 + i).
void apply_dropout(const FwdContext& c, const SeqView& sv, int64_t q_index, int64_t n0, int64_t cols, float* si,
                   uint8_t* keep) {
  dropout_row(c.p, sv, q_index, n0, cols, c.drop_threshold, keep);
  for (int64_t j = 0; j < cols; ++j)
    if (!keep[j]) si[j] = 0.0f;
}

// Softmax / softmax1: one sweep with the online rescaling.
void forward_online(const FwdContext& c, const SeqView& sv, int64_t m0, int64_t rows, int64_t key_end,
                    FwdScratch& w) {
  const bool softmax1 = c.p.normalizer == AttnNormalizer::Softmax1;
  const bool dropout = c.p.dropout_p > 0.0f;
  std::fill(w.m.begin(), w.m.begin() + rows, softmax1 ? 0.0f : -kInf);
  std::fill(w.l.begin(), w.l.begin() + rows, 0.0f);
  std::fill(w.o.begin(), w.o.begin() + rows * c.dp, 0.0f);
  for (int64_t n0 = 0; n0 < key_end; n0 += kBlockK) {
    const int64_t cols = load_keys_and_score(c, sv, m0, rows, n0, key_end, true, w);
    for (int64_t i = 0; i < rows; ++i) {
      float* si = w.s.data() + i * kBlockK;
      const float mx = std::max(w.m[i], c.simd.row_max(si, kBlockK));
      const float base = mx == -kInf ? 0.0f : mx;  // no key yet: avoid -inf - -inf
      const float alpha = std::exp2(w.m[i] - base);
      w.l[i] = w.l[i] * alpha + c.simd.exp2_sub_sum(si, kBlockK, base);
      w.m[i] = mx;
      if (dropout) apply_dropout(c, sv, m0 + i, n0, visible_cols(sv, m0 + i, n0, cols), si, w.keep.data());
      if (alpha != 1.0f) {
        float* oi = w.o.data() + i * c.dp;
        for (int64_t e = 0; e < c.dp; ++e) oi[e] *= alpha;
      }
    }
    c.simd.gemm(rows, c.dp, cols, w.s.data(), kBlockK, w.v.data(), c.dp, w.o.data(), c.dp, true);
  }
  for (int64_t i = 0; i < rows; ++i) {
    const float l = w.l[i] + (softmax1 ? std::exp2(-w.m[i]) : 0.0f);  // m >= 0 for softmax1
    const float inv = l > 0.0f ? c.drop_scale / l : 0.0f;
    float* oi = w.o.data() + i * c.dp;
    for (int64_t e = 0; e < c.dp; ++e) oi[e] *= inv;
    w.l[i] = l;
  }
}

// Clipped softmax: normaliser first, then the clipped probabilities times V.
void forward_clipped(const FwdContext& c, const SeqView& sv, int64_t m0, int64_t rows, int64_t key_end,
                     FwdScratch& w) {
  const bool dropout = c.p.dropout_p > 0.0f;
  const float zg = c.p.clip_zeta - c.p.clip_gamma, gamma = c.p.clip_gamma;
  std::fill(w.m.begin(), w.m.begin() + rows, -kInf);
  std::fill(w.l.begin(), w.l.begin() + rows, 0.0f);
  std::fill(w.o.begin(), w.o.begin() + rows * c.dp, 0.0f);
  for (int64_t n0 = 0; n0 < key_end; n0 += kBlockK) {
    load_keys_and_score(c, sv, m0, rows, n0, key_end, false, w);
    for (int64_t i = 0; i < rows; ++i) {
      float* si = w.s.data() + i * kBlockK;
      const float mx = std::max(w.m[i], c.simd.row_max(si, kBlockK));
      const float base = mx == -kInf ? 0.0f : mx;
      w.l[i] = w.l[i] * std::exp2(w.m[i] - base) + c.simd.exp2_sub_sum(si, kBlockK, base);
      w.m[i] = mx;
    }
  }
  for (int64_t n0 = 0; n0 < key_end; n0 += kBlockK) {
    const int64_t cols = load_keys_and_score(c, sv, m0, rows, n0, key_end, true, w);
    for (int64_t i = 0; i < rows; ++i) {
      float* si = w.s.data() + i * kBlockK;
      const int64_t vis = visible_cols(sv, m0 + i, n0, cols);
      if (vis == 0) {  // no key of this block: the whole row of P is 0 (not clip(gamma))
        std::fill(si, si + kBlockK, 0.0f);
        continue;
      }
      // p = exp2(s - m) / l rather than exp2(s - lse2): s - m is exact, while
      // lse2 = m + log2 l would round away digits of large scores.
      c.simd.exp2_sub_sum(si, kBlockK, w.m[i]);
      const float inv_l = 1.0f / w.l[i];
      for (int64_t j = 0; j < vis; ++j) si[j] = std::clamp(zg * (si[j] * inv_l) + gamma, 0.0f, 1.0f);
      std::fill(si + vis, si + kBlockK, 0.0f);  // masked keys get no weight, whatever gamma is
      if (dropout) apply_dropout(c, sv, m0 + i, n0, vis, si, w.keep.data());
    }
    c.simd.gemm(rows, c.dp, cols, w.s.data(), kBlockK, w.v.data(), c.dp, w.o.data(), c.dp, true);
  }
  for (int64_t i = 0; i < rows * c.dp; ++i) w.o[i] *= c.drop_scale;
}

void forward_task(const FwdContext& c, const SeqView& sv, int64_t m0, FwdScratch& w) {
  const AttentionParams& p = c.p;
  const int64_t rows = std::min(kBlockQ, sv.len_q - m0), col0 = sv.head * c.d;
  load_tile(p.dtype, p.q, p.q_row_stride, sv.q0 + m0, rows, col0, c.d, w.q.data(), c.dp, rows);
  // Keys any row of this block sees: those of its last row (visible sets grow with i).
  const int64_t key_end = sv.visible_end(m0 + rows - 1);
  if (p.normalizer == AttnNormalizer::Clipped)
    forward_clipped(c, sv, m0, rows, key_end, w);
  else
    forward_online(c, sv, m0, rows, key_end, w);
  store_tile(p.dtype, w.o.data(), c.dp, 1.0f, p.o, p.o_row_stride, sv.q0 + m0, rows, col0, c.d);

  const bool softmax1 = p.normalizer == AttnNormalizer::Softmax1;
  float* lse = p.lse + sv.head * p.total_q + sv.q0 + m0;
  for (int64_t i = 0; i < rows; ++i) {
    const float l = w.l[i];  // softmax1: already includes the null key
    lse[i] = l > 0.0f ? w.m[i] * kLn2 + std::log(l) : (softmax1 ? 0.0f : -kInf);
  }
}

}  // namespace

void attention_forward(const kernels::AttentionParams& p) {
  if (!kernels::is_float(p.dtype)) throw std::invalid_argument("germ cpu attention: q, k, v must be f32, f16 or bf16");
  if (p.batch <= 0 || p.heads <= 0 || p.head_dim < 0) return;

  const FwdContext c = tile_context(p);
  for_each_block<FwdScratch>(p, block_items(p, true, kBlockQ), c.dp,
                             [&](const SeqView& sv, int64_t start, FwdScratch& w) { forward_task(c, sv, start, w); });
}

}  // namespace germ::cpu
