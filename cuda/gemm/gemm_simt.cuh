// SIMT GEMM: register-tiled, exact f32 FMA accumulation (no TF32), for f32 and
// for f16/bf16 operands the tensor-core kernel cannot take (bf16 on sm_75,
// operands that are not 16-byte aligned or have ld / batch strides that are not
// multiples of 8). Every global load is a guarded scalar, so any layout, any
// alignment and any m, n, k work.
//
// Per k-step of BK: each thread loads its share of the BM x BK and BK x BN tiles
// (in the order that is coalesced for the operand's layout) into registers, the
// tiles are stored to shared memory as f32 with K outermost ([BK][BM], [BK][BN]),
// and each thread accumulates a TM x TN outer product per k. The next k-tile's
// global loads are issued before the current tile's FMAs, and the two shared
// buffers alternate, so one barrier per k-step suffices.
#pragma once
#include "gemm_common.cuh"
#include "gemm_traits.h"

namespace germ::kernels::gemm_detail {

template <class Tr, typename T>
__global__ void __launch_bounds__(Tr::kThreads) gemm_simt_kernel(GemmParams p) {
  constexpr int BM = Tr::BM, BN = Tr::BN, BK = Tr::BK, TM = Tr::TM, TN = Tr::TN;
  constexpr int kThreads = Tr::kThreads;
  constexpr int kLoadA = BM * BK / kThreads, kLoadB = BK * BN / kThreads;
  // Sub-tiles of 4 rows (cols) spaced kStrideM (kStrideN) apart: a warp's float4
  // reads of one k-row of Bs then cover consecutive 16-byte words.
  constexpr int kStrideM = BM / (TM / 4), kStrideN = BN / (TN / 4);
  __shared__ __align__(16) float As[2][BK][BM];
  __shared__ __align__(16) float Bs[2][BK][BN];

  const int tid = threadIdx.x;
  const int tx = tid % Tr::kThreadsN, ty = tid / Tr::kThreadsN;
  const int64_t tiles_m = ceil_div(p.m, BM), tiles_n = ceil_div(p.n, BN);
  const int64_t ktiles = ceil_div(p.k, BK);

  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    int64_t tm, tn;
    tile_coords(blockIdx.x, tiles_m, tiles_n, &tm, &tn);
    const int64_t m0 = tm * BM, n0 = tn * BN;
    const T* A = static_cast<const T*>(p.a) + bz * p.stride_a;
    const T* B = static_cast<const T*>(p.b) + bz * p.stride_b;

    // Element e of a tile -> (mn, k). Consecutive threads walk the operand's
    // contiguous global dimension, so each warp's loads coalesce.
    float ra[kLoadA], rb[kLoadB];
    auto fetch = [&](int64_t k0) {
#pragma unroll
      for (int i = 0; i < kLoadA; ++i) {
        const int e = tid + i * kThreads;
        const int mm = p.trans_a ? e % BM : e / BK;
        const int kk = p.trans_a ? e / BM : e % BK;
        const int64_t gm = m0 + mm, gk = k0 + kk;
        ra[i] = (gm < p.m && gk < p.k) ? to_f32(p.trans_a ? A[gk * p.lda + gm] : A[gm * p.lda + gk]) : 0.0f;
      }
#pragma unroll
      for (int i = 0; i < kLoadB; ++i) {
        const int e = tid + i * kThreads;
        const int nn = p.trans_b ? e / BK : e % BN;
        const int kk = p.trans_b ? e % BK : e / BN;
        const int64_t gn = n0 + nn, gk = k0 + kk;
        rb[i] = (gn < p.n && gk < p.k) ? to_f32(p.trans_b ? B[gn * p.ldb + gk] : B[gk * p.ldb + gn]) : 0.0f;
      }
    };
    auto stash = [&](int buf) {
#pragma unroll
      for (int i = 0; i < kLoadA; ++i) {
        const int e = tid + i * kThreads;
        As[buf][p.trans_a ? e / BM : e % BK][p.trans_a ? e % BM : e / BK] = ra[i];
      }
#pragma unroll
      for (int i = 0; i < kLoadB; ++i) {
        const int e = tid + i * kThreads;
        Bs[buf][p.trans_b ? e % BK : e / BN][p.trans_b ? e / BK : e % BN] = rb[i];
      }
    };

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    if (ktiles > 0) { fetch(0); stash(0); }
    __syncthreads();
    for (int64_t kt = 0; kt < ktiles; ++kt) {
      const int buf = static_cast<int>(kt & 1);
      if (kt + 1 < ktiles) fetch((kt + 1) * BK);
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) {
        float a[TM], b[TN];
#pragma unroll
        for (int i = 0; i < TM / 4; ++i)
          *reinterpret_cast<float4*>(&a[i * 4]) = *reinterpret_cast<const float4*>(&As[buf][kk][i * kStrideM + ty * 4]);
#pragma unroll
        for (int j = 0; j < TN / 4; ++j)
          *reinterpret_cast<float4*>(&b[j * 4]) = *reinterpret_cast<const float4*>(&Bs[buf][kk][j * kStrideN + tx * 4]);
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
      }
      if (kt + 1 < ktiles) stash(buf ^ 1);  // the other buffer: last read before the previous barrier
      __syncthreads();
    }

    T* c = static_cast<T*>(p.c) + bz * p.stride_c;
    const T* bias = static_cast<const T*>(p.bias);
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const int64_t row = m0 + (i / 4) * kStrideM + ty * 4 + (i % 4);
        const int64_t col = n0 + (j / 4) * kStrideN + tx * 4 + (j % 4);
        if (row < p.m && col < p.n) store_output(p, c, bias, row, col, acc[i][j]);
      }
  }
}

}  // namespace germ::kernels::gemm_detail
