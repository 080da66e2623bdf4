// attention_forward: fused flash-attention forward (FlashAttention-2 schedule).
//
// One CTA = kBlockM query rows of one (batch, head); 4 warps, each owning
// kMFrags x 16 rows. Q fragments are loaded once into registers. Per key block:
//
//   cp.async V[n]            (lands while S = Q K^T runs)
//   S = Q K[n]^T             mma.sync, K fragments by ldmatrix from shared memory
//   scale, ALiBi, mask       in log2 units, folded (online_softmax.cuh): the
//                            scale and ALiBi in alibi_fold_tile / scale_fold_tile
//   barrier; cp.async K[n+1] (lands while the softmax and P V run)
//   online softmax           running max m and sum l per row, O rescaled by
//                            exp2(m_old - m_new); softmax1's null key counted
//                            once, at the end
//   dropout                  Philox keep bits, applied to P after it is summed
//   O += P V[n]              P repacked from the S accumulators (no smem trip)
//
// Flags: head dim and dtype are template parameters (they shape registers);
// causal, ALiBi, normaliser and dropout are runtime and uniform per CTA. The
// per-element mask is only evaluated on key blocks that cross len_k or the
// causal diagonal.
#include "attention.h"
#include "attention_common.cuh"
#include "alibi.cuh"
#include "dropout.cuh"
#include "masks.cuh"
#include "online_softmax.cuh"
#include "../common/launch_utils.cuh"

namespace germ::kernels {
namespace attn_detail {

template <int D, typename T>
struct FlashFwd {
  static constexpr int kBlockM = FwdTraits<D>::kBlockM, kBlockN = FwdTraits<D>::kBlockN;
  static constexpr int kMFrags = kBlockM / 64;  // m16 fragments per warp
  static constexpr int kNFrags = kBlockN / 8;   // n8 fragments of S per row group
  static constexpr int kDFrags = D / 8;         // n8 fragments of O
  static constexpr int kLdS = kLd<D>;
  static constexpr bool kQInRegs = FwdTraits<D>::kQInRegs;
  static constexpr int kSmemElems = (kBlockM + 2 * kBlockN) * kLdS;  // Q, K, V
  static constexpr int kSmemBytes = kSmemElems * 2;

  // Q fragments: in registers for the whole key loop, or (kQInRegs false, to
  // fit a tighter register cap) re-read from shared memory per k-step.
  using QFrags = uint32_t[kQInRegs ? kMFrags : 1][kQInRegs ? D / 16 : 1][4];
  using STile = float[kMFrags][kNFrags][4];

  // A fragment of the warp's m-frag i at k-step kk, from sQ.
  static __device__ __forceinline__ void ldmatrix_q(uint32_t (&a)[4], const T* sQ, int wrow, int i, int kk, int lane) {
    ldmatrix_x4(a, sQ + (wrow + i * 16 + (lane & 15)) * kLdS + kk * 16 + (lane >> 4) * 8);
  }

  // S = Q K^T for the warp's rows (from row wrow of the block) and the block's keys.
  static __device__ __forceinline__ void qk(STile& s, const QFrags& qf, const T* sQ, const T* sK, int wrow,
                                            const Lane& ln) {
#pragma unroll
    for (int i = 0; i < kMFrags; ++i)
#pragma unroll
      for (int j = 0; j < kNFrags; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[i][j][e] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t qs[kQInRegs ? 1 : kMFrags][4];
      if constexpr (!kQInRegs) {
#pragma unroll
        for (int i = 0; i < kMFrags; ++i) ldmatrix_q(qs[i], sQ, wrow, i, kk, ln.lane);
      }
#pragma unroll
      for (int j = 0; j < kNFrags; j += 2) {
        uint32_t r[4];
        ldmatrix_x4(r, sK + (j * 8 + (ln.quad >> 1) * 8 + ln.r8) * kLdS + kk * 16 + (ln.quad & 1) * 8);
#pragma unroll
        for (int i = 0; i < kMFrags; ++i) {
          if constexpr (kQInRegs)
            mma_16816_x2<T>(s[i][j], s[i][j + 1], qf[i][kk], r);
          else
            mma_16816_x2<T>(s[i][j], s[i][j + 1], qs[i], r);
        }
      }
    }
  }

  // O += P V, P straight from the S registers.
  static __device__ __forceinline__ void pv(float (&o)[kMFrags][kDFrags][4], const STile& s, const T* sV,
                                            const Lane& ln) {
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      uint32_t pf[kMFrags][4];
#pragma unroll
      for (int i = 0; i < kMFrags; ++i) acc_to_a<T>(pf[i], s[i][2 * kk], s[i][2 * kk + 1]);
#pragma unroll
      for (int dj = 0; dj < kDFrags; dj += 2) {
        uint32_t r[4];
        ldmatrix_x4_trans(r, sV + (kk * 16 + (ln.quad & 1) * 8 + ln.r8) * kLdS + dj * 8 + (ln.quad >> 1) * 8);
#pragma unroll
        for (int i = 0; i < kMFrags; ++i) mma_16816_x2<T>(o[i][dj], o[i][dj + 1], pf[i], r);
      }
    }
  }

  static __device__ __forceinline__ void run(const AttentionParams& p, T* smem) {
    const Lane ln = this_lane();
    const int b = blockIdx.z, h = blockIdx.y, m0 = blockIdx.x * kBlockM;
    const SeqInfo si = seq_info(p, b, h);
    if (m0 >= si.len_q) return;

    T* sQ = smem;
    T* sK = sQ + kBlockM * kLdS;
    T* sV = sK + kBlockN * kLdS;
    const T* gQ = static_cast<const T*>(p.q) + (si.q0 + m0) * p.q_row_stride + h * D;
    const T* gK = static_cast<const T*>(p.k) + si.k0 * p.k_row_stride + h * D;
    const T* gV = static_cast<const T*>(p.v) + si.k0 * p.v_row_stride + h * D;

    // Key blocks this query block can see: all of len_k, or up to the causal
    // diagonal of its last row (m0 + kBlockM - 1 + diag).
    int n_blocks = static_cast<int>(ceil_div(si.len_k, kBlockN));
    if (p.causal) {
      const int last = m0 + kBlockM + si.diag;  // keys [0, last) visible to some row
      n_blocks = last <= 0 ? 0 : min(n_blocks, static_cast<int>(ceil_div(last, kBlockN)));
    }

    load_tile<kBlockM, D>(sQ, gQ, p.q_row_stride, si.len_q - m0, ln.tid);
    if (n_blocks > 0) load_tile<kBlockN, D>(sK, gK, p.k_row_stride, si.len_k, ln.tid);
    copy_commit();
    copy_wait_all();
    __syncthreads();

    const int wrow = ln.warp * kMFrags * 16;  // first row of this warp in the block
    QFrags qf;
    if constexpr (kQInRegs) {
#pragma unroll
      for (int i = 0; i < kMFrags; ++i)
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) ldmatrix_q(qf[i][kk], sQ, wrow, i, kk, ln.lane);
    }

    const bool softmax1 = p.normalizer == AttnNormalizer::Softmax1;
    const bool alibi = p.alibi_slopes != nullptr, alibi_sym = p.alibi_symmetric, causal = p.causal;
    const bool dropout = p.dropout_p > 0.0f;
    const uint32_t drop_thr = dropout ? dropout_threshold(p.dropout_p) : 0u;
    const float scale2 = p.scale * kLog2e;

    float o[kMFrags][kDFrags][4];
    float row_m[kMFrags][2], row_l[kMFrags][2];
#pragma unroll
    for (int i = 0; i < kMFrags; ++i) {
#pragma unroll
      for (int dj = 0; dj < kDFrags; ++dj)
#pragma unroll
        for (int e = 0; e < 4; ++e) o[i][dj][e] = 0.0f;
#pragma unroll
      for (int rh = 0; rh < 2; ++rh) { row_m[i][rh] = softmax_max_init(softmax1); row_l[i][rh] = 0.0f; }
    }

    for (int nb = 0; nb < n_blocks; ++nb) {
      const int n0 = nb * kBlockN;
      load_tile<kBlockN, D>(sV, gV + n0 * p.v_row_stride, p.v_row_stride, si.len_k - n0, ln.tid);
      copy_commit();

      STile s;
      qk(s, qf, sQ, sK, wrow, ln);

      // Logits s * ks - rowoff in log2 units. -inf from the mask stays -inf
      // through s * ks (ks > 0).
      float rowoff[kMFrags][2];
      const float ks = alibi ? alibi_fold_tile(s, rowoff, scale2, si.alibi2, alibi_sym, m0 + wrow + si.diag - n0,
                                               ln.g, ln.t)
                             : scale_fold_tile(s, rowoff, scale2);
      mask_score_tile(s, si, causal, m0, m0 + wrow, n0, ln.g, ln.t);

      copy_wait_all();
      __syncthreads();  // V[n] visible; every warp is done with K[n]
      if (nb + 1 < n_blocks)
        load_tile<kBlockN, D>(sK, gK + (n0 + kBlockN) * p.k_row_stride, p.k_row_stride, si.len_k - n0 - kBlockN,
                              ln.tid);
      copy_commit();

      float alpha[kMFrags][2];
      const bool grew = online_softmax_block(s, row_m, row_l, alpha, ks, rowoff);
      rescale_acc(o, alpha, grew);
      // l holds the undropped sum; 1 / (1 - p) is applied to O at the end.
      if (dropout) dropout_p_tile(s, p, si.drop_row0, m0 + wrow, n0, drop_thr, ln.g, ln.t);
      pv(o, s, sV, ln);
      copy_wait_all();
      __syncthreads();  // K[n+1] visible; every warp is done with V[n]
    }

    // ---- epilogue: normalise, write O and lse for rows inside the sequence.
    const float drop_scale = dropout ? 1.0f / (1.0f - p.dropout_p) : 1.0f;
    T* gO = static_cast<T*>(p.o) + (si.q0 + m0) * p.o_row_stride + h * D;
#pragma unroll
    for (int i = 0; i < kMFrags; ++i)
#pragma unroll
      for (int rh = 0; rh < 2; ++rh) {
        const float m = row_m[i][rh];
        const float l = softmax_denominator(row_l[i][rh], m, softmax1);
        const float inv = l > 0.0f ? drop_scale / l : 0.0f;
        const int r = wrow + i * 16 + ln.g + rh * 8;
        if (m0 + r < si.len_q) {
          T* dst = gO + r * p.o_row_stride + 2 * ln.t;
#pragma unroll
          for (int dj = 0; dj < kDFrags; ++dj)
            *reinterpret_cast<uint32_t*>(dst + dj * 8) = pack2<T>(o[i][dj][2 * rh] * inv, o[i][dj][2 * rh + 1] * inv);
          if (ln.t == 0) p.lse[int64_t(h) * p.total_q + si.q0 + m0 + r] = softmax_lse(m, l);
        }
      }
  }
};

template <int D, typename T>
__global__ void __launch_bounds__(kThreads, FwdTraits<D>::kMinBlocks) flash_fwd_kernel(const AttentionParams p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  // bf16 MMAs start at sm_80: the sm_75 bf16 instantiation is empty and the
  // host never launches it.
  if constexpr (std::is_same<T, __half>::value || __CUDA_ARCH__ >= 800) {
    extern __shared__ uint4 smem_raw[];
    FlashFwd<D, T>::run(p, reinterpret_cast<T*>(smem_raw));
  }
#endif
}

template <int D, typename T>
cudaError_t launch_fwd(const AttentionParams& p, cudaStream_t stream) {
  using K = FlashFwd<D, T>;
  auto kernel = flash_fwd_kernel<D, T>;
  if (K::kSmemBytes > 48 * 1024) {
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, K::kSmemBytes);
    if (e != cudaSuccess) return e;
  }
  const dim3 grid(static_cast<unsigned>(ceil_div(p.max_len_q, K::kBlockM)), p.heads, p.batch);
  kernel<<<grid, kThreads, K::kSmemBytes, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace attn_detail

// PTX arch of the loaded fused kernels (device_info.cuh): 75 means the
// Turing code path runs, also when compute_75 PTX was JIT-compiled for a newer
// GPU; the bf16 kernels then have no body. 0: no tensor-core image at all.
int attention_code_arch() {
  DeviceInfo d;
  return device_info(&d) == cudaSuccess && d.cc >= 75 ? d.code_arch : 0;
}

bool attention_fused_supported(const AttentionParams& p) {
  if (p.normalizer != AttnNormalizer::Softmax && p.normalizer != AttnNormalizer::Softmax1) return false;
  if (p.dtype != KDType::F16 && p.dtype != KDType::BF16) return false;
  if (p.head_dim != 32 && p.head_dim != 64 && p.head_dim != 128) return false;
  // 16-byte tile loads: every row start must be 16-byte aligned.
  auto ok = [](const void* ptr, int64_t ld) { return ptr == nullptr || (aligned_to(ptr, 16) && ld % 8 == 0); };
  if (!ok(p.q, p.q_row_stride) || !ok(p.k, p.k_row_stride) || !ok(p.v, p.v_row_stride) || !ok(p.o, p.o_row_stride))
    return false;
  const int arch = attention_code_arch();
  return arch >= 75 && (p.dtype != KDType::BF16 || arch >= 80);
}

// Shared by both fused launchers. The caller asked attention_fused_supported
// first, so anything the fused kernels cannot do is a caller bug here, like
// malformed input: cudaErrorInvalidValue.
cudaError_t attention_fused_check(const AttentionParams& p) {
  if (p.batch < 0 || p.heads < 0 || p.max_len_q < 0 || p.max_len_k < 0 || p.heads > 65535 || p.batch > 65535)
    return cudaErrorInvalidValue;
  return attention_fused_supported(p) ? cudaSuccess : cudaErrorInvalidValue;
}

cudaError_t attention_forward(const AttentionParams& p, cudaStream_t stream) {
  cudaError_t e = attention_fused_check(p);
  if (e != cudaSuccess) return e;
  if (p.batch == 0 || p.heads == 0 || p.max_len_q == 0) return cudaSuccess;
  if (p.q == nullptr || p.k == nullptr || p.v == nullptr || p.o == nullptr || p.lse == nullptr)
    return cudaErrorInvalidValue;
  auto by_dim = [&](auto t) -> cudaError_t {
    using T = decltype(t);
    switch (p.head_dim) {
      case 32: return attn_detail::launch_fwd<32, T>(p, stream);
      case 64: return attn_detail::launch_fwd<64, T>(p, stream);
      default: return attn_detail::launch_fwd<128, T>(p, stream);
    }
  };
  return p.dtype == KDType::F16 ? by_dim(__half{}) : by_dim(__nv_bfloat16{});
}

}  // namespace germ::kernels
