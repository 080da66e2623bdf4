// What the CPU attention forward and backward share: block sizes, the
// per-(batch, head) geometry of the contract (contract/seq_info.h, the same
// function the CUDA kernels read it with), what every task of a call shares,
// loading tiles of q / k / v / o / dout into f32 buffers (and storing them
// back), the score tile with its scale, ALiBi and mask, and the dropout bits.
//
// Units: scores are kept in log2 units (s * log2 e), as the CUDA kernels do, so
// every exponential is an exp2; lse is converted at the boundary.
#pragma once
#include <cstdint>
#include <vector>

#include "../../contract/attention_params.h"
#include "../../contract/seq_info.h"
#include "attention_simd.h"
#include "thread_pool.h"

namespace germ::cpu::attn {

using kernels::AttentionParams;
using kernels::KDType;
using kernels::kLn2;
using kernels::kLog2e;

// Query rows and keys per tile. Every query block re-converts (and
// transposes) the k / v tiles it meets, so taller query blocks amortise that:
// at head_dim 64 on a Zen core, 64 rows spent ~20% of the forward in tile
// loads and ran at ~54 GFLOP/s, 128 rows ~61; 192 and 256 measured the same as
// 128 within noise while wasting more of the causal diagonal. A 128 x 64 f32
// score tile is 32 KiB: it and the q tile live in L2, the k panel the GEMM
// streams over stays in L1.
constexpr int64_t kBlockQ = 128;
constexpr int64_t kBlockK = 64;

// head_dim rounded up to the GEMM panel: the f32 tiles' row length. The
// padding columns hold zeros.
inline int64_t padded_dim(int64_t d) { return (d + kAttnPanel - 1) / kAttnPanel * kAttnPanel; }

// One (batch, head) of the contract: its geometry and the call's flags.
struct SeqView : kernels::SeqInfo {
  int64_t head = 0;
  bool causal = false;
  bool alibi = false, alibi_symmetric = true;

  // Keys [0, visible_end(i)) are the ones query i sees: both the length mask
  // and the causal mask are upper bounds on j, so a row's keys are a prefix.
  int64_t visible_end(int64_t i) const {
    if (!causal) return len_k;
    const int64_t e = i + diag + 1;
    return e < 0 ? 0 : (e > len_k ? len_k : e);
  }
  // First query that sees key j (queries before it have j masked).
  int64_t first_query(int64_t j) const {
    if (!causal) return 0;
    return j - diag > 0 ? j - diag : 0;
  }
};

SeqView seq_view(const AttentionParams& p, int b, int h);

// What every task of one call shares: the arguments, the SIMD kernels, head_dim
// and its padded row length, the scale in log2 units, dropout's keep threshold
// and 1 / (1 - p).
struct TileContext {
  const AttentionParams& p;
  const AttentionSimd& simd;
  int64_t d, dp;
  float scale2;
  uint32_t drop_threshold;
  float drop_scale;
};
TileContext tile_context(const AttentionParams& p);

// Work items: (batch entry, first row) of every block of `block` rows over the
// query (by_query) or key sequences; a task is an item times a head.
struct BlockItem {
  int b;
  int64_t start;
};
std::vector<BlockItem> block_items(const AttentionParams& p, bool by_query, int64_t block);

// Runs fn(view, block_start, scratch) for every (block item, head) on the
// intra-op pool, with one Scratch (constructed from scratch_arg) per chunk.
template <class Scratch, class Fn>
void for_each_block(const AttentionParams& p, const std::vector<BlockItem>& items, int64_t scratch_arg, Fn&& fn) {
  const int64_t heads = p.heads;
  parallel_for(static_cast<int64_t>(items.size()) * heads, 1, [&](int64_t begin, int64_t end) {
    Scratch w(scratch_arg);
    for (int64_t t = begin; t < end; ++t) {
      const BlockItem& it = items[t / heads];
      fn(seq_view(p, it.b, static_cast<int>(t % heads)), it.start, w);
    }
  });
}

// dst[r * ld + c] = float(row first_row + r, column col0 + c) for r < rows,
// c < d; zeros for c in [d, ld) and for rows [rows, rows_alloc).
void load_tile(KDType dt, const void* base, int64_t row_stride, int64_t first_row, int64_t rows,
               int64_t col0, int64_t d, float* dst, int64_t ld, int64_t rows_alloc);

// Transposed: dst[c * ld + r], c < padded_dim(d) (zero rows past d), r < ld
// (zero columns past rows). ld is the tile width, kBlockK.
void load_tile_t(KDType dt, const void* base, int64_t row_stride, int64_t first_row, int64_t rows,
                 int64_t col0, int64_t d, float* dst, int64_t ld);

// Row first_row + r, columns col0 .. col0 + d - 1 = round(mul * src[r * ld + c]).
void store_tile(KDType dt, const float* src, int64_t ld, float mul, void* base, int64_t row_stride,
                int64_t first_row, int64_t rows, int64_t col0, int64_t d);

// s[i * kBlockK + j] for i < rows, j < kBlockK: the log2-unit score of query
// m0 + i and key n0 + j, scale * log2e * q.k + ALiBi; -inf past the row's
// visible keys (also past cols, the keys in this tile). q is [rows][ldq], kt is
// [>= d][kBlockK] (k transposed, zero past cols).
void score_tile(const AttentionSimd& simd, const SeqView& sv, float scale2, const float* q, int64_t ldq,
                int64_t m0, int64_t rows, const float* kt, int64_t n0, int64_t cols, int64_t d, float* s);

// Keys of this tile that query m0 + i sees: [0, visible_cols(...)).
inline int64_t visible_cols(const SeqView& sv, int64_t i, int64_t n0, int64_t cols) {
  const int64_t e = sv.visible_end(i) - n0;
  return e < 0 ? 0 : (e > cols ? cols : e);
}

// keep[j] = dropout_keep(seed, offset, drop_row0 + i, n0 + j, threshold) for j < cols.
void dropout_row(const AttentionParams& p, const SeqView& sv, int64_t i, int64_t n0, int64_t cols,
                 uint32_t threshold, uint8_t* keep);

}  // namespace germ::cpu::attn
