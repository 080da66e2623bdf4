// Hopper GEMM: C = alpha * A B^T + beta * C (+ bias), f16 / bf16 in, f32
// accumulation, A [m][k] and B [n][k] both K-contiguous (x @ W^T, nn.Linear).
//
// Why a second kernel: on an H100 the mma.sync kernel (gemm_tensorcore.cuh)
// reaches 0.2-0.25x of cuBLAS, because mma.sync issues from one warp at a time
// through registers fed by ldmatrix. Hopper's wgmma reads both operands straight
// from shared memory for a whole warpgroup (4 warps) and runs asynchronously,
// and the bulk tensor copy engine (TMA) moves tiles into shared memory with no
// thread work, swizzled the way wgmma reads them and zero-filled past the edges.
//
// Structure (warp-specialised, persistent; the shape FA3 / CUTLASS use):
//   - one block per SM, 3 warpgroups. Warpgroup 0 is the producer: one thread
//     walks the block's tiles and k-steps and issues TMA loads of a BM x 64 A
//     tile and a BN x 64 B tile into a ring of kStages shared-memory stages.
//     Each stage has a "full" mbarrier (TMA completes it with the byte count)
//     and an "empty" one (each consumer warp arrives when done reading).
//   - warpgroups 1 and 2 are consumers: each owns 64 rows of the BM = 128 tile
//     and issues 4 wgmma m64nBNk16 per stage. The stage's MMAs stay in flight
//     while the next stage is waited for; the stage before is released as soon
//     as wgmma.wait_group(1) says its MMAs are done.
//   - the epilogue (alpha, beta, bias, one rounding) writes straight from the
//     accumulator registers; meanwhile the producer is already loading the
//     block's next tile, so the loads of tile i+1 overlap the stores of tile i.
//   - setmaxnreg moves registers from the producer (40) to the consumers (232),
//     which hold BN / 2 f32 accumulators each.
//
// Shared-memory layout of a tile: rows of 64 elements = 128 bytes, 16-byte
// chunks XOR-swizzled by (row % 8) (CU_TENSOR_MAP_SWIZZLE_128B, wgmma's
// "128B swizzle" K-major layout); 8-row groups 1024 bytes apart, so the
// descriptor's stride byte offset is 1024 and stepping k by 16 elements adds
// 32 bytes to its start address.
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cstring>
#include <mutex>
#include "../common/launch_utils.cuh"
#include "gemm_common.cuh"
#include "gemm_sm90a.h"
#include "wgmma_ops.cuh"

#ifndef GERM_WGMMA_PINGPONG_MAX_K  // K up to which 128-wide tiles run ping-pong
#define GERM_WGMMA_PINGPONG_MAX_K 2048
#endif

namespace germ::kernels {
namespace gemm_detail {

// Two ways to split the block's work between its two consumer warpgroups:
//   cooperative: both work on one BM x BN tile, 64 rows each. Wide tiles
//     (BN = 256) read less shared memory per MMA; the tensor cores idle while
//     the block runs its epilogue.
//   ping-pong: each warpgroup owns whole 128 x BN tiles (two m64 MMAs per k
//     step), alternate tiles of the block. Their main loops take turns on the
//     tensor cores (the producer fills the ring tile by tile, in order), so one
//     warpgroup's epilogue runs while the other's MMAs do: better when K is short
//     and the epilogue is a large share of a tile's time.
template <int BN_, int STAGES_, bool PINGPONG_>
struct WgmmaTraits {
  static constexpr int BM = 128, BN = BN_, BK = 64, kStages = STAGES_;
  static constexpr bool kPingPong = PINGPONG_;
  static constexpr int kConsumers = 2;  // warpgroups of MMAs
  static constexpr int kThreads = 128 * (kConsumers + 1);
  static constexpr int kConsumerRows = kPingPong ? BM : BM / kConsumers;
  static constexpr int kMSub = kConsumerRows / 64;  // m64 MMAs per k step and warpgroup
  static constexpr int kReaders = kPingPong ? 4 : 4 * kConsumers;  // warps that read each stage
  static constexpr int kBytesA = BM * BK * 2, kBytesB = BN * BK * 2;
  static constexpr int kAccum = BN / 2;  // f32 accumulators per thread and m64 MMA
  // Stages, then kStages full + kStages empty + 2 turn mbarriers, plus slack
  // to align the stages to 1024 bytes (the swizzle atom).
  static constexpr int kSmemBytes = kStages * (kBytesA + kBytesB) + (2 * kStages + 2) * 8 + 1024;
  static_assert(kSmemBytes <= 227 * 1024, "fits an H100 block");
  static_assert(kMSub * kAccum <= 128, "accumulators fit the consumer's registers");
};
// All fill 192 KB of stages: 6 x 32 KB for BN = 128, 4 x 48 KB for BN = 256.
using Wgmma128 = WgmmaTraits<128, 6, false>;
using Wgmma256 = WgmmaTraits<256, 4, false>;
using Wgmma128PingPong = WgmmaTraits<128, 6, true>;

// ---- PTX wrappers ------------------------------------------------------------

__device__ __forceinline__ uint32_t shared_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_expect_tx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
  uint32_t done = 0;
  do {
    asm volatile(
        "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(bar), "r"(parity)
        : "memory");
  } while (!done);
}
// TMA: box at (c0 = k, c1 = row, c2 = batch) of `map` into shared memory at
// `dst`, completing `bar` with its byte count. Out-of-range elements are zeros.
__device__ __forceinline__ void tma_load_3d(uint32_t dst, const CUtensorMap* map, uint32_t bar, int c0, int c1,
                                            int c2) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4, %5}], "
      "[%2];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(bar), "r"(c0), "r"(c1), "r"(c2)
      : "memory");
}
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// The accumulators are written by the tensor cores behind the compiler's
// back: pin them so no read or write of them moves across a wgmma fence/wait.
template <int N>
__device__ __forceinline__ void pin_registers(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int R>
__device__ __forceinline__ void regs_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(R));
}
template <int R>
__device__ __forceinline__ void regs_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(R));
}

// wgmma matrix descriptor of a K-major, 128-byte-swizzled tile starting at
// shared address `addr`: start >> 4 (bits 0-13), leading byte offset (unused
// by swizzled K-major layouts; 1 by convention, bits 16-29), stride byte
// offset 1024 >> 4 (bits 32-45), swizzle mode 1 = 128 B (bits 62-63).
__device__ __forceinline__ uint64_t tile_desc(uint32_t addr) {
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (uint64_t(1) << 16) | (uint64_t(1024 >> 4) << 32) |
         (uint64_t(1) << 62);
}

template <class Tr, typename T>
__global__ void __launch_bounds__(Tr::kThreads, 1)
    gemm_wgmma_kernel(const __grid_constant__ CUtensorMap map_a, const __grid_constant__ CUtensorMap map_b,
                      const GemmParams p, bool pairs_aligned) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ uint8_t smem_raw[];
  const uint32_t base = (shared_addr(smem_raw) + 1023) & ~1023u;
  const uint32_t stages_a = base, stages_b = base + Tr::kStages * Tr::kBytesA;
  const uint32_t full = stages_b + Tr::kStages * Tr::kBytesB, empty = full + 8 * Tr::kStages;
  const uint32_t turn = empty + 8 * Tr::kStages;  // ping-pong: turn[c] = "warpgroup c may start its main loop"
  const int warpgroup = threadIdx.x / 128, t = threadIdx.x % 128;

  if (threadIdx.x == 0) {
    for (int s = 0; s < Tr::kStages; ++s) {
      mbar_init(full + 8 * s, 1);                    // the producer's expect_tx arrival (+ the bytes)
      mbar_init(empty + 8 * s, Tr::kReaders);        // one arrival per warp that reads the stage
    }
    mbar_init(turn, 4);
    mbar_init(turn + 8, 4);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();

  const int64_t tiles_m = ceil_div(p.m, Tr::BM), tiles_n = ceil_div(p.n, Tr::BN);
  const int64_t tiles_mn = tiles_m * tiles_n, tiles = tiles_mn * p.batch;
  const int ktiles = static_cast<int>(ceil_div(p.k, Tr::BK));
  auto coords = [&](int64_t tile, int64_t* b, int64_t* tm, int64_t* tn) {
    *b = tile / tiles_mn;
    tile_coords(tile - *b * tiles_mn, tiles_m, tiles_n, tm, tn);
  };

  if (warpgroup == 0) {
    // ---- producer
    regs_dec<40>();
    if (t == 0) {
      int stage = 0;
      uint32_t phase = 0;
      for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        int64_t b, tm, tn;
        coords(tile, &b, &tm, &tn);
        for (int kt = 0; kt < ktiles; ++kt) {
          mbar_wait(empty + 8 * stage, phase ^ 1);  // the first pass over the ring finds every stage free
          mbar_expect_tx(full + 8 * stage, Tr::kBytesA + Tr::kBytesB);
          tma_load_3d(stages_a + stage * Tr::kBytesA, &map_a, full + 8 * stage, kt * Tr::BK,
                      static_cast<int>(tm * Tr::BM), static_cast<int>(b));
          tma_load_3d(stages_b + stage * Tr::kBytesB, &map_b, full + 8 * stage, kt * Tr::BK,
                      static_cast<int>(tn * Tr::BN), static_cast<int>(b));
          if (++stage == Tr::kStages) { stage = 0; phase ^= 1; }
        }
      }
    }
  } else {
    // ---- consumers
    regs_inc<232>();
    const int consumer = warpgroup - 1, warp = t / 32, lane = t % 32;
    const int row0 = Tr::kPingPong ? 0 : consumer * Tr::kConsumerRows;  // our rows of the tile
    float acc[Tr::kMSub][Tr::kAccum];
    // Ping-pong: this warpgroup takes every other tile of the block, and the
    // two take turns: a main loop starts only once the other warpgroup's
    // previous one has ended. That keeps the consumer waiting on a stage at
    // most one lap of the ring behind the producer, which the full barriers'
    // parity test needs (a wait two laps ahead would pass on the wrong phase).
    const int64_t first = Tr::kPingPong ? consumer : 0, step = Tr::kPingPong ? 2 : 1;
    int turns = 0;  // main loops this warpgroup has run
    for (int64_t j = first; blockIdx.x + j * gridDim.x < tiles; j += step, ++turns) {
      if (Tr::kPingPong && (consumer == 1 || turns > 0))
        mbar_wait(turn + 8 * consumer, static_cast<uint32_t>((consumer == 0 ? turns - 1 : turns) & 1));
      int64_t b, tm, tn;
      coords(blockIdx.x + j * gridDim.x, &b, &tm, &tn);
      // The producer fills the ring with the block's tiles in order, ktiles
      // stages each: where the j-th tile's first stage is, and its phase.
      const int64_t it0 = j * ktiles;
      int stage = static_cast<int>(it0 % Tr::kStages), prev_stage = stage;
      uint32_t phase = static_cast<uint32_t>((it0 / Tr::kStages) & 1);
#pragma unroll
      for (int ms = 0; ms < Tr::kMSub; ++ms)
#pragma unroll
        for (int i = 0; i < Tr::kAccum; ++i) acc[ms][i] = 0.0f;
      for (int kt = 0; kt < ktiles; ++kt) {
        mbar_wait(full + 8 * stage, phase);
#pragma unroll
        for (int ms = 0; ms < Tr::kMSub; ++ms) pin_registers(acc[ms]);
        wgmma_fence();
        const uint32_t a0 = stages_a + stage * Tr::kBytesA + row0 * 128;  // rows of 128 bytes
        const uint32_t b0 = stages_b + stage * Tr::kBytesB;
#pragma unroll
        for (int kk = 0; kk < Tr::BK / 16; ++kk)
#pragma unroll
          for (int ms = 0; ms < Tr::kMSub; ++ms)
            wgmma_m64k16<Tr::BN, T>(acc[ms], tile_desc(a0 + ms * 64 * 128 + kk * 32), tile_desc(b0 + kk * 32));
        wgmma_commit();
        wgmma_wait<1>();  // this stage's MMAs may still run; the previous stage's are done
#pragma unroll
        for (int ms = 0; ms < Tr::kMSub; ++ms) pin_registers(acc[ms]);
        if (kt > 0 && lane == 0) mbar_arrive(empty + 8 * prev_stage);
        prev_stage = stage;
        if (++stage == Tr::kStages) { stage = 0; phase ^= 1; }
      }
      wgmma_wait<0>();
#pragma unroll
      for (int ms = 0; ms < Tr::kMSub; ++ms) pin_registers(acc[ms]);
      if (ktiles > 0 && lane == 0) mbar_arrive(empty + 8 * prev_stage);
      if (Tr::kPingPong) {
        __syncwarp();
        if (lane == 0) mbar_arrive(turn + 8 * (1 - consumer));  // the other warpgroup's turn
      }

      // Epilogue. Per 8-column chunk j the accumulators hold the m16n8 layout
      // of mma.sync for this warp's 16 rows: acc[4j], acc[4j+1] at (row, col),
      // (row, col+1); acc[4j+2], acc[4j+3] at row + 8.
      T* c = static_cast<T*>(p.c) + b * p.stride_c;
      const T* bias = static_cast<const T*>(p.bias);
#pragma unroll
      for (int ms = 0; ms < Tr::kMSub; ++ms) {
        const int64_t row = tm * Tr::BM + row0 + ms * 64 + warp * 16 + lane / 4;
#pragma unroll
        for (int n8 = 0; n8 < Tr::BN / 8; ++n8) {
          const int64_t col = tn * Tr::BN + n8 * 8 + (lane % 4) * 2;
          store_output_pair(p, c, bias, pairs_aligned, row, col, acc[ms][4 * n8], acc[ms][4 * n8 + 1]);
          store_output_pair(p, c, bias, pairs_aligned, row + 8, col, acc[ms][4 * n8 + 2], acc[ms][4 * n8 + 3]);
        }
      }
    }
  }
#endif
}

// ---- host side -------------------------------------------------------------------

// cuTensorMapEncodeTiled is a driver function; the runtime is linked
// statically and libcuda is loaded by it at run time, so take the entry point
// from the runtime rather than linking libcuda.
PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    void* ptr = nullptr;
    cudaDriverEntryPointQueryResult status;
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &ptr, 12000, cudaEnableDefault, &status) ==
            cudaSuccess &&
        status == cudaDriverEntryPointSuccess)
      fn = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(ptr);
    (void)cudaGetLastError();
  });
  return fn;
}

// A 3-D map (k, rows, batch) over a K-contiguous operand, read in boxes of
// 64 x box_rows x 1 with 128-byte swizzle. false when the copy engine cannot
// describe it (alignment, strides); the caller then takes another kernel.
bool encode_operand(CUtensorMap* map, KDType dtype, const void* ptr, int64_t rows, int64_t k, int64_t ld,
                    int64_t batch, int64_t batch_stride, int box_rows) {
  auto encode = tensor_map_encoder();
  if (encode == nullptr) return false;
  const int64_t elem = 2;
  // With one batch entry the batch stride is never stepped; any legal value will do.
  const int64_t bstride = batch > 1 ? batch_stride : ld * rows;
  if (reinterpret_cast<uintptr_t>(ptr) % 16 != 0 || (ld * elem) % 16 != 0 || (bstride * elem) % 16 != 0 ||
      bstride <= 0 || (ld * elem) >= (int64_t(1) << 40) || (bstride * elem) >= (int64_t(1) << 40))
    return false;
  const cuuint64_t dims[3] = {static_cast<cuuint64_t>(k), static_cast<cuuint64_t>(rows),
                              static_cast<cuuint64_t>(batch)};
  const cuuint64_t strides[2] = {static_cast<cuuint64_t>(ld * elem), static_cast<cuuint64_t>(bstride * elem)};
  const cuuint32_t box[3] = {64, static_cast<cuuint32_t>(box_rows), 1};
  const cuuint32_t unit[3] = {1, 1, 1};
  const CUtensorMapDataType type =
      dtype == KDType::BF16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  return encode(map, type, 3, const_cast<void*>(ptr), dims, strides, box, unit, CU_TENSOR_MAP_INTERLEAVE_NONE,
                CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

template <class Tr, typename T>
cudaError_t launch_wgmma(const GemmArgs& a, const CUtensorMap& map_a, const CUtensorMap& map_b, int sm_count,
                         cudaStream_t stream) {
  auto kernel = gemm_wgmma_kernel<Tr, T>;
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Tr::kSmemBytes);
  if (e != cudaSuccess) return e;
  GemmParams p{};
  p.m = a.m; p.n = a.n; p.k = a.k; p.batch = a.batch;
  p.c = a.c; p.ldc = a.ldc; p.stride_c = a.stride_c;
  p.bias = a.bias; p.alpha = a.alpha; p.beta = a.beta;
  const bool pairs_aligned = reinterpret_cast<uintptr_t>(a.c) % 4 == 0 && a.ldc % 2 == 0 &&
                             (a.batch == 1 || a.stride_c % 2 == 0);
  const int64_t tiles = ceil_div(a.m, Tr::BM) * ceil_div(a.n, Tr::BN) * a.batch;
  const unsigned grid = static_cast<unsigned>(tiles < sm_count ? tiles : sm_count);
  kernel<<<grid, Tr::kThreads, Tr::kSmemBytes, stream>>>(map_a, map_b, p, pairs_aligned);
  return cudaGetLastError();
}

}  // namespace gemm_detail

cudaError_t gemm_sm90a(const GemmArgs& a, int sm_count, cudaStream_t stream, bool* launched) {
  using namespace gemm_detail;
  *launched = false;
  if ((a.dtype != KDType::F16 && a.dtype != KDType::BF16) || a.trans_a || !a.trans_b || a.k == 0) return cudaSuccess;
  // TMA coordinates are 32-bit.
  const int64_t lim = int64_t(1) << 31;
  if (a.m >= lim || a.n >= lim || a.k >= lim || a.batch >= lim) return cudaSuccess;

  // Kernel: the 128 x 256 cooperative one unless 128-wide tiles leave the last
  // wave less empty (counting a 256-wide tile as ~1.8 of the 128-wide ones);
  // 128-wide tiles run ping-pong when K is short (few k steps per tile, so the
  // epilogue is a large share of it). GERM_WGMMA_FORCE (compile-time, for A/B
  // timing in cuda/dev) pins one: 1 cooperative 128, 2 cooperative 256, 3 ping-pong.
  auto cost = [&](int bn, double width) {
    const int64_t tiles = ceil_div(a.m, 128) * ceil_div(a.n, bn) * a.batch;
    return static_cast<double>(ceil_div(tiles, sm_count)) * width;
  };
#ifndef GERM_WGMMA_FORCE
#define GERM_WGMMA_FORCE 0
#endif
  int kind = cost(256, 1.8) <= cost(128, 1.0) ? 2 : (a.k <= GERM_WGMMA_PINGPONG_MAX_K ? 3 : 1);
  if (GERM_WGMMA_FORCE != 0) kind = GERM_WGMMA_FORCE;
  const int box_b = kind == 2 ? 256 : 128;

  CUtensorMap map_a, map_b;
  if (!encode_operand(&map_a, a.dtype, a.a, a.m, a.k, a.lda, a.batch, a.stride_a, 128) ||
      !encode_operand(&map_b, a.dtype, a.b, a.n, a.k, a.ldb, a.batch, a.stride_b, box_b))
    return cudaSuccess;
  *launched = true;
  return dispatch_float_dtype(a.dtype, [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
    if constexpr (std::is_same<T, float>::value) {
      return cudaErrorInvalidValue;  // excluded above
    } else {
      if (kind == 2) return launch_wgmma<Wgmma256, T>(a, map_a, map_b, sm_count, stream);
      if (kind == 3) return launch_wgmma<Wgmma128PingPong, T>(a, map_a, map_b, sm_count, stream);
      return launch_wgmma<Wgmma128, T>(a, map_a, map_b, sm_count, stream);
    }
  });
}

}  // namespace germ::kernels
