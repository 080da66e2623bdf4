// One (batch entry, head) of the attention contract (attention_params.h): where
// its query and key rows start, how many there are, where the causal diagonal
// lies, its ALiBi slope and the dropout row of its query 0. The CUDA kernels
// (fused and naive) and the CPU backend all read the per-sequence arrays
// through seq_info(), so the padded and the packed layouts mean the same thing
// on every backend.
//
// Units: the kernels keep scores in log2 units (s * log2 e), so every
// exponential is an exp2; lse is converted back with ln 2 at the boundary.
#pragma once
#include <cstdint>
#include "attention_params.h"
#include "philox.h"

namespace germ::kernels {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

struct SeqInfo {
  int len_q, len_k, diag;  // key j is causal-visible from query i iff j <= i + diag
  int64_t q0, k0;          // first token row of q / k
  float alibi2;            // slope * log2(e), 0 without ALiBi
  uint64_t drop_row0;      // h * total_q + q0: dropout row of query 0
};

GERM_HD SeqInfo seq_info(const AttentionParams& p, int b, int h) {
  SeqInfo s;
  s.len_q = p.seq_q_len[b];
  s.len_k = p.seq_k_len[b];
  s.diag = s.len_k - s.len_q;
  s.q0 = p.seq_q_start[b];
  s.k0 = p.seq_k_start[b];
  s.alibi2 = p.alibi_slopes != nullptr ? p.alibi_slopes[h] * kLog2e : 0.0f;
  s.drop_row0 = uint64_t(h) * uint64_t(p.total_q) + uint64_t(s.q0);
  return s;
}

}  // namespace germ::kernels
