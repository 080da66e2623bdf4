// Which keys a query sees (contract/attention_params.h): key j of the
// sequence, j < len_k, and, if causal, j <= i + diag (the diagonal aligned to
// the bottom right, as FlashAttention). The fused kernels evaluate the
// per-element mask only on blocks that cross len_k or the diagonal; the naive
// kernels bound their key loops by len_k and ask causal_masked() per key.
#pragma once
#include "../../contract/seq_info.h"

namespace germ::kernels::attn_detail {

__device__ __forceinline__ bool causal_masked(const SeqInfo& si, bool causal, int i, int j) {
  return causal && j > i + si.diag;
}

// Key j hidden from query i: past the sequence's keys or past the diagonal.
__device__ __forceinline__ bool key_masked(const SeqInfo& si, bool causal, int i, int j) {
  return j >= si.len_k || causal_masked(si, causal, i, j);
}

// -inf on the hidden elements of a warp's S tile (queries x keys, M m16 by N n8
// fragments): element (i, j, e) is query row0 + 16i + g + 8(e / 2) and key
// n0 + 8j + 2t + e % 2. Only a block that crosses len_k or the causal diagonal
// has any: later rows see more keys, so the block's first row m0 decides the
// causal part. (The test is spelled out here and in the backward rather than
// shared as a bool function: nvcc compiles such a call to selects where the
// inline test branches, and the kernels' code changes.)
template <int M, int N>
__device__ __forceinline__ void mask_score_tile(float (&s)[M][N][4], const SeqInfo& si, bool causal, int m0, int row0,
                                                int n0, int g, int t) {
  constexpr int kBlockN = N * 8;
  const bool need_mask = n0 + kBlockN > si.len_k || (causal && n0 + kBlockN - 1 > m0 + si.diag);
  if (need_mask) {
#pragma unroll
    for (int i = 0; i < M; ++i)
#pragma unroll
      for (int j = 0; j < N; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int row = row0 + i * 16 + g + (e >> 1) * 8, col = n0 + j * 8 + 2 * t + (e & 1);
          if (key_masked(si, causal, row, col)) s[i][j][e] = -INFINITY;
        }
  }
}

}  // namespace germ::kernels::attn_detail
