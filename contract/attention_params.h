// Attention arguments shared by the CUDA kernels (cuda/attention/) and the
// CPU backend (cpp/cpu/attention*.cc). Plain C++: no CUDA types.
//
// Layout: q, k, v, o (and dq, dk, dv, do) hold one row of `heads * head_dim`
// elements per token, at row strides (elements) that may exceed that; head h
// of token t starts at t * row_stride + h * head_dim. Tokens of sequence b are
// rows seq_q_start[b] .. + seq_q_len[b] - 1 of q / o (and likewise for k / v).
// That one description covers both the padded batch [B, S, H, D] (start b*S,
// len = the sequence's length: keys past it are masked, query rows past it get
// zero output) and the packed varlen layout [T, H, D] with cu_seqlens.
//
// Scores:   s_ij = scale * q_i . k_j + bias_ij,  j < len_k(b), and, if causal,
//           j <= i + (len_k - len_q) (bottom-right alignment, as FlashAttention)
// ALiBi:    bias_ij = -slope[h] * |pos_i - pos_j| (symmetric, encoders) or
//           -slope[h] * (pos_i - pos_j) (causal); pos_i = i + len_k - len_q,
//           pos_j = j. No bias when alibi_slopes is null.
// softmax:  p_ij = exp(s_ij) / sum_j exp(s_ij)
// softmax1: p_ij = exp(s_ij) / (1 + sum_j exp(s_ij))  (a null key with logit 0, value 0)
// clipped:  p~_ij = clip((zeta - gamma) * softmax_ij + gamma, 0, 1)  (Bondarenko et al. 2023)
// dropout:  o_i = sum_j p_ij * keep_ij / (1 - p) * v_j, keep_ij from
//           dropout_keep(seed, offset, h * total_q + seq_q_start[b] + i, j, ...)
//           (cuda/common/philox.h), identical on every backend and in the backward.
// lse:      [heads, total_q] f32 with total_q = rows of q: log of the
//           normaliser's denominator (log(1 + sum) for softmax1), -inf for a
//           softmax row with no key, 0 for such a softmax1 row. A row with no
//           key (fully masked) has zero output and zero gradients, never NaN.
#pragma once
#include <cstdint>
#include "host_device.h"
#include "kernel_types.h"
#include "philox.h"

namespace germ::kernels {

enum class AttnNormalizer : int32_t { Softmax = 0, Softmax1 = 1, Clipped = 2 };

struct AttentionParams {
  KDType dtype = KDType::F16;  // f16 / bf16 on CUDA; f32 / f16 / bf16 on CPU
  AttnNormalizer normalizer = AttnNormalizer::Softmax1;
  int32_t batch = 0, heads = 0, head_dim = 0;
  int64_t total_q = 0, total_k = 0;          // rows of q and of k
  int32_t max_len_q = 0, max_len_k = 0;      // over the batch, for grid sizing
  const int32_t* seq_q_start = nullptr;      // [batch], device memory on CUDA
  const int32_t* seq_q_len = nullptr;
  const int32_t* seq_k_start = nullptr;
  const int32_t* seq_k_len = nullptr;

  const void* q = nullptr; int64_t q_row_stride = 0;
  const void* k = nullptr; int64_t k_row_stride = 0;
  const void* v = nullptr; int64_t v_row_stride = 0;
  void* o = nullptr;       int64_t o_row_stride = 0;
  float* lse = nullptr;    // [heads, total_q]

  float scale = 1.0f;
  bool causal = false;
  const float* alibi_slopes = nullptr;  // [heads] or null
  bool alibi_symmetric = true;
  float clip_zeta = 1.0f, clip_gamma = 0.0f;  // for Clipped only; the op's defaults: cpp/ops/ops.h

  float dropout_p = 0.0f;
  uint64_t seed = 0, offset = 0;
};

struct AttentionGradParams {
  AttentionParams fwd;  // the forward's arguments, with its o and lse
  const void* dout = nullptr; int64_t dout_row_stride = 0;
  void* dq = nullptr; int64_t dq_row_stride = 0;  // same dtype as q
  void* dk = nullptr; int64_t dk_row_stride = 0;
  void* dv = nullptr; int64_t dv_row_stride = 0;
};

// Host and device: the kernels compute it in-kernel from dropout_p.
GERM_HD uint32_t dropout_threshold(float p) {
  const double keep = (1.0 - static_cast<double>(p)) * 4294967296.0;
  return keep >= 4294967295.0 ? 4294967295u : static_cast<uint32_t>(keep + 0.5);
}

}  // namespace germ::kernels
