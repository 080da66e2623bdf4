// Attention dropout on the GPU: the keep bits of contract/philox.h's
// dropout_keep() (Philox keyed by the query's global row and the key), so the
// forward, the backward that regenerates them, the naive kernels and the CPU
// all drop the same probabilities. One Philox call draws 4 key columns.
//
// The fused kernels draw a tile's bits in one rolled loop into a word (one
// copy of Philox in the code rather than one per element), then use them from
// the unrolled element loops.
#pragma once
#include "../../contract/seq_info.h"

namespace germ::kernels::attn_detail {

// dropout_keep() for one column, without its indexed local array (a stack
// frame in the kernel).
__device__ __forceinline__ bool dropout_keep1(uint64_t seed, uint64_t offset, uint64_t row, int col, uint32_t thr) {
  const Philox4 r = dropout_draws(seed, offset, row, static_cast<uint64_t>(col) >> 2);
  const int c = col & 3;
  const uint32_t x = c == 0 ? r.x : c == 1 ? r.y : c == 2 ? r.z : r.w;
  return x < thr;
}

// Keep bits for columns col and col + 1 (col even) of one row: one Philox
// call, the same bits dropout_keep() would give for each column.
__device__ __forceinline__ void dropout_keep2(uint64_t seed, uint64_t offset, uint64_t row, uint32_t col,
                                              uint32_t thr, bool* k0, bool* k1) {
  const Philox4 r = dropout_draws(seed, offset, row, col >> 2);
  const bool hi = (col & 2) != 0;
  *k0 = (hi ? r.z : r.x) < thr;
  *k1 = (hi ? r.w : r.y) < thr;
}

// A kept value times 1 / (1 - p) (rdrop), a dropped one 0.
__device__ __forceinline__ float dropped(bool keep, float x, float rdrop) { return keep ? x * rdrop : 0.0f; }

// Forward: zeroes the dropped elements of a warp's P tile (queries x keys, M
// m16 by N n8 fragments; element (i, j, 2rh + c) is query row0 + 16i + g + 8rh,
// key n0 + 8j + 2t + c). The scale 1 / (1 - p) is left to the epilogue. Bit
// 2 * ((2i + rh) * N + j) + c of the keep word is that element's. p is taken
// by reference so seed and offset are read inside the loop: passed as values,
// they stay in registers across it and the kernel's code changes.
template <int M, int N>
__device__ __forceinline__ void dropout_p_tile(float (&s)[M][N][4], const AttentionParams& p, uint64_t drop_row0,
                                               int row0, int n0, uint32_t thr, int g, int t) {
  static_assert(M * 2 * N * 2 <= 64, "keep bits in one word");
  uint64_t keep = 0;
#pragma unroll 1
  for (int idx = 0; idx < M * 2 * N; ++idx) {
    const int j = idx % N, rr = idx / N;
    const int row = row0 + (rr >> 1) * 16 + g + (rr & 1) * 8;
    bool k0, k1;
    dropout_keep2(p.seed, p.offset, drop_row0 + row, n0 + j * 8 + 2 * t, thr, &k0, &k1);
    keep |= uint64_t((k0 ? 1u : 0u) | (k1 ? 2u : 0u)) << (2 * idx);
  }
#pragma unroll
  for (int i = 0; i < M; ++i)
#pragma unroll
    for (int rh = 0; rh < 2; ++rh)
#pragma unroll
      for (int j = 0; j < N; ++j)
#pragma unroll
        for (int c = 0; c < 2; ++c)
          if (!((keep >> (2 * ((2 * i + rh) * N + j) + c)) & 1u)) s[i][j][2 * rh + c] = 0.0f;
}

}  // namespace germ::kernels::attn_detail
