// The unfused attention path: every normaliser (Clipped only runs here), f32 /
// f16 / bf16, any head_dim. Exact by construction, slow by design.
//
// One CTA per (query row i, head h, batch b). Its score row lives in `scratch`
// at row h * total_q + q0 + i, max_len_k floats wide (attention_naive_scratch_bytes).
//
// Forward:  s_j -> p_j (normaliser, then dropout) in the scratch row -> o_i = sum p_j v_j.
// Backward: two kernels, no atomics (deterministic):
//   rows:  recompute p_j from the saved lse, dp_j = dO_i . v_j, the normaliser's
//          Jacobian gives ds_j; writes dq_i = scale * sum_j ds_j k_j and keeps
//          the dropped p_j (for dV) and ds_j in two scratch matrices.
//   keys:  one CTA per key j: dv_j = sum_i p_ij dO_i, dk_j = scale * sum_i ds_ij q_i.
// Clipped: p~ = clip((zeta - gamma) p + gamma, 0, 1) over the visible keys
// (masked keys stay 0); d p~ / d p = zeta - gamma where 0 < (zeta - gamma) p +
// gamma < 1, else 0; lse is that of the plain softmax.
#include "attention.h"
#include "alibi.cuh"
#include "dropout.cuh"
#include "masks.cuh"
#include "online_softmax.cuh"
#include "../common/dtype_io.cuh"
#include "../common/launch_utils.cuh"
#include "../common/reduce_utils.cuh"

namespace germ::kernels {
namespace {

using attn_detail::alibi_penalty;
using attn_detail::causal_masked;
using attn_detail::clip_inactive;
using attn_detail::clip_unit;
using attn_detail::dropped;
using attn_detail::softmax_base;

constexpr int kNaiveThreads = 128;

struct RowCtx : SeqInfo {
  int64_t grow;  // the global query row h * total_q + q0 + i (its dropout row)
  float slope;   // natural-log units (SeqInfo::alibi2 is in log2 units)
};

__device__ __forceinline__ RowCtx row_ctx(const AttentionParams& p, int b, int h, int i) {
  RowCtx c;
  static_cast<SeqInfo&>(c) = seq_info(p, b, h);
  c.len_k = min(c.len_k, p.max_len_k);  // the scratch row is max_len_k wide
  c.diag = c.len_k - c.len_q;
  c.grow = int64_t(h) * p.total_q + c.q0 + i;
  c.slope = p.alibi_slopes != nullptr ? p.alibi_slopes[h] : 0.0f;
  return c;
}

// s_ij for a visible key, -inf for a masked one. q is the row in f32 (shared).
template <typename T>
__device__ float naive_score(const AttentionParams& p, const RowCtx& c, const float* q, int h, int i, int j) {
  if (causal_masked(c, p.causal, i, j)) return -INFINITY;
  const T* k = static_cast<const T*>(p.k) + (c.k0 + j) * p.k_row_stride + int64_t(h) * p.head_dim;
  float acc = 0.0f;
  for (int d = 0; d < p.head_dim; ++d) acc = fmaf(q[d], to_f32(k[d]), acc);
  float s = acc * p.scale;
  if (p.alibi_slopes != nullptr) s -= alibi_penalty(c.slope, i + c.diag - j, p.alibi_symmetric);
  return s;
}

// Normalised probability of score s (before dropout); m, den from the row.
__device__ __forceinline__ float normalise(const AttentionParams& p, float s, float m, float den) {
  if (s == -INFINITY || den <= 0.0f) return 0.0f;
  float pr = expf(s - m) / den;
  if (p.normalizer == AttnNormalizer::Clipped) pr = clip_unit((p.clip_zeta - p.clip_gamma) * pr + p.clip_gamma);
  return pr;
}

template <typename T>
__global__ void __launch_bounds__(kNaiveThreads) naive_fwd_kernel(const AttentionParams p, float* scratch) {
  __shared__ float red[kNaiveThreads / 32];
  extern __shared__ float q[];  // head_dim floats
  const int b = blockIdx.z, h = blockIdx.y, i = blockIdx.x;
  const RowCtx c = row_ctx(p, b, h, i);
  if (i >= c.len_q) return;
  const int D = p.head_dim;
  const T* qg = static_cast<const T*>(p.q) + (c.q0 + i) * p.q_row_stride + int64_t(h) * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) q[d] = to_f32(qg[d]);
  __syncthreads();

  float* srow = scratch + c.grow * p.max_len_k;
  float m = -INFINITY;
  for (int j = threadIdx.x; j < c.len_k; j += blockDim.x) {
    const float s = naive_score<T>(p, c, q, h, i, j);
    srow[j] = s;
    m = fmaxf(m, s);
  }
  m = group_reduce<kNaiveThreads>(m, MaxOp{}, red);
  const bool softmax1 = p.normalizer == AttnNormalizer::Softmax1;
  if (softmax1) m = fmaxf(m, 0.0f);  // the null key's logit
  const float base = softmax_base(m);
  float den = 0.0f;
  for (int j = threadIdx.x; j < c.len_k; j += blockDim.x) den += expf(srow[j] - base);
  den = group_reduce<kNaiveThreads>(den, SumOp{}, red);
  if (softmax1) den += expf(-base);

  const bool dropout = p.dropout_p > 0.0f;
  const uint32_t thr = dropout_threshold(p.dropout_p);
  const float rdrop = dropout ? 1.0f / (1.0f - p.dropout_p) : 1.0f;
  for (int j = threadIdx.x; j < c.len_k; j += blockDim.x) {
    float pr = normalise(p, srow[j], base, den);
    if (dropout) pr = dropped(dropout_keep(p.seed, p.offset, c.grow, j, thr), pr, rdrop);
    srow[j] = pr;
  }
  __syncthreads();  // the scratch row (global) is complete and visible to the block

  T* o = static_cast<T*>(p.o) + (c.q0 + i) * p.o_row_stride + int64_t(h) * D;
  const T* v = static_cast<const T*>(p.v) + c.k0 * p.v_row_stride + int64_t(h) * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < c.len_k; ++j) acc = fmaf(srow[j], to_f32(v[j * p.v_row_stride + d]), acc);
    o[d] = from_f32<T>(acc);
  }
  if (threadIdx.x == 0) p.lse[c.grow] = den > 0.0f ? base + logf(den) : -INFINITY;
}

// Backward, per query row. Scratch: P (dropped) at [0, R), dS at [R, 2R), R = rows * max_len_k.
template <typename T>
__global__ void __launch_bounds__(kNaiveThreads) naive_bwd_rows_kernel(const AttentionGradParams g, float* scratch) {
  const AttentionParams& p = g.fwd;
  __shared__ float red[kNaiveThreads / 32];
  extern __shared__ float sh[];  // q row, dO row: 2 * head_dim floats
  const int b = blockIdx.z, h = blockIdx.y, i = blockIdx.x;
  const RowCtx c = row_ctx(p, b, h, i);
  if (i >= c.len_q) return;
  const int D = p.head_dim;
  float* q = sh;
  float* dout = sh + D;
  const T* qg = static_cast<const T*>(p.q) + (c.q0 + i) * p.q_row_stride + int64_t(h) * D;
  const T* dg = static_cast<const T*>(g.dout) + (c.q0 + i) * g.dout_row_stride + int64_t(h) * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) { q[d] = to_f32(qg[d]); dout[d] = to_f32(dg[d]); }
  __syncthreads();

  const int64_t plane = (int64_t(p.heads) * p.total_q) * p.max_len_k;
  float* prow = scratch + c.grow * p.max_len_k;
  float* dsrow = prow + plane;
  const float lse = p.lse[c.grow];
  const bool clipped = p.normalizer == AttnNormalizer::Clipped;
  const bool dropout = p.dropout_p > 0.0f;
  const uint32_t thr = dropout_threshold(p.dropout_p);
  const float rdrop = dropout ? 1.0f / (1.0f - p.dropout_p) : 1.0f;
  const float cz = p.clip_zeta - p.clip_gamma;
  const T* vbase = static_cast<const T*>(p.v) + c.k0 * p.v_row_stride + int64_t(h) * D;

  // Pass 1: p_j (plain / softmax1 from lse), the upstream gradient dp_j of it.
  float dot = 0.0f;
  for (int j = threadIdx.x; j < c.len_k; j += blockDim.x) {
    const float s = naive_score<T>(p, c, q, h, i, j);
    const bool visible = s != -INFINITY && lse != -INFINITY;
    const float pr = visible ? expf(s - lse) : 0.0f;
    const T* v = vbase + j * p.v_row_stride;
    float dpt = 0.0f;
    for (int d = 0; d < D; ++d) dpt = fmaf(dout[d], to_f32(v[d]), dpt);
    const bool keep = !dropout || dropout_keep(p.seed, p.offset, c.grow, j, thr);
    float pt = pr;  // the normaliser's output p~
    float dp = dropped(keep, dpt, rdrop);
    if (clipped && visible) {
      const float lin = cz * pr + p.clip_gamma;
      pt = clip_unit(lin);
      dp = clip_inactive(lin) ? dp * cz : 0.0f;
    } else if (clipped) {
      dp = 0.0f;  // masked key: p~ = 0, no gradient
    }
    prow[j] = dropped(keep, pt, rdrop);
    dsrow[j] = dp;  // stash dp; ds needs the row sum first
    dot += pr * dp;
  }
  dot = group_reduce<kNaiveThreads>(dot, SumOp{}, red);
  for (int j = threadIdx.x; j < c.len_k; j += blockDim.x) {
    const float s = naive_score<T>(p, c, q, h, i, j);
    const float pr = (s == -INFINITY || lse == -INFINITY) ? 0.0f : expf(s - lse);
    dsrow[j] = pr * (dsrow[j] - dot);
  }
  __syncthreads();

  T* dq = static_cast<T*>(g.dq) + (c.q0 + i) * g.dq_row_stride + int64_t(h) * D;
  const T* kbase = static_cast<const T*>(p.k) + c.k0 * p.k_row_stride + int64_t(h) * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < c.len_k; ++j) acc = fmaf(dsrow[j], to_f32(kbase[j * p.k_row_stride + d]), acc);
    dq[d] = from_f32<T>(acc * p.scale);
  }
}

// Backward, per key row j: dv_j and dk_j from the two scratch matrices.
template <typename T>
__global__ void __launch_bounds__(kNaiveThreads) naive_bwd_keys_kernel(const AttentionGradParams g,
                                                                       const float* scratch) {
  const AttentionParams& p = g.fwd;
  const int b = blockIdx.z, h = blockIdx.y, j = blockIdx.x;
  const RowCtx c = row_ctx(p, b, h, 0);
  if (j >= c.len_k) return;
  const int D = p.head_dim;
  const int64_t plane = (int64_t(p.heads) * p.total_q) * p.max_len_k;
  const float* pcol = scratch + c.grow * p.max_len_k + j;  // row i at pcol[i * max_len_k]
  const float* dscol = pcol + plane;
  const T* qbase = static_cast<const T*>(p.q) + c.q0 * p.q_row_stride + int64_t(h) * D;
  const T* dobase = static_cast<const T*>(g.dout) + c.q0 * g.dout_row_stride + int64_t(h) * D;
  T* dk = static_cast<T*>(g.dk) + (c.k0 + j) * g.dk_row_stride + int64_t(h) * D;
  T* dv = static_cast<T*>(g.dv) + (c.k0 + j) * g.dv_row_stride + int64_t(h) * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float ak = 0.0f, av = 0.0f;
    for (int i = 0; i < c.len_q; ++i) {
      const int64_t r = int64_t(i) * p.max_len_k;
      av = fmaf(pcol[r], to_f32(dobase[i * g.dout_row_stride + d]), av);
      ak = fmaf(dscol[r], to_f32(qbase[i * p.q_row_stride + d]), ak);
    }
    dk[d] = from_f32<T>(ak * p.scale);
    dv[d] = from_f32<T>(av);
  }
}

cudaError_t naive_check(const AttentionParams& p, const void* scratch) {
  if (p.batch < 0 || p.heads < 0 || p.head_dim <= 0 || p.max_len_q < 0 || p.max_len_k < 0 || p.heads > 65535 ||
      p.batch > 65535)
    return cudaErrorInvalidValue;
  if (!(p.dropout_p >= 0.0f && p.dropout_p < 1.0f)) return cudaErrorInvalidValue;
  if (p.batch > 0 && p.heads > 0 && p.max_len_q > 0 && p.max_len_k > 0 && scratch == nullptr)
    return cudaErrorInvalidValue;
  if (size_t(p.head_dim) * 2 * sizeof(float) > 48 * 1024) return cudaErrorNotSupported;
  return cudaSuccess;
}

}  // namespace

size_t attention_naive_scratch_bytes(const AttentionParams& p) {
  // Two [heads * total_q, max_len_k] f32 planes: the forward uses the first,
  // the backward both.
  if (p.heads <= 0 || p.total_q <= 0 || p.max_len_k <= 0) return 0;
  return 2 * size_t(p.heads) * size_t(p.total_q) * size_t(p.max_len_k) * sizeof(float);
}

cudaError_t attention_naive_forward(const AttentionParams& p, void* scratch, cudaStream_t stream) {
  cudaError_t e = naive_check(p, scratch);
  if (e != cudaSuccess) return e;
  if (p.batch == 0 || p.heads == 0 || p.max_len_q == 0) return cudaSuccess;
  const dim3 grid(p.max_len_q, p.heads, p.batch);
  const size_t smem = size_t(p.head_dim) * sizeof(float);
  return dispatch_float_dtype(p.dtype, [&](auto t) -> cudaError_t {
    using T = decltype(t);
    naive_fwd_kernel<T><<<grid, kNaiveThreads, smem, stream>>>(p, static_cast<float*>(scratch));
    return cudaGetLastError();
  });
}

cudaError_t attention_naive_backward(const AttentionGradParams& g, void* scratch, cudaStream_t stream) {
  const AttentionParams& p = g.fwd;
  cudaError_t e = naive_check(p, scratch);
  if (e != cudaSuccess) return e;
  if (p.batch == 0 || p.heads == 0) return cudaSuccess;
  return dispatch_float_dtype(p.dtype, [&](auto t) -> cudaError_t {
    using T = decltype(t);
    if (p.max_len_q > 0) {
      naive_bwd_rows_kernel<T><<<dim3(p.max_len_q, p.heads, p.batch), kNaiveThreads,
                                 2 * size_t(p.head_dim) * sizeof(float), stream>>>(g, static_cast<float*>(scratch));
    }
    if (p.max_len_k > 0) {
      naive_bwd_keys_kernel<T><<<dim3(p.max_len_k, p.heads, p.batch), kNaiveThreads, 0, stream>>>(
          g, static_cast<const float*>(scratch));
    }
    return cudaGetLastError();
  });
}

}  // namespace germ::kernels
