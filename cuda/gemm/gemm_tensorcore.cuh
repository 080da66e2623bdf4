// Tensor-core GEMM for f16 / bf16 with f32 accumulation (mma.sync, inline PTX).
//
// One block computes a BM x BN tile of C[b]; its warps split the tile 2-D and
// keep f32 accumulators in registers. Per k-step of BK:
//
//   global --(cp.async, 16 B, zero-fill past the edges)--> shared (kStages ring)
//   shared --(ldmatrix.x4, .trans for M/N-contiguous operands)--> registers
//   registers --(mma.sync m16n8k16)--> accumulators
//
// Layouts. mma.sync wants A as "row" (K contiguous per M row) and B as "col" (K
// contiguous per N column). Shared tiles keep the global layout (so global loads
// stay 16-byte and coalesced) and ldmatrix fixes the rest: a K-contiguous tile
// ([mn][BK]: A plain, B with trans_b = the nn.Linear weight) is read with plain
// ldmatrix, an M/N-contiguous tile ([BK][mn]: A with trans_a, B plain) with
// ldmatrix.trans, which hands each thread exactly the fragment elements of the
// transposed 8x8 matrix. So all four trans combinations share one inner loop.
//
// Architectures (decided at compile time, per PTX target):
//   sm_80+ : cp.async ring of kStagesAsync stages, m16n8k16 for f16 and bf16.
//   sm_75  : no cp.async: loads are staged through registers (issued before the
//            MMAs of the current tile, stored to the other shared buffer after),
//            two stages; f16 only, as two m16n8k8 per k16. bf16 kernels compile
//            to an empty body there and the host never launches them (it checks
//            the PTX version the loaded kernel was built for, see gemm_dispatch).
//
// Requirements (checked by the host): A and B 16-byte aligned, lda, ldb and the
// batch strides multiples of 8 elements. Any m, n, k >= 0 is fine: out-of-range
// chunks are zero-filled (cp.async src-size < 16) and stores are predicated.
#pragma once
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include "gemm_common.cuh"
#include "gemm_traits.h"

namespace germ::kernels::gemm_detail {

// ---- PTX wrappers ------------------------------------------------------------

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_u32(p)));
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
// 16-byte async copy; bytes < 16 zero-fills the rest of the destination (bytes
// == 0 reads nothing, so the source may be any valid address).
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }
#endif

// d += a * b for one m16n8k16 (A: 4 regs of f16x2/bf16x2, B: 2 regs, D: 4 f32).
template <typename T>
__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (std::is_same<T, __half>::value) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  // Turing: k16 = two k8 halves. a0/a1 hold k 0..7 of rows g and g+8, a2/a3 hold
  // k 8..15; b0 holds k 0..7, b1 k 8..15: the m16n8k16 fragments split cleanly.
  if constexpr (std::is_same<T, __half>::value) {
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(b0));
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[2]), "r"(a[3]), "r"(b1));
  }
#endif
}

// ---- one operand's shared tile -----------------------------------------------
//
// An operand tile is kRows x kCols elements with a padded row of kCols + kPad,
// where the columns run along the operand's contiguous global dimension.
// Global element (row0 + r, col0 + c) lives at g[(row0 + r) * ld + col0 + c] and
// exists when row0 + r < row_lim and col0 + c < col_lim.
template <typename T, int kRows, int kCols, int kThreads, int kPad>
struct TileIO {
  static constexpr int kLd = kCols + kPad;
  static constexpr int kChunksPerRow = kCols / 8;  // 8 elements = 16 bytes
  static constexpr int kChunks = kRows * kChunksPerRow;
  static constexpr int kPerThread = kChunks / kThreads;
  static_assert(kCols % 8 == 0 && kChunks % kThreads == 0, "whole 16-byte chunks per thread");

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  static __device__ __forceinline__ void load_async(T* s, const T* g, int64_t ld, int64_t row0, int64_t col0,
                                                    int64_t row_lim, int64_t col_lim, int tid) {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i) {
      const int id = tid + i * kThreads;
      const int r = id / kChunksPerRow, c = (id % kChunksPerRow) * 8;
      const int64_t gr = row0 + r, gc = col0 + c;
      const T* src = g;
      int bytes = 0;
      if (gr < row_lim && gc < col_lim) {
        src = g + gr * ld + gc;
        bytes = (col_lim - gc < 8 ? static_cast<int>(col_lim - gc) : 8) * 2;
      }
      cp_async_16(s + r * kLd + c, src, bytes);
    }
  }
#endif

  // Register-staged path (sm_75): load now, store after the MMAs.
  static __device__ __forceinline__ void load_regs(uint4 (&v)[kPerThread], const T* g, int64_t ld, int64_t row0,
                                                   int64_t col0, int64_t row_lim, int64_t col_lim, int tid) {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i) {
      const int id = tid + i * kThreads;
      const int r = id / kChunksPerRow, c = (id % kChunksPerRow) * 8;
      const int64_t gr = row0 + r, gc = col0 + c;
      v[i] = make_uint4(0, 0, 0, 0);
      if (gr < row_lim && gc < col_lim) {
        const T* src = g + gr * ld + gc;
        if (gc + 8 <= col_lim) {
          v[i] = *reinterpret_cast<const uint4*>(src);
        } else {  // ragged edge: element by element, zeros past col_lim
          uint16_t e[8];
#pragma unroll
          for (int j = 0; j < 8; ++j)
            e[j] = gc + j < col_lim ? reinterpret_cast<const uint16_t*>(src)[j] : uint16_t(0);
          v[i] = make_uint4(e[0] | (uint32_t(e[1]) << 16), e[2] | (uint32_t(e[3]) << 16),
                            e[4] | (uint32_t(e[5]) << 16), e[6] | (uint32_t(e[7]) << 16));
        }
      }
    }
  }
  static __device__ __forceinline__ void store_regs(T* s, const uint4 (&v)[kPerThread], int tid) {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i) {
      const int id = tid + i * kThreads;
      const int r = id / kChunksPerRow, c = (id % kChunksPerRow) * 8;
      *reinterpret_cast<uint4*>(s + r * kLd + c) = v[i];
    }
  }
};

// ---- the kernel ----------------------------------------------------------------

template <class Tr, typename T, bool kTransA, bool kTransB>
struct TcGemm {
  // A: K-contiguous [BM][BK] unless trans_a ([BK][BM]); B: K-contiguous [BN][BK]
  // when trans_b, else [BK][BN].
  using TileA = TileIO<T, kTransA ? Tr::BK : Tr::BM, kTransA ? Tr::BM : Tr::BK, Tr::kThreads, Tr::kPad>;
  using TileB = TileIO<T, kTransB ? Tr::BN : Tr::BK, kTransB ? Tr::BK : Tr::BN, Tr::kThreads, Tr::kPad>;
  static constexpr int kStageElems = Tr::stage_elems(kTransA, kTransB);
  static constexpr int kTileAElems = Tr::tile_elems(!kTransA, Tr::BM);

  // Global tile origin and limits of the A / B tile for k-tile kt.
  struct Operand {
    const T* g; int64_t ld;
    int64_t mn0, mn_lim, k_lim;
  };
  template <bool kKContig>
  static __device__ __forceinline__ void tile_origin(const Operand& o, int64_t k0, int64_t* row0, int64_t* col0,
                                                     int64_t* row_lim, int64_t* col_lim) {
    if constexpr (kKContig) { *row0 = o.mn0; *col0 = k0; *row_lim = o.mn_lim; *col_lim = o.k_lim; }
    else { *row0 = k0; *col0 = o.mn0; *row_lim = o.k_lim; *col_lim = o.mn_lim; }
  }

  // Fragments for k16 step `ks` of the shared tiles sA / sB, then the MMAs.
  static __device__ __forceinline__ void mma_step(const T* sA, const T* sB, int ks, int warp_m0, int warp_n0,
                                                  int lane, float (&acc)[Tr::kMFrags][Tr::kNFrags][4]) {
    const int quad = lane >> 3, r8 = lane & 7;
    uint32_t a[Tr::kMFrags][4];
    uint32_t b[Tr::kNFrags][2];
#pragma unroll
    for (int i = 0; i < Tr::kMFrags; ++i) {
      const int m0 = warp_m0 + i * 16;
      if constexpr (!kTransA) {
        // lanes 0-15: rows m0..m0+15 at k 0; lanes 16-31: same rows at k 8.
        ldmatrix_x4(a[i], sA + (m0 + (lane & 15)) * TileA::kLd + ks * 16 + (lane >> 4) * 8);
      } else {
        // Matrices: (k0-7, m0-7) (k0-7, m8-15) (k8-15, m0-7) (k8-15, m8-15) of [k][m].
        ldmatrix_x4_trans(a[i], sA + (ks * 16 + (quad >> 1) * 8 + r8) * TileA::kLd + m0 + (quad & 1) * 8);
      }
    }
#pragma unroll
    for (int j = 0; j < Tr::kNFrags; j += 2) {
      const int n0 = warp_n0 + j * 8;
      uint32_t r[4];
      if constexpr (kTransB) {
        // [n][k]: matrices (n0-7, k0-7) (n0-7, k8-15) (n8-15, k0-7) (n8-15, k8-15).
        ldmatrix_x4(r, sB + (n0 + (quad >> 1) * 8 + r8) * TileB::kLd + ks * 16 + (quad & 1) * 8);
      } else {
        // [k][n]: matrices (k0-7, n0-7) (k8-15, n0-7) (k0-7, n8-15) (k8-15, n8-15).
        ldmatrix_x4_trans(r, sB + (ks * 16 + (quad & 1) * 8 + r8) * TileB::kLd + n0 + (quad >> 1) * 8);
      }
      b[j][0] = r[0]; b[j][1] = r[1]; b[j + 1][0] = r[2]; b[j + 1][1] = r[3];
    }
#pragma unroll
    for (int i = 0; i < Tr::kMFrags; ++i)
#pragma unroll
      for (int j = 0; j < Tr::kNFrags; ++j) mma_16816<T>(acc[i][j], a[i], b[j][0], b[j][1]);
  }

  static __device__ __forceinline__ void run(const GemmParams& p, T* smem) {
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int warp_m0 = (warp / Tr::kWarpsN) * Tr::kWarpTileM;
    const int warp_n0 = (warp % Tr::kWarpsN) * Tr::kWarpTileN;
    const int64_t tiles_m = ceil_div(p.m, Tr::BM), tiles_n = ceil_div(p.n, Tr::BN);
    const int64_t ktiles = ceil_div(p.k, Tr::BK);

    for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
      int64_t tm, tn;
      tile_coords(blockIdx.x, tiles_m, tiles_n, &tm, &tn);
      const Operand A{static_cast<const T*>(p.a) + bz * p.stride_a, p.lda, tm * Tr::BM, p.m, p.k};
      const Operand B{static_cast<const T*>(p.b) + bz * p.stride_b, p.ldb, tn * Tr::BN, p.n, p.k};

      float acc[Tr::kMFrags][Tr::kNFrags][4];
#pragma unroll
      for (int i = 0; i < Tr::kMFrags; ++i)
#pragma unroll
        for (int j = 0; j < Tr::kNFrags; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

      int64_t r0, c0, rl, cl;
#if __CUDA_ARCH__ >= 800
      // ---- cp.async ring: kStages - 1 tiles in flight while one is consumed.
      constexpr int S = Tr::kStagesAsync;
      auto issue = [&](int64_t kt) {
        T* s = smem + (kt % S) * kStageElems;
        tile_origin<!kTransA>(A, kt * Tr::BK, &r0, &c0, &rl, &cl);
        TileA::load_async(s, A.g, A.ld, r0, c0, rl, cl, tid);
        tile_origin<kTransB>(B, kt * Tr::BK, &r0, &c0, &rl, &cl);
        TileB::load_async(s + kTileAElems, B.g, B.ld, r0, c0, rl, cl, tid);
      };
#pragma unroll
      for (int s = 0; s < S - 1; ++s) {
        if (s < ktiles) issue(s);
        cp_async_commit();  // commit even when empty: keeps the group count = tile index
      }
      for (int64_t kt = 0; kt < ktiles; ++kt) {
        cp_async_wait<S - 2>();  // this thread's copies of tile kt have landed ...
        __syncthreads();         // ... everyone's have, and stage (kt-1)%S is no longer read
        if (kt + S - 1 < ktiles) issue(kt + S - 1);
        cp_async_commit();
        const T* s = smem + (kt % S) * kStageElems;
#pragma unroll
        for (int ks = 0; ks < Tr::BK / 16; ++ks) mma_step(s, s + kTileAElems, ks, warp_m0, warp_n0, lane, acc);
      }
      cp_async_wait<0>();
      __syncthreads();  // the smem ring is reused by the next batch entry
#elif __CUDA_ARCH__ >= 750
      if constexpr (std::is_same<T, __half>::value) {
        // ---- register-staged double buffer: the next tile's global loads are
        // in flight while the MMAs of this one run.
        uint4 ra[TileA::kPerThread], rb[TileB::kPerThread];
        auto fetch = [&](int64_t kt) {
          tile_origin<!kTransA>(A, kt * Tr::BK, &r0, &c0, &rl, &cl);
          TileA::load_regs(ra, A.g, A.ld, r0, c0, rl, cl, tid);
          tile_origin<kTransB>(B, kt * Tr::BK, &r0, &c0, &rl, &cl);
          TileB::load_regs(rb, B.g, B.ld, r0, c0, rl, cl, tid);
        };
        auto stash = [&](int64_t kt) {
          T* s = smem + (kt & 1) * kStageElems;
          TileA::store_regs(s, ra, tid);
          TileB::store_regs(s + kTileAElems, rb, tid);
        };
        if (ktiles > 0) { fetch(0); stash(0); }
        __syncthreads();
        for (int64_t kt = 0; kt < ktiles; ++kt) {
          if (kt + 1 < ktiles) fetch(kt + 1);
          const T* s = smem + (kt & 1) * kStageElems;
#pragma unroll
          for (int ks = 0; ks < Tr::BK / 16; ++ks) mma_step(s, s + kTileAElems, ks, warp_m0, warp_n0, lane, acc);
          if (kt + 1 < ktiles) stash(kt + 1);  // the other buffer: last read before the previous barrier
          __syncthreads();
        }
      }
#endif

      // ---- epilogue. Accumulator fragment: c0,c1 at (row g, cols 2t, 2t+1),
      // c2,c3 at row g + 8 (g = lane / 4, t = lane % 4).
      T* c = static_cast<T*>(p.c) + bz * p.stride_c;
      const T* bias = static_cast<const T*>(p.bias);
#pragma unroll
      for (int i = 0; i < Tr::kMFrags; ++i)
#pragma unroll
        for (int j = 0; j < Tr::kNFrags; ++j)
#pragma unroll
          for (int e = 0; e < 4; e += 2) {  // pairs (c0, c1), (c2, c3): one access each where aligned
            const int64_t row = tm * Tr::BM + warp_m0 + i * 16 + (lane >> 2) + (e >> 1) * 8;
            const int64_t col = tn * Tr::BN + warp_n0 + j * 8 + (lane & 3) * 2;
            store_output_pair(p, c, bias, pair_aligned(c + row * p.ldc + col), row, col, acc[i][j][e],
                              acc[i][j][e + 1]);
          }
    }
  }
};

// Register cap: on sm_80+ the large config asks for 2 blocks per SM (<= 128
// registers at 256 threads; 2 x 80 KB of shared memory fits A100/H100), so 16
// warps hide ldmatrix / MMA latency instead of 8. On sm_75 the register-staged
// loads need more registers and shared memory allows one 40 KB block beside a
// second only on paper (64 KB per SM), so no cap there: capping spilled ~200 B.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#define GERM_TC_MIN_BLOCKS(Tr) 1
#else
#define GERM_TC_MIN_BLOCKS(Tr) Tr::kMinBlocks
#endif

template <class Tr, typename T, bool kTransA, bool kTransB>
__global__ void __launch_bounds__(Tr::kThreads, GERM_TC_MIN_BLOCKS(Tr)) gemm_tc_kernel(GemmParams p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  // bf16 tensor cores start at sm_80; on sm_75 the bf16 instantiation is empty
  // and never launched.
  if constexpr (std::is_same<T, __half>::value || __CUDA_ARCH__ >= 800) {
    extern __shared__ uint4 smem_raw[];  // 16-byte aligned for cp.async / ldmatrix
    TcGemm<Tr, T, kTransA, kTransB>::run(p, reinterpret_cast<T*>(smem_raw));
  }
#endif
}

}  // namespace germ::kernels::gemm_detail
