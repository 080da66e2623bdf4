// attention_backward: fused flash-attention backward (FlashAttention-2).
//
// Four launches on the stream:
//   1. memset   dq_accum (f32 scratch) = 0
//   2. delta    D_i = rowsum(dO_i * O_i)  (f32 scratch, [heads, total_q])
//   3. main     one CTA per kBlockN = 64 keys of one (batch, head); each warp
//               owns 16 keys, and dK, dV live in its registers. Per query block
//               of kBlockM rows (Q, dO double-buffered by cp.async):
//                 S^T  = K Q^T                     (keys x queries, scores recomputed)
//                 P^T  = exp2(S^T*scale*log2e + bias - lse*log2e), 0 where masked
//                 dV  += (P^T * keep / (1-p)) dO   (P^T repacked from registers)
//                 dP^T = V dO^T, times keep / (1-p)
//                 dS^T = P^T * (dP^T - D)
//                 dK  += dS^T Q
//                 dQ  += dS K  -> dS^T through shared memory, f32 atomicAdd
//                                 (red.global) into dq_accum
//   4. convert  dq = dq_accum * scale in the input dtype (every row of q)
// The transposed formulation (S^T rather than S) lets each warp keep whole key
// rows, so dK and dV never leave registers and need no atomics; only dQ does,
// as in FlashAttention-2.
//
// Registers decide the speed (BwdTraits::kMinBlocks): lse and D of the query
// block go through shared memory (loaded a step ahead, one value per thread)
// rather than 2 * kBlockM / 4 registers per thread, the dropped P^T overwrites
// P^T, dropout bits come from one rolled Philox loop, and exp2 is ex2.approx.
//
// lse guards: a softmax row with no key has lse = -inf; it is read as +inf so
// P = exp2(-inf) = 0 (never -inf - -inf). Query rows past len_q (in the last
// block) read lse = +inf and D = 0, so they add nothing anywhere.
#include "attention.h"
#include "attention_common.cuh"
#include "alibi.cuh"
#include "dropout.cuh"
#include "masks.cuh"
#include "../common/launch_utils.cuh"

namespace germ::kernels {
namespace attn_detail {

// Scratch layout (bytes): [dq_accum: total_q * heads * D f32][delta: heads * total_q f32].
inline size_t dq_accum_bytes(const AttentionParams& p) {
  return static_cast<size_t>(ceil_div(p.total_q * p.heads * p.head_dim * 4, 256) * 256);
}

// ---- 2. delta -----------------------------------------------------------------------
// One warp per (row, head): dO . O over head_dim.
template <typename T>
__global__ void __launch_bounds__(kThreads) bwd_delta_kernel(const AttentionGradParams g, float* delta) {
  const AttentionParams& p = g.fwd;
  const int b = blockIdx.z, h = blockIdx.y, lane = threadIdx.x & 31;
  const int i = blockIdx.x * (kThreads / 32) + (threadIdx.x >> 5);
  if (i >= p.seq_q_len[b]) return;
  const int64_t row = p.seq_q_start[b] + i;
  const T* o = static_cast<const T*>(p.o) + row * p.o_row_stride + h * p.head_dim;
  const T* d = static_cast<const T*>(g.dout) + row * g.dout_row_stride + h * p.head_dim;
  float acc = 0.0f;
  for (int c = lane; c < p.head_dim; c += 32) acc += to_f32(o[c]) * to_f32(d[c]);
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, off);
  if (lane == 0) delta[int64_t(h) * p.total_q + row] = acc;
}

// ---- 3. main ------------------------------------------------------------------------

template <int D, typename T>
struct FlashBwd {
  static constexpr int kBlockN = BwdTraits<D>::kBlockN;  // keys per CTA (16 per warp)
  static constexpr int kBlockM = BwdTraits<D>::kBlockM;  // queries per step
  static constexpr int kQFrags = kBlockM / 8;            // n8 fragments of S^T
  static constexpr int kDFrags = D / 8;
  static constexpr int kLdS = kLd<D>;
  static constexpr int kLdDs = kBlockM + 8;
  // dQ = dS K: warp grid over the kBlockM x D tile.
  static constexpr int kWarpsM = kBlockM / 16, kWarpsN = 4 / kWarpsM;
  static constexpr int kDqCols = D / kWarpsN, kDqFrags = kDqCols / 8;
  static_assert(kWarpsM * kWarpsN == 4 && kDqFrags % 2 == 0, "dQ warp grid");
  // Q / dO stages: 2 with cp.async (sm_80+), 1 on sm_75 (64 KB of shared memory).
  static constexpr int stage_elems() { return 2 * kBlockM * kLdS; }
  // + per stage: lse (log2 units, +inf past len_q) and D of the block's rows, f32.
  static constexpr int smem_bytes(int stages) {
    return 2 * (2 * kBlockN * kLdS + stages * stage_elems() + kBlockN * kLdDs) + stages * 2 * kBlockM * 4;
  }

  using QTile = float[kQFrags][4];  // a warp's 16 keys x kBlockM queries
  using DTile = float[kDFrags][4];  // a warp's 16 keys x D

  // dV += Pd^T dO and dK += dS^T Q: A from registers, B = [q][d] via .trans.
  static __device__ __forceinline__ void accumulate_dv_dk(DTile& dv, DTile& dk, const QTile& pdt, const QTile& dst,
                                                          const T* sdO, const T* sQ, const Lane& ln) {
#pragma unroll
    for (int kk = 0; kk < kBlockM / 16; ++kk) {
      uint32_t pa[4], sa[4];
      acc_to_a<T>(pa, pdt[2 * kk], pdt[2 * kk + 1]);
      acc_to_a<T>(sa, dst[2 * kk], dst[2 * kk + 1]);
#pragma unroll
      for (int dj = 0; dj < kDFrags; dj += 2) {
        uint32_t r[4];
        const int off = (kk * 16 + (ln.quad & 1) * 8 + ln.r8) * kLdS + dj * 8 + (ln.quad >> 1) * 8;
        ldmatrix_x4_trans(r, sdO + off);
        mma_16816_x2<T>(dv[dj], dv[dj + 1], pa, r);
        ldmatrix_x4_trans(r, sQ + off);
        mma_16816_x2<T>(dk[dj], dk[dj + 1], sa, r);
      }
    }
  }

  // dq_accum += the warp's dQ tile (rows m0 + qm .., columns qn ..), rows inside
  // the sequence only.
  static __device__ __forceinline__ void add_dq(float* dq_accum, const float (&dq)[kDqFrags][4],
                                                const AttentionParams& p, const SeqInfo& si, int h, int m0, int qm,
                                                int qn, const Lane& ln) {
    const int g = ln.g, t = ln.t;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    // Hopper: one 16-byte red.global.add.v4.f32 per fragment instead of four
    // scalar atomics (measured: ~10% of the backward at d=64). Lanes t and t^1 swap
    // halves so an even t holds row g, cols 4(t/2)..+3 and an odd t row g+8.
    const bool odd = t & 1;
    const int q = m0 + qm + g + (odd ? 8 : 0);
    float* dst = dq_accum + (si.q0 + q) * int64_t(p.heads) * D + h * D + qn + 4 * (t >> 1);
#pragma unroll
    for (int nj = 0; nj < kDqFrags; ++nj) {
      const float s0 = odd ? dq[nj][0] : dq[nj][2], s1 = odd ? dq[nj][1] : dq[nj][3];
      const float r0 = __shfl_xor_sync(0xffffffffu, s0, 1), r1 = __shfl_xor_sync(0xffffffffu, s1, 1);
      const float a0 = odd ? r0 : dq[nj][0], a1 = odd ? r1 : dq[nj][1];
      const float a2 = odd ? dq[nj][2] : r0, a3 = odd ? dq[nj][3] : r1;
      if (q < si.len_q)
        asm volatile("red.global.add.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"l"(dst + nj * 8), "f"(a0), "f"(a1),
                     "f"(a2), "f"(a3)
                     : "memory");
    }
#else
#pragma unroll
    for (int rh = 0; rh < 2; ++rh) {
      const int q = m0 + qm + g + rh * 8;
      if (q < si.len_q) {
        float* dst = dq_accum + (si.q0 + q) * int64_t(p.heads) * D + h * D + qn + 2 * t;
#pragma unroll
        for (int nj = 0; nj < kDqFrags; ++nj) {
          atomicAdd(dst + nj * 8, dq[nj][2 * rh]);
          atomicAdd(dst + nj * 8 + 1, dq[nj][2 * rh + 1]);
        }
      }
    }
#endif
  }

  static __device__ __forceinline__ void run(const AttentionGradParams& gp, float* dq_accum, const float* delta,
                                             T* smem) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    constexpr int kStages = 2;
#else
    constexpr int kStages = 1;
#endif
    const AttentionParams& p = gp.fwd;
    const Lane ln = this_lane();
    const int tid = ln.tid, g = ln.g, t = ln.t;
    const int b = blockIdx.z, h = blockIdx.y, n0 = blockIdx.x * kBlockN;
    const SeqInfo si = seq_info(p, b, h);
    if (n0 >= si.len_k) return;

    T* sK = smem;
    T* sV = sK + kBlockN * kLdS;
    T* sQ0 = sV + kBlockN * kLdS;  // stage s: Q at sQ0 + s*stage, dO right after Q
    T* sdS = sQ0 + kStages * stage_elems();
    float* sStat = reinterpret_cast<float*>(sdS + kBlockN * kLdDs);  // stage s: lse2 at s*2*kBlockM, D after
    const T* gQ = static_cast<const T*>(p.q) + si.q0 * p.q_row_stride + h * D;
    const T* gdO = static_cast<const T*>(gp.dout) + si.q0 * gp.dout_row_stride + h * D;

    // Query blocks that see this key block: causal rows i >= n0 - diag.
    const int m_lo = p.causal ? max(0, n0 - si.diag) : 0;
    const int it_begin = m_lo / kBlockM;
    const int it_end = si.len_q > m_lo ? static_cast<int>(ceil_div(si.len_q, kBlockM)) : it_begin;

    auto load_q = [&](int it, int stage) {
      const int m0 = it * kBlockM;
      T* s = sQ0 + stage * stage_elems();
      load_tile<kBlockM, D>(s, gQ + m0 * p.q_row_stride, p.q_row_stride, si.len_q - m0, tid);
      load_tile<kBlockM, D>(s + kBlockM * kLdS, gdO + m0 * gp.dout_row_stride, gp.dout_row_stride, si.len_q - m0, tid);
    };
    load_tile<kBlockN, D>(sK, static_cast<const T*>(p.k) + (si.k0 + n0) * p.k_row_stride + h * D, p.k_row_stride,
                          si.len_k - n0, tid);
    load_tile<kBlockN, D>(sV, static_cast<const T*>(p.v) + (si.k0 + n0) * p.v_row_stride + h * D, p.v_row_stride,
                          si.len_k - n0, tid);
    // Row statistics of a query block, one value per thread (tid < kBlockM: lse in
    // log2 units, -inf read as +inf; then D); rows past len_q: +inf and 0, so
    // they add nothing (P = 0) whatever their bias.
    auto fetch_stat = [&](int it) -> float {
      const int r = tid % kBlockM, q = it * kBlockM + r;
      const bool is_lse = tid < kBlockM;
      float v = is_lse ? INFINITY : 0.0f;
      if (tid < 2 * kBlockM && q < si.len_q) {
        const int64_t idx = int64_t(h) * p.total_q + si.q0 + q;
        if (is_lse) {
          const float l = p.lse[idx];
          v = l == -INFINITY ? INFINITY : l * kLog2e;
        } else {
          v = delta[idx];
        }
      }
      return v;
    };
    if (kStages == 2 && it_begin < it_end) {
      load_q(it_begin, 0);
      if (tid < 2 * kBlockM) sStat[tid] = fetch_stat(it_begin);
    }
    copy_commit();

    const bool alibi = p.alibi_slopes != nullptr, alibi_sym = p.alibi_symmetric, causal = p.causal;
    const bool dropout = p.dropout_p > 0.0f;
    const uint32_t drop_thr = dropout ? dropout_threshold(p.dropout_p) : 0u;
    const float rdrop = dropout ? 1.0f / (1.0f - p.dropout_p) : 1.0f;
    const float scale2 = p.scale * kLog2e;
    const int kw = ln.warp * 16;  // this warp's first key in the block

    DTile dk, dv;
#pragma unroll
    for (int dj = 0; dj < kDFrags; ++dj)
#pragma unroll
      for (int e = 0; e < 4; ++e) { dk[dj][e] = 0.0f; dv[dj][e] = 0.0f; }

    for (int it = it_begin; it < it_end; ++it) {
      const int m0 = it * kBlockM;
      int stage = 0;
      // Statistics of the next block: loaded now, stored to the other stage at the
      // end of this step (a whole step of latency hidden; that stage was last read
      // before this step's first barrier).
      float stat_next = 0.0f;
      if constexpr (kStages == 2) {
        stage = (it - it_begin) & 1;
        copy_wait_all();
        __syncthreads();  // Q/dO[it] visible; the other stage and sdS are free
        if (it + 1 < it_end) {
          load_q(it + 1, stage ^ 1);
          stat_next = fetch_stat(it + 1);
        }
        copy_commit();
      } else {
        __syncthreads();  // the previous step is done with the stage and sdS
        load_q(it, 0);
        if (tid < 2 * kBlockM) sStat[tid] = fetch_stat(it);
        __syncthreads();
      }
      const T* sQ = sQ0 + stage * stage_elems();
      const T* sdO = sQ + kBlockM * kLdS;
      const float* sLse = sStat + stage * 2 * kBlockM;
      const float* sDlt = sLse + kBlockM;

      // ---- S^T = K Q^T and dP^T = V dO^T (same operand pattern). This loop and
      // dQ's stay inline: moved into helpers, nvcc orders the kernel differently
      // and the register-capped d=32 build spills more (sm_80: 44 -> 48 bytes).
      QTile st, dpt;
#pragma unroll
      for (int j = 0; j < kQFrags; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) { st[j][e] = 0.0f; dpt[j][e] = 0.0f; }
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        uint32_t ka[4], va[4];
        ldmatrix_x4(ka, sK + (kw + (ln.lane & 15)) * kLdS + kk * 16 + (ln.lane >> 4) * 8);
        ldmatrix_x4(va, sV + (kw + (ln.lane & 15)) * kLdS + kk * 16 + (ln.lane >> 4) * 8);
#pragma unroll
        for (int j = 0; j < kQFrags; j += 2) {
          uint32_t r[4];
          const int off = (j * 8 + (ln.quad >> 1) * 8 + ln.r8) * kLdS + kk * 16 + (ln.quad & 1) * 8;
          ldmatrix_x4(r, sQ + off);
          mma_16816_x2<T>(st[j], st[j + 1], ka, r);
          ldmatrix_x4(r, sdO + off);
          mma_16816_x2<T>(dpt[j], dpt[j + 1], va, r);
        }
      }

      // ---- P^T, dropout, dS^T per element (key kr, query qc): st becomes the
      // dropped P^T (for dV), dpt becomes dS^T. The block mask test is
      // mask_score_tile's (masks.cuh).
      const bool need_mask = n0 + kBlockN > si.len_k || (causal && n0 + kBlockN - 1 > m0 + si.diag);
      uint32_t keep_bits = 0;  // bit 4j + e for element (j, e)
      if (dropout) {
        static_assert(kQFrags * 4 <= 32, "keep bits in one word");
#pragma unroll 1
        for (int idx = 0; idx < kQFrags * 4; ++idx) {
          const int e = idx & 3, kr = n0 + kw + g + (e >> 1) * 8, qc = m0 + (idx >> 2) * 8 + 2 * t + (e & 1);
          if (qc < si.len_q && dropout_keep1(p.seed, p.offset, si.drop_row0 + qc, kr, drop_thr)) keep_bits |= 1u << idx;
        }
      }
      // ALiBi distance qc + diag - kr from one float per row half (alibi.cuh).
      float fb[2];
#pragma unroll
      for (int rh = 0; rh < 2; ++rh) fb[rh] = static_cast<float>(m0 + 2 * t + si.diag - n0 - kw - g - rh * 8);
#pragma unroll
      for (int j = 0; j < kQFrags; ++j) {
        const float2 lse2 = *reinterpret_cast<const float2*>(sLse + j * 8 + 2 * t);
        const float2 dlt = *reinterpret_cast<const float2*>(sDlt + j * 8 + 2 * t);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int kr = n0 + kw + g + (e >> 1) * 8, qc = m0 + j * 8 + 2 * t + (e & 1);
          float v = st[j][e] * scale2;
          if (alibi) {
            const float dist = fb[e >> 1] + static_cast<float>(j * 8 + (e & 1));
            v -= alibi_penalty(si.alibi2, dist, alibi_sym);
          }
          if (need_mask && key_masked(si, causal, qc, kr)) v = -INFINITY;
          const float pv = ex2_approx(v - ((e & 1) ? lse2.y : lse2.x));
          float dp = dpt[j][e];
          float pdv = pv;
          if (dropout) {
            const bool keep = (keep_bits >> (j * 4 + e)) & 1u;
            pdv = dropped(keep, pv, rdrop);
            dp = dropped(keep, dp, rdrop);
          }
          st[j][e] = pdv;
          dpt[j][e] = pv * (dp - ((e & 1) ? dlt.y : dlt.x));
        }
      }

      accumulate_dv_dk(dv, dk, st, dpt, sdO, sQ, ln);

      // ---- dS^T to shared memory, then dQ = dS K into dq_accum.
#pragma unroll
      for (int j = 0; j < kQFrags; ++j)
#pragma unroll
        for (int rh = 0; rh < 2; ++rh)
          *reinterpret_cast<uint32_t*>(sdS + (kw + g + rh * 8) * kLdDs + j * 8 + 2 * t) =
              pack2<T>(dpt[j][2 * rh], dpt[j][2 * rh + 1]);
      __syncthreads();
      const int qm = (ln.warp % kWarpsM) * 16, qn = (ln.warp / kWarpsM) * kDqCols;
      float dq[kDqFrags][4];
#pragma unroll
      for (int nj = 0; nj < kDqFrags; ++nj)
#pragma unroll
        for (int e = 0; e < 4; ++e) dq[nj][e] = 0.0f;
#pragma unroll
      for (int kk = 0; kk < kBlockN / 16; ++kk) {
        uint32_t a[4];
        // dS [q][key] is stored transposed ([key][q]): the GEMM's trans_a pattern.
        ldmatrix_x4_trans(a, sdS + (kk * 16 + (ln.quad >> 1) * 8 + ln.r8) * kLdDs + qm + (ln.quad & 1) * 8);
#pragma unroll
        for (int nj = 0; nj < kDqFrags; nj += 2) {
          uint32_t r[4];
          ldmatrix_x4_trans(r, sK + (kk * 16 + (ln.quad & 1) * 8 + ln.r8) * kLdS + qn + nj * 8 + (ln.quad >> 1) * 8);
          mma_16816_x2<T>(dq[nj], dq[nj + 1], a, r);
        }
      }
      add_dq(dq_accum, dq, p, si, h, m0, qm, qn, ln);
      if (kStages == 2 && it + 1 < it_end && tid < 2 * kBlockM) sStat[(stage ^ 1) * 2 * kBlockM + tid] = stat_next;
    }
    copy_wait_all();  // nothing is in flight past the loop, but keep the group count honest

    // ---- dK (times scale) and dV for keys inside the sequence.
    T* gdK = static_cast<T*>(gp.dk) + (si.k0 + n0) * gp.dk_row_stride + h * D;
    T* gdV = static_cast<T*>(gp.dv) + (si.k0 + n0) * gp.dv_row_stride + h * D;
#pragma unroll
    for (int rh = 0; rh < 2; ++rh) {
      const int r = kw + g + rh * 8;
      if (n0 + r < si.len_k) {
#pragma unroll
        for (int dj = 0; dj < kDFrags; ++dj) {
          *reinterpret_cast<uint32_t*>(gdK + r * gp.dk_row_stride + dj * 8 + 2 * t) =
              pack2<T>(dk[dj][2 * rh] * p.scale, dk[dj][2 * rh + 1] * p.scale);
          *reinterpret_cast<uint32_t*>(gdV + r * gp.dv_row_stride + dj * 8 + 2 * t) =
              pack2<T>(dv[dj][2 * rh], dv[dj][2 * rh + 1]);
        }
      }
    }
  }
};

template <int D, typename T>
__global__ void __launch_bounds__(kThreads, BwdTraits<D>::kMinBlocks) flash_bwd_kernel(const AttentionGradParams g, float* dq_accum,
                                                             const float* delta) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  if constexpr (std::is_same<T, __half>::value || __CUDA_ARCH__ >= 800) {
    extern __shared__ uint4 smem_raw[];
    FlashBwd<D, T>::run(g, dq_accum, delta, reinterpret_cast<T*>(smem_raw));
  }
#endif
}

// ---- 4. convert ---------------------------------------------------------------------
template <typename T>
__global__ void bwd_dq_convert_kernel(const float* acc, T* dq, int64_t rows, int cols, int64_t ld, float scale) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols;
    dq[r * ld + (i - r * cols)] = from_f32<T>(acc[i] * scale);
  }
}

template <int D, typename T>
cudaError_t launch_bwd(const AttentionGradParams& g, void* scratch, int code_arch, cudaStream_t stream) {
  const AttentionParams& p = g.fwd;
  float* dq_accum = static_cast<float*>(scratch);
  float* delta = reinterpret_cast<float*>(static_cast<char*>(scratch) + dq_accum_bytes(p));
  cudaError_t e = cudaMemsetAsync(dq_accum, 0, size_t(p.total_q) * p.heads * D * sizeof(float), stream);
  if (e != cudaSuccess) return e;
  const dim3 dgrid(static_cast<unsigned>(ceil_div(p.max_len_q, kThreads / 32)), p.heads, p.batch);
  bwd_delta_kernel<T><<<dgrid, kThreads, 0, stream>>>(g, delta);

  using K = FlashBwd<D, T>;
  const int smem = K::smem_bytes(code_arch >= 80 ? 2 : 1);
  auto kernel = flash_bwd_kernel<D, T>;
  if (smem > 48 * 1024) {
    e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
    if (e != cudaSuccess) return e;
  }
  const dim3 grid(static_cast<unsigned>(ceil_div(p.max_len_k, K::kBlockN)), p.heads, p.batch);
  if (p.max_len_k > 0) kernel<<<grid, kThreads, smem, stream>>>(g, dq_accum, delta);

  const int cols = p.heads * D;
  bwd_dq_convert_kernel<T><<<grid_stride_blocks(p.total_q * cols, 256 * 4), 256, 0, stream>>>(
      dq_accum, static_cast<T*>(g.dq), p.total_q, cols, g.dq_row_stride, p.scale);
  return cudaGetLastError();
}

}  // namespace attn_detail

size_t attention_backward_scratch_bytes(const AttentionParams& p) {
  if (p.total_q <= 0 || p.heads <= 0 || p.head_dim <= 0) return 0;
  return attn_detail::dq_accum_bytes(p) + static_cast<size_t>(p.heads) * p.total_q * sizeof(float);
}

bool attention_backward_fused_supported(const AttentionGradParams& g) {
  auto ok = [](const void* ptr, int64_t ld) { return aligned_to(ptr, 16) && ld % 8 == 0; };
  return attention_fused_supported(g.fwd) && ok(g.dout, g.dout_row_stride) && ok(g.dk, g.dk_row_stride) &&
         ok(g.dv, g.dv_row_stride) && aligned_to(g.dq, 2);
}

cudaError_t attention_backward(const AttentionGradParams& g, void* scratch, cudaStream_t stream) {
  const AttentionParams& p = g.fwd;
  cudaError_t e = attention_fused_check(p);
  if (e != cudaSuccess) return e;
  // No live query row (every length 0): no gradient flows, and the delta
  // kernel's grid would be empty (cudaErrorInvalidValue). The op zeroes dq, dk, dv.
  if (p.batch == 0 || p.heads == 0 || p.total_q == 0 || p.max_len_q == 0) return cudaSuccess;
  if (p.q == nullptr || p.k == nullptr || p.v == nullptr || p.o == nullptr || p.lse == nullptr ||
      g.dout == nullptr || g.dq == nullptr || g.dk == nullptr || g.dv == nullptr || scratch == nullptr ||
      !aligned_to(scratch, 16))  // 16-byte dQ reductions
    return cudaErrorInvalidValue;
  if (!attention_backward_fused_supported(g)) return cudaErrorInvalidValue;
  const int arch = attention_code_arch();
  auto by_dim = [&](auto t) -> cudaError_t {
    using T = decltype(t);
    switch (p.head_dim) {
      case 32: return attn_detail::launch_bwd<32, T>(g, scratch, arch, stream);
      case 64: return attn_detail::launch_bwd<64, T>(g, scratch, arch, stream);
      default: return attn_detail::launch_bwd<128, T>(g, scratch, arch, stream);
    }
  };
  return p.dtype == KDType::F16 ? by_dim(__half{}) : by_dim(__nv_bfloat16{});
}

}  // namespace germ::kernels
