// attention_forward: fused flash-attention forward (FlashAttention-2 schedule).
//
// One CTA = kBlockM query rows of one (batch, head); 4 warps, each owning
// kMFrags x 16 rows. Q fragments are loaded once into registers. Per key block:
//
//   cp.async V[n]            (lands while S = Q K^T runs)
//   S = Q K[n]^T             mma.sync, K fragments by ldmatrix from shared memory
//   scale, ALiBi, mask       in log2 units (scale * log2 e folded in once)
//   barrier; cp.async K[n+1] (lands while the softmax and P V run)
//   online softmax           running max m and sum l per row, O rescaled by
//                            exp2(m_old - m_new); softmax1 starts m at 0, the
//                            null key's logit, and adds its exp2(-m) to l at the
//                            end, so the null key is counted exactly once
//   dropout                  Philox keep bits, applied to P after it is summed
//   O += P V[n]              P repacked from the S accumulators (no smem trip)
//
// Rows with no visible key: softmax keeps m = -inf and l = 0, so O = 0 and lse
// = -inf; softmax1 keeps m = 0 and l = 1, so O = 0 and lse = 0 (the contract).
// The exponent base for a row whose running max is still -inf is taken as 0,
// so exp2(-inf - -inf) never makes a NaN.
//
// Flags: head dim and dtype are template parameters (they shape registers);
// causal, ALiBi, normaliser and dropout are runtime and uniform per CTA. The
// per-element mask is only evaluated on key blocks that cross len_k or the
// causal diagonal.
#include "attention.h"
#include "attention_common.cuh"
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

  static __device__ __forceinline__ void run(const AttentionParams& p, T* smem) {
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3, quad = lane >> 3, r8 = lane & 7;
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

    load_tile<kBlockM, D>(sQ, gQ, p.q_row_stride, si.len_q - m0, tid);
    if (n_blocks > 0) load_tile<kBlockN, D>(sK, gK, p.k_row_stride, si.len_k, tid);
    copy_commit();
    copy_wait_all();
    __syncthreads();

    const int wrow = warp * kMFrags * 16;  // first row of this warp in the block
    // Q fragments: in registers for the whole key loop, or (kQInRegs false,
    // to fit a tighter register cap) re-read from shared memory per k-step.
    uint32_t qf[kQInRegs ? kMFrags : 1][kQInRegs ? D / 16 : 1][4];
    if constexpr (kQInRegs) {
#pragma unroll
      for (int i = 0; i < kMFrags; ++i)
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk)
          ldmatrix_x4(qf[i][kk], sQ + (wrow + i * 16 + (lane & 15)) * kLdS + kk * 16 + (lane >> 4) * 8);
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
      for (int rh = 0; rh < 2; ++rh) { row_m[i][rh] = softmax1 ? 0.0f : -INFINITY; row_l[i][rh] = 0.0f; }
    }

    for (int nb = 0; nb < n_blocks; ++nb) {
      const int n0 = nb * kBlockN;
      load_tile<kBlockN, D>(sV, gV + n0 * p.v_row_stride, p.v_row_stride, si.len_k - n0, tid);
      copy_commit();

      // ---- S = Q K^T
      float s[kMFrags][kNFrags][4];
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
          for (int i = 0; i < kMFrags; ++i)
            ldmatrix_x4(qs[i], sQ + (wrow + i * 16 + (lane & 15)) * kLdS + kk * 16 + (lane >> 4) * 8);
        }
#pragma unroll
        for (int j = 0; j < kNFrags; j += 2) {
          uint32_t r[4];
          ldmatrix_x4(r, sK + (j * 8 + (quad >> 1) * 8 + r8) * kLdS + kk * 16 + (quad & 1) * 8);
#pragma unroll
          for (int i = 0; i < kMFrags; ++i) {
            const uint32_t(&a)[4] = kQInRegs ? qf[kQInRegs ? i : 0][kQInRegs ? kk : 0] : qs[kQInRegs ? 0 : i];
            mma_16816<T>(s[i][j], a, r[0], r[1]);
            mma_16816<T>(s[i][j + 1], a, r[2], r[3]);
          }
        }
      }

      // ---- scores in log2 units, stored as s' with the row's true logit
      // s' * ks - rowoff (FA2's folding: the scale, a per-row offset and the
      // running max meet in one FMA inside exp2).
      //  * no bias: s' = s raw, ks = scale2, rowoff = 0.
      //  * ALiBi: dist = fb - (8j + c) with fb = row + diag - n0 - 2t per row.
      //    Where a warp's 32 x 64 tile lies on one side of the diagonal (or the
      //    bias is causal / one-sided), bias = sa * dist is linear (sa =
      //    +-alibi2): s' = fma(s, scale2, sa * (8j + c)) (one FMA per element,
      //    all per-column factors small and exact), rowoff = sa * fb.
      //    The tiles that cross the diagonal of symmetric ALiBi take |dist|
      //    per element (rowoff = 0). Distances are floats per row: an
      //    int->float per element would share the MUFU pipe with exp2.
      float rowoff[kMFrags][2];
      float ks = scale2;
      if (alibi) {
        ks = 1.0f;
        const int dbase = m0 + wrow + si.diag - n0;  // dist of (first row, first col)
        const bool below = dbase - (kBlockN - 1) >= 0, above = dbase + kMFrags * 16 - 1 <= 0;
        if (!alibi_sym || below || above) {
          const float sa = (alibi_sym && above) ? -si.alibi2 : si.alibi2;
#pragma unroll
          for (int i = 0; i < kMFrags; ++i)
#pragma unroll
            for (int rh = 0; rh < 2; ++rh)
              rowoff[i][rh] = sa * static_cast<float>(dbase + i * 16 + g + rh * 8 - 2 * t);
#pragma unroll
          for (int j = 0; j < kNFrags; ++j)
#pragma unroll
            for (int c = 0; c < 2; ++c) {
              const float a = sa * static_cast<float>(j * 8 + c);
#pragma unroll
              for (int i = 0; i < kMFrags; ++i)
#pragma unroll
                for (int rh = 0; rh < 2; ++rh) s[i][j][2 * rh + c] = fmaf(s[i][j][2 * rh + c], scale2, a);
            }
        } else {
#pragma unroll
          for (int i = 0; i < kMFrags; ++i)
#pragma unroll
            for (int rh = 0; rh < 2; ++rh) {
              rowoff[i][rh] = 0.0f;
              const float fb = static_cast<float>(dbase + i * 16 + g + rh * 8 - 2 * t);
#pragma unroll
              for (int j = 0; j < kNFrags; ++j)
#pragma unroll
                for (int c = 0; c < 2; ++c) {
                  const float dist = fb - static_cast<float>(j * 8 + c);
                  s[i][j][2 * rh + c] = fmaf(s[i][j][2 * rh + c], scale2, -si.alibi2 * fabsf(dist));
                }
            }
        }
      } else {
#pragma unroll
        for (int i = 0; i < kMFrags; ++i) rowoff[i][0] = rowoff[i][1] = 0.0f;
        if (!(scale2 > 0.0f)) {  // the max of s * ks is ks * max(s) only for ks > 0
          ks = 1.0f;
#pragma unroll
          for (int i = 0; i < kMFrags; ++i)
#pragma unroll
            for (int j = 0; j < kNFrags; ++j)
#pragma unroll
              for (int e = 0; e < 4; ++e) s[i][j][e] *= scale2;
        }
      }
      // The mask is only evaluated on blocks that cross len_k or the causal
      // diagonal; -inf stays -inf through s' * ks (ks > 0).
      const bool need_mask = n0 + kBlockN > si.len_k || (causal && n0 + kBlockN - 1 > m0 + si.diag);
      if (need_mask) {
#pragma unroll
        for (int i = 0; i < kMFrags; ++i)
#pragma unroll
          for (int j = 0; j < kNFrags; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int row = m0 + wrow + i * 16 + g + (e >> 1) * 8, col = n0 + j * 8 + 2 * t + (e & 1);
              if (col >= si.len_k || (causal && col > row + si.diag)) s[i][j][e] = -INFINITY;
            }
      }

      copy_wait_all();
      __syncthreads();  // V[n] visible; every warp is done with K[n]
      if (nb + 1 < n_blocks)
        load_tile<kBlockN, D>(sK, gK + (n0 + kBlockN) * p.k_row_stride, p.k_row_stride, si.len_k - n0 - kBlockN, tid);
      copy_commit();

      // ---- online softmax (a row lives in the 4 threads of a quad). rowoff
      // differs between the quad's threads, so the max is reduced in true units.
      float alpha[kMFrags][2];
      bool grew = false;
#pragma unroll
      for (int i = 0; i < kMFrags; ++i)
#pragma unroll
        for (int rh = 0; rh < 2; ++rh) {
          float mx = -INFINITY;
#pragma unroll
          for (int j = 0; j < kNFrags; ++j) mx = fmaxf(mx, fmaxf(s[i][j][2 * rh], s[i][j][2 * rh + 1]));
          mx = quad_max(fmaxf(row_m[i][rh], fmaf(mx, ks, -rowoff[i][rh])));
          const float base = mx == -INFINITY ? 0.0f : mx;
          alpha[i][rh] = ex2_approx(row_m[i][rh] - base);  // exp2(-inf) = 0 on the first visible block
          grew |= mx != row_m[i][rh];
          row_m[i][rh] = mx;
          const float nb2 = -(base + rowoff[i][rh]);
          float sum = 0.0f;
#pragma unroll
          for (int j = 0; j < kNFrags; ++j)
#pragma unroll
            for (int c = 0; c < 2; ++c) {
              const float pv = ex2_approx(fmaf(s[i][j][2 * rh + c], ks, nb2));
              s[i][j][2 * rh + c] = pv;
              sum += pv;
            }
          row_l[i][rh] = row_l[i][rh] * alpha[i][rh] + sum;  // per-thread partial; quad-summed at the end
        }
      // O is rescaled only when some row of the warp has a new max (alpha = 1
      // exactly otherwise); the vote keeps the branch warp-uniform.
      if (__any_sync(0xffffffffu, grew)) {
#pragma unroll
        for (int i = 0; i < kMFrags; ++i)
#pragma unroll
          for (int dj = 0; dj < kDFrags; ++dj)
#pragma unroll
            for (int e = 0; e < 4; ++e) o[i][dj][e] *= alpha[i][e >> 1];
      }

      // ---- dropout: zero the dropped P (l already holds the undropped sum;
      // 1/(1-p) is applied to O at the end). Keep bits come from one rolled
      // Philox loop (bit 2 * ((2i + rh) * kNFrags + j) + c), not 2 * kMFrags *
      // kNFrags inlined copies.
      if (dropout) {
        static_assert(kMFrags * 2 * kNFrags * 2 <= 64, "keep bits in one word");
        uint64_t keep = 0;
#pragma unroll 1
        for (int idx = 0; idx < kMFrags * 2 * kNFrags; ++idx) {
          const int j = idx % kNFrags, rr = idx / kNFrags;
          const int row = m0 + wrow + (rr >> 1) * 16 + g + (rr & 1) * 8;
          bool k0, k1;
          dropout_keep2(p.seed, p.offset, si.drop_row0 + row, n0 + j * 8 + 2 * t, drop_thr, &k0, &k1);
          keep |= uint64_t((k0 ? 1u : 0u) | (k1 ? 2u : 0u)) << (2 * idx);
        }
#pragma unroll
        for (int i = 0; i < kMFrags; ++i)
#pragma unroll
          for (int rh = 0; rh < 2; ++rh)
#pragma unroll
            for (int j = 0; j < kNFrags; ++j)
#pragma unroll
              for (int c = 0; c < 2; ++c)
                if (!((keep >> (2 * ((2 * i + rh) * kNFrags + j) + c)) & 1u)) s[i][j][2 * rh + c] = 0.0f;
      }

      // ---- O += P V, P straight from the S registers
#pragma unroll
      for (int kk = 0; kk < kBlockN / 16; ++kk) {
        uint32_t pf[kMFrags][4];
#pragma unroll
        for (int i = 0; i < kMFrags; ++i) acc_to_a<T>(pf[i], s[i][2 * kk], s[i][2 * kk + 1]);
#pragma unroll
        for (int dj = 0; dj < kDFrags; dj += 2) {
          uint32_t r[4];
          ldmatrix_x4_trans(r, sV + (kk * 16 + (quad & 1) * 8 + r8) * kLdS + dj * 8 + (quad >> 1) * 8);
#pragma unroll
          for (int i = 0; i < kMFrags; ++i) {
            mma_16816<T>(o[i][dj], pf[i], r[0], r[1]);
            mma_16816<T>(o[i][dj + 1], pf[i], r[2], r[3]);
          }
        }
      }
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
        float l = quad_sum(row_l[i][rh]);
        if (softmax1) l += exp2f(-m);  // the null key (m >= 0 here, so <= 1)
        const float inv = l > 0.0f ? drop_scale / l : 0.0f;
        const int r = wrow + i * 16 + g + rh * 8;
        if (m0 + r < si.len_q) {
          T* dst = gO + r * p.o_row_stride + 2 * t;
#pragma unroll
          for (int dj = 0; dj < kDFrags; ++dj)
            *reinterpret_cast<uint32_t*>(dst + dj * 8) = pack2<T>(o[i][dj][2 * rh] * inv, o[i][dj][2 * rh + 1] * inv);
          if (t == 0)
            p.lse[int64_t(h) * p.total_q + si.q0 + m0 + r] = l > 0.0f ? m * kLn2 + logf(l) : -INFINITY;
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

// PTX arch of the loaded fused kernels (cached per device): 75 means the
// Turing code path runs, also when compute_75 PTX was JIT-compiled for a newer
// GPU; the bf16 kernels then have no body. 0: no tensor-core image at all.
int attention_code_arch() {
  constexpr int kMaxDevices = 64;
  static int cache[kMaxDevices];
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess) return 0;
  if (dev >= 0 && dev < kMaxDevices && cache[dev] != 0) return cache[dev];
  DeviceInfo d;
  cudaFuncAttributes fa{};
  int arch = -1;
  if (device_info(&d) == cudaSuccess && d.cc >= 75 &&
      cudaFuncGetAttributes(&fa, attn_detail::flash_fwd_kernel<64, __half>) == cudaSuccess)
    arch = fa.ptxVersion;
  (void)cudaGetLastError();
  if (dev >= 0 && dev < kMaxDevices) cache[dev] = arch;
  return arch < 0 ? 0 : arch;
}

// Shared by both fused launchers: what the fused kernels cannot do is
// cudaErrorNotSupported (route to the naive path); malformed input is
// cudaErrorInvalidValue.
cudaError_t attention_fused_check(const AttentionParams& p) {
  if (p.batch < 0 || p.heads < 0 || p.max_len_q < 0 || p.max_len_k < 0 || p.heads > 65535 || p.batch > 65535)
    return cudaErrorInvalidValue;
  if (p.normalizer != AttnNormalizer::Softmax && p.normalizer != AttnNormalizer::Softmax1)
    return cudaErrorNotSupported;
  if (p.dtype != KDType::F16 && p.dtype != KDType::BF16) return cudaErrorNotSupported;
  if (p.head_dim != 32 && p.head_dim != 64 && p.head_dim != 128) return cudaErrorNotSupported;
  // 16-byte tile loads: every row start must be 16-byte aligned.
  auto ok = [](const void* ptr, int64_t ld) { return ptr == nullptr || (aligned_to(ptr, 16) && ld % 8 == 0); };
  if (!ok(p.q, p.q_row_stride) || !ok(p.k, p.k_row_stride) || !ok(p.v, p.v_row_stride) ||
      !ok(p.o, p.o_row_stride))
    return cudaErrorNotSupported;
  const int arch = attention_code_arch();
  if (arch < 75 || (p.dtype == KDType::BF16 && arch < 80)) return cudaErrorNotSupported;
  return cudaSuccess;
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
