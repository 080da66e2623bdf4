// Tiles, geometry and scores shared by the CPU attention passes (see attention_tiles.h).
#include "attention_tiles.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "../../contract/philox.h"
#include "dtype_access.h"

namespace germ::cpu::attn {

SeqView seq_view(const AttentionParams& p, int b, int h) {
  SeqView s;
  static_cast<kernels::SeqInfo&>(s) = kernels::seq_info(p, b, h);
  s.head = h;
  s.causal = p.causal;
  s.alibi = p.alibi_slopes != nullptr;
  s.alibi_symmetric = p.alibi_symmetric;
  return s;
}

TileContext tile_context(const AttentionParams& p) {
  const bool dropout = p.dropout_p > 0.0f;
  return TileContext{p,
                     attention_simd(),
                     p.head_dim,
                     padded_dim(p.head_dim),
                     p.scale * kLog2e,
                     dropout ? kernels::dropout_threshold(p.dropout_p) : 0u,
                     dropout ? 1.0f / (1.0f - p.dropout_p) : 1.0f};
}

std::vector<BlockItem> block_items(const AttentionParams& p, bool by_query, int64_t block) {
  std::vector<BlockItem> items;
  for (int b = 0; b < p.batch; ++b) {
    const int64_t len = by_query ? p.seq_q_len[b] : p.seq_k_len[b];
    for (int64_t s = 0; s < len; s += block) items.push_back({b, s});
  }
  return items;
}

void load_tile(KDType dt, const void* base, int64_t row_stride, int64_t first_row, int64_t rows,
               int64_t col0, int64_t d, float* dst, int64_t ld, int64_t rows_alloc) {
  dispatch_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* src = static_cast<const T*>(base) + first_row * row_stride + col0;
    for (int64_t r = 0; r < rows; ++r) {
      const T* s = src + r * row_stride;
      float* o = dst + r * ld;
      for (int64_t c = 0; c < d; ++c) o[c] = to_float(s[c]);
      for (int64_t c = d; c < ld; ++c) o[c] = 0.0f;
    }
  });
  if (rows_alloc > rows) std::memset(dst + rows * ld, 0, sizeof(float) * (rows_alloc - rows) * ld);
}

void load_tile_t(KDType dt, const void* base, int64_t row_stride, int64_t first_row, int64_t rows,
                 int64_t col0, int64_t d, float* dst, int64_t ld) {
  const int64_t dp = padded_dim(d);
  dispatch_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* src = static_cast<const T*>(base) + first_row * row_stride + col0;
    for (int64_t r = 0; r < rows; ++r) {
      const T* s = src + r * row_stride;
      for (int64_t c = 0; c < d; ++c) dst[c * ld + r] = to_float(s[c]);
    }
  });
  // Keys past `rows` must be finite zeros: their scores are masked afterwards,
  // but 0 * NaN from stale memory would survive into the row max.
  for (int64_t c = 0; c < d; ++c)
    for (int64_t r = rows; r < ld; ++r) dst[c * ld + r] = 0.0f;
  if (dp > d) std::memset(dst + d * ld, 0, sizeof(float) * (dp - d) * ld);
}

void store_tile(KDType dt, const float* src, int64_t ld, float mul, void* base, int64_t row_stride,
                int64_t first_row, int64_t rows, int64_t col0, int64_t d) {
  dispatch_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    T* dst = static_cast<T*>(base) + first_row * row_stride + col0;
    for (int64_t r = 0; r < rows; ++r) {
      T* o = dst + r * row_stride;
      const float* s = src + r * ld;
      for (int64_t c = 0; c < d; ++c) o[c] = from_float<T>(mul * s[c]);
    }
  });
}

void score_tile(const AttentionSimd& simd, const SeqView& sv, float scale2, const float* q, int64_t ldq,
                int64_t m0, int64_t rows, const float* kt, int64_t n0, int64_t cols, int64_t d, float* s) {
  simd.gemm(rows, kBlockK, d, q, ldq, kt, kBlockK, s, kBlockK, false);
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < rows; ++i) {
    float* si = s + i * kBlockK;
    const int64_t vis = visible_cols(sv, m0 + i, n0, cols);
    if (sv.alibi) {
      // pos_i - pos_j = (i + len_k - len_q) - j, as float like the CUDA kernels.
      const int64_t dist0 = m0 + i + sv.diag - n0;
      const float a2 = sv.alibi2;
      if (sv.alibi_symmetric) {
        for (int64_t j = 0; j < vis; ++j) {
          const int64_t dist = dist0 - j;
          si[j] = si[j] * scale2 - a2 * static_cast<float>(dist < 0 ? -dist : dist);
        }
      } else {
        for (int64_t j = 0; j < vis; ++j) si[j] = si[j] * scale2 - a2 * static_cast<float>(dist0 - j);
      }
    } else {
      for (int64_t j = 0; j < vis; ++j) si[j] *= scale2;
    }
    for (int64_t j = vis; j < kBlockK; ++j) si[j] = kNegInf;
  }
}

void dropout_row(const AttentionParams& p, const SeqView& sv, int64_t i, int64_t n0, int64_t cols,
                 uint32_t threshold, uint8_t* keep) {
  const uint64_t row = sv.drop_row0 + static_cast<uint64_t>(i);
  // One Philox call per group of 4 key columns (dropout_keep's own grouping),
  // not one per column: the same bits at a quarter of the cost.
  for (int64_t j = 0; j < cols;) {
    const uint64_t col = static_cast<uint64_t>(n0 + j);
    const kernels::Philox4 r = kernels::dropout_draws(p.seed, p.offset, row, col >> 2);
    const uint32_t draws[4] = {r.x, r.y, r.z, r.w};
    for (uint64_t c = col & 3; c < 4 && j < cols; ++c, ++j) keep[j] = draws[c] < threshold ? 1 : 0;
  }
}

}  // namespace germ::cpu::attn
