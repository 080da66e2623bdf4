// The main loop of the sm_90a GEMMs (f16 / bf16: gemm_wgmma_sm90a.cu, int8:
// ../qgemm/int_gemm_wgmma_sm90a.cu): C = A B^T with A [m][k] and B [n][k] both
// K-contiguous (x @ W^T, nn.Linear), handing each pair of finished accumulators
// to the caller's epilogue. Only the operand type, the epilogue and the fused
// LoRA forward's extra operands (gemm_lora_wgmma_sm90a.cu) differ between the
// GEMMs, so this is the one copy of the pipeline.
//
// Why wgmma: on an H100 the mma.sync kernels reach a fraction of cuBLAS,
// because mma.sync issues from one warp at a time through registers fed by
// ldmatrix. Hopper's wgmma reads both operands straight from shared memory for
// a whole warpgroup (4 warps) and runs asynchronously, and the bulk tensor
// copy engine (TMA) moves tiles into shared memory with no thread work,
// swizzled the way wgmma reads them and zero-filled past the edges (so a K
// that is not a multiple of the k-tile needs no special case: the zeros add
// nothing to the sums).
//
// Structure (warp-specialised, persistent; the shape FA3 / CUTLASS use):
//   - one block per SM, 3 warpgroups. Warpgroup 0 is the producer: one thread
//     walks the block's tiles and k-steps and issues TMA loads of a BM x 128-byte
//     A tile and a BN x 128-byte B tile into a ring of kStages shared-memory
//     stages. Each stage has a "full" mbarrier (TMA completes it with the byte
//     count) and an "empty" one (each consumer warp arrives when done reading).
//   - warpgroups 1 and 2 are consumers: each owns 64 rows of the BM = 128 tile
//     and issues 4 wgmma per stage (32 bytes of K each: m64nBNk16 for f16,
//     m64nBNk32 for int8). The stage's MMAs stay in flight while the next stage
//     is waited for; the stage before is released as soon as
//     wgmma.wait_group(1) says its MMAs are done.
//   - the epilogue writes straight from the accumulator registers; meanwhile
//     the producer is already loading the block's next tile, so the loads of
//     tile i+1 overlap the stores of tile i.
//   - setmaxnreg moves registers from the producer (40) to the consumers (232),
//     which hold BN / 2 accumulators each (f32, or exact int32 for int8).
// Tile layout and descriptors: sm90a_primitives.cuh.
#pragma once
#include <cstdint>
#include <type_traits>
#include "../../contract/kernel_types.h"
#include "../common/launch_utils.cuh"
#include "gemm_common.cuh"
#include "sm90a_primitives.cuh"
#include "wgmma_ops.cuh"

// k-tiles (128 bytes of K each) up to which 128-wide tiles run ping-pong; 32 is
// K = 2048 for f16 / bf16 and K = 4096 for int8.
#ifndef GERM_WGMMA_PINGPONG_MAX_KTILES
#define GERM_WGMMA_PINGPONG_MAX_KTILES 32
#endif
// Compile-time kernel choice for A/B timing in cuda/dev: 0 the heuristic's,
// 1 cooperative 128, 2 cooperative 256, 3 ping-pong 128.
#ifndef GERM_WGMMA_FORCE
#define GERM_WGMMA_FORCE 0
#endif

namespace germ::kernels::gemm_detail {

// Two ways to split the block's work between its two consumer warpgroups:
//   cooperative: both work on one BM x BN tile, 64 rows each. Wide tiles
//     (BN = 256) read less shared memory per MMA; the tensor cores idle while
//     the block runs its epilogue.
//   ping-pong: each warpgroup owns whole 128 x BN tiles (two m64 MMAs per k
//     step), alternate tiles of the block. Their main loops take turns on the
//     tensor cores (the producer fills the ring tile by tile, in order), so one
//     warpgroup's epilogue runs while the other's MMAs do: better when K is short
//     and the epilogue is a large share of a tile's time.
// T is the operand type (__half, __nv_bfloat16, int8_t). LORA_ (8, 16 or 32;
// 0: none) is the fused LoRA forward's rank padded up: the rows of A [r][k]
// each stage also holds (see wgmma_gemm_loop).
template <typename T, int BN_, int STAGES_, bool PINGPONG_, int LORA_ = 0>
struct WgmmaTraits {
  using Elem = T;
  using Acc = typename WgmmaAcc<T>::type;
  static constexpr int BM = 128, BN = BN_, BK = 128 / static_cast<int>(sizeof(T)), kStages = STAGES_;
  static constexpr bool kPingPong = PINGPONG_;
  static constexpr int kConsumers = 2;  // warpgroups of MMAs
  static constexpr int kThreads = 128 * (kConsumers + 1);
  static constexpr int kConsumerRows = kPingPong ? BM : BM / kConsumers;
  static constexpr int kMSub = kConsumerRows / 64;  // m64 MMAs per k step and warpgroup
  static constexpr int kReaders = kPingPong ? 4 : 4 * kConsumers;  // warps that read each stage
  static constexpr int kBytesA = BM * 128, kBytesB = BN * 128;   // rows of 128 bytes of K
  static constexpr int kAccum = BN / 2;  // accumulators per thread and m64 MMA
  static constexpr int kLoraRows = LORA_, kBytesLA = LORA_ * 128;
  static_assert(LORA_ == 0 || LORA_ == 8 || LORA_ == 16 || LORA_ == 32, "a wgmma N the LoRA step has");
  // Stages (A, B and LoRA A tiles), then kStages full + kStages empty + 2 turn
  // mbarriers, plus slack to align the stages to 1024 bytes (the swizzle atom).
  static constexpr int kSmemBytes = kStages * (kBytesA + kBytesB + kBytesLA) + (2 * kStages + 2) * 8 + 1024;
  static_assert(kSmemBytes <= 227 * 1024, "fits an H100 block");
  static_assert(kMSub * kAccum <= 128, "accumulators fit the consumer's registers");
};
// All fill 192 KB of stages: 6 x 32 KB for BN = 128, 4 x 48 KB for BN = 256.
template <typename T> using Wgmma128 = WgmmaTraits<T, 128, 6, false>;
template <typename T> using Wgmma256 = WgmmaTraits<T, 256, 4, false>;
template <typename T> using Wgmma128PingPong = WgmmaTraits<T, 128, 6, true>;

// The fused LoRA forward's extra operands (Tr::kLoraRows > 0): la, A [r][k],
// read in kLoraRows x 128-byte boxes (rows past r zero-filled); lb, B [n][r],
// one BN x 128-byte box per tile (columns past r zero-filled, so r <= 64);
// scale = alpha / r.
struct LoraMaps {
  const CUtensorMap* la = nullptr;
  const CUtensorMap* lb = nullptr;
  float scale = 0.f;
};

// pin_registers over every accumulator array (the LoRA ones when kLora).
template <bool kLora, int MS, int NA, typename Acc, int NT>
__device__ __forceinline__ void pin_all(Acc (&acc)[MS][NA], float (&tacc)[MS][NT]) {
#pragma unroll
  for (int ms = 0; ms < MS; ++ms) {
    pin_registers(acc[ms]);
    if constexpr (kLora) pin_registers(tacc[ms]);
  }
}

// The epilogue of the plain GEMMs: f(b, row, col0, acc) takes a thread's
// whole share of an m64 block at once, rows row and row + 8 (either may be >=
// m) and, per 8-column chunk j, columns col0 + 8j and col0 + 8j + 1 (>= n past
// the edge): acc[4j], acc[4j + 1] on row, acc[4j + 2], acc[4j + 3] on row + 8.
// Whole blocks rather than one pair at a time, so that an epilogue can load a
// group of columns' constants (scales, bias, old C) before storing any of
// them: a load after a store through a pointer that might alias waits for it,
// which cost the pair-at-a-time epilogues one memory round trip per pair.
//
// prefetch(b, row0, col0) runs when the warp starts a tile, before its main
// loop: rows row0 .. row0 + 15 of the warp (each thread's row and row + 8 of
// every m64 block), columns col0 .. col0 + BN - 1; an epilogue that reads
// memory (C for beta != 0) can bring it into L2 while the MMAs run.
struct NoPrefetch {
  __device__ __forceinline__ void operator()(int64_t, int64_t, int64_t) const {}
};
template <class F, class P = NoPrefetch>
struct BlockStore {
  F f;
  P prefetch;
};
template <class F>
__device__ __forceinline__ BlockStore<F> block_store(F f) {
  return {f, NoPrefetch{}};
}
template <class F, class P>
__device__ __forceinline__ BlockStore<F, P> block_store(F f, P prefetch) {
  return {f, prefetch};
}
template <class S> struct IsBlockStore : std::false_type {};
template <class F, class P> struct IsBlockStore<BlockStore<F, P>> : std::true_type {};

// The whole persistent kernel but its epilogue, for the block's tiles of the
// m x n x batch output: `store`, a BlockStore, receives the finished sums of
// batch entry b by m64 blocks. Called from a __global__ built
// for sm_90a with Tr::kThreads threads and Tr::kSmemBytes of dynamic shared
// memory; map_a / map_b are its __grid_constant__ parameters.
//
// kGeglu (128-wide tiles, B's rows interleaved in blocks of kGegluBlock = 64,
// contract/kernel_types.h: 64 gate rows, then the 64 matching up rows): store(b, row, col, g0, g1, u0, u1) receives
// the gate and up sums of output columns col, col + 1 of an m x n / 2 output
// instead; in each 128-column tile, accumulator chunk j (gate) and j + 8 (up)
// sit in the same thread, so the gated product needs no data exchange.
//
// Fused LoRA forward (Tr::kLoraRows > 0; f16 / bf16, batch 1): the sums
// become x W^T + scale (x A^T) B^T, reading x once. Each stage also brings the
// k-tile of A, and the consumers keep t = x A^T for their rows in a second,
// narrow accumulator (m64 n kLoraRows wgmma on the same A-tile of x). After
// the last k-tile, one more stage of the ring brings the tile's rows of B;
// t, scaled and rounded to T, is already in the register layout of a wgmma A
// operand (an m64n16 accumulator's layout is the m64k16 A fragment's), so
// ceil(r / 16) wgmma with A from registers add scale t B^T to the sums. Tiles
// of the first column block hand t itself (unscaled) to
// store_t(row, col, v0, v1), col even, for the backward pass.
template <class Tr, bool kGeglu = false, class Store, class StoreT>
__device__ __forceinline__ void wgmma_gemm_loop(const CUtensorMap& map_a, const CUtensorMap& map_b,
                                                const LoraMaps& lora, int64_t m, int64_t n, int64_t k,
                                                int64_t batch, Store&& store, StoreT&& store_t) {
  using Acc = typename Tr::Acc;
  constexpr bool kLora = Tr::kLoraRows > 0;
  constexpr int kTAcc = kLora ? Tr::kLoraRows / 2 : 1;  // t's accumulators per thread and m64 MMA
  extern __shared__ uint8_t smem_raw[];
  const uint32_t base = (shared_addr(smem_raw) + 1023) & ~1023u;
  const uint32_t stages_a = base, stages_b = base + Tr::kStages * Tr::kBytesA;
  const uint32_t stages_la = stages_b + Tr::kStages * Tr::kBytesB;  // 1024-aligned: kBytesB is
  const uint32_t full = stages_la + Tr::kStages * Tr::kBytesLA, empty = full + 8 * Tr::kStages;
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

  const int64_t tiles_m = ceil_div(m, Tr::BM), tiles_n = ceil_div(n, Tr::BN);
  const int64_t tiles_mn = tiles_m * tiles_n, tiles = tiles_mn * batch;
  const int ktiles = static_cast<int>(ceil_div(k, Tr::BK));
  const int kiters = ktiles + (kLora ? 1 : 0);  // stages per tile: the LoRA B tile is one more
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
          mbar_expect_tx(full + 8 * stage, Tr::kBytesA + Tr::kBytesB + Tr::kBytesLA);
          tma_load_3d(stages_a + stage * Tr::kBytesA, &map_a, full + 8 * stage, kt * Tr::BK,
                      static_cast<int>(tm * Tr::BM), static_cast<int>(b));
          tma_load_3d(stages_b + stage * Tr::kBytesB, &map_b, full + 8 * stage, kt * Tr::BK,
                      static_cast<int>(tn * Tr::BN), static_cast<int>(b));
          if constexpr (kLora)
            tma_load_3d(stages_la + stage * Tr::kBytesLA, lora.la, full + 8 * stage, kt * Tr::BK, 0, 0);
          if (++stage == Tr::kStages) { stage = 0; phase ^= 1; }
        }
        if constexpr (kLora) {  // the tile's rows of the LoRA B, into the B slot of one more stage
          mbar_wait(empty + 8 * stage, phase ^ 1);
          mbar_expect_tx(full + 8 * stage, Tr::kBytesB);
          tma_load_3d(stages_b + stage * Tr::kBytesB, lora.lb, full + 8 * stage, 0, static_cast<int>(tn * Tr::BN), 0);
          if (++stage == Tr::kStages) { stage = 0; phase ^= 1; }
        }
      }
    }
  } else {
    // ---- consumers
    regs_inc<232>();
    const int consumer = warpgroup - 1, warp = t / 32, lane = t % 32;
    const int row0 = Tr::kPingPong ? 0 : consumer * Tr::kConsumerRows;  // our rows of the tile
    Acc acc[Tr::kMSub][Tr::kAccum];
    float tacc[Tr::kMSub][kTAcc];  // LoRA: t = x A^T of our rows
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
      if constexpr (IsBlockStore<std::decay_t<Store>>::value) {
#pragma unroll
        for (int ms = 0; ms < Tr::kMSub; ++ms)
          store.prefetch(b, tm * Tr::BM + row0 + ms * 64 + warp * 16, tn * Tr::BN);
      }
      // The producer fills the ring with the block's tiles in order, ktiles
      // stages each: where the j-th tile's first stage is, and its phase.
      const int64_t it0 = j * kiters;
      int stage = static_cast<int>(it0 % Tr::kStages), prev_stage = stage;
      uint32_t phase = static_cast<uint32_t>((it0 / Tr::kStages) & 1);
#pragma unroll
      for (int ms = 0; ms < Tr::kMSub; ++ms)
#pragma unroll
        for (int i = 0; i < Tr::kAccum; ++i) acc[ms][i] = Acc(0);
      if constexpr (kLora) {
#pragma unroll
        for (int ms = 0; ms < Tr::kMSub; ++ms)
#pragma unroll
          for (int i = 0; i < kTAcc; ++i) tacc[ms][i] = 0.f;
      }
      for (int kt = 0; kt < ktiles; ++kt) {
        mbar_wait(full + 8 * stage, phase);
        pin_all<kLora>(acc, tacc);
        wgmma_fence();
        const uint32_t a0 = stages_a + stage * Tr::kBytesA + row0 * 128;  // rows of 128 bytes
        const uint32_t b0 = stages_b + stage * Tr::kBytesB;
#pragma unroll
        for (int kk = 0; kk < 4; ++kk)  // 4 wgmma of 32 bytes of K each
#pragma unroll
          for (int ms = 0; ms < Tr::kMSub; ++ms) {
            wgmma_step<Tr::BN, typename Tr::Elem>(acc[ms], tile_desc(a0 + ms * 64 * 128 + kk * 32),
                                                  tile_desc(b0 + kk * 32));
            if constexpr (kLora)
              wgmma_step<Tr::kLoraRows, typename Tr::Elem>(
                  tacc[ms], tile_desc(a0 + ms * 64 * 128 + kk * 32),
                  tile_desc(stages_la + stage * Tr::kBytesLA + kk * 32));
          }
        wgmma_commit();
        wgmma_wait<1>();  // this stage's MMAs may still run; the previous stage's are done
        pin_all<kLora>(acc, tacc);
        if (kt > 0 && lane == 0) mbar_arrive(empty + 8 * prev_stage);
        prev_stage = stage;
        if (++stage == Tr::kStages) { stage = 0; phase ^= 1; }
      }
      wgmma_wait<0>();
      pin_all<kLora>(acc, tacc);
      if (ktiles > 0 && lane == 0) mbar_arrive(empty + 8 * prev_stage);
      if constexpr (kLora) {
        // acc += (scale t) B^T: t's accumulators of columns 16s .. 16s + 15 as
        // the A fragment of k-step s (chunks of 8 columns: 4 accumulators each).
        mbar_wait(full + 8 * stage, phase);
        constexpr int kSteps = (Tr::kLoraRows + 15) / 16;
        uint32_t frag[Tr::kMSub][kSteps][4];
#pragma unroll
        for (int ms = 0; ms < Tr::kMSub; ++ms)
#pragma unroll
          for (int s = 0; s < kSteps; ++s)
#pragma unroll
            for (int h = 0; h < 2; ++h) {  // chunk 2s + h: columns 16s + 8h ..
              const int c = 4 * (2 * s + h);
              const bool in = c < kTAcc;  // r <= 8: the second chunk is zeros
              using E = typename Tr::Elem;
              frag[ms][s][2 * h] = in ? pack2<E>(lora.scale * tacc[ms][c], lora.scale * tacc[ms][c + 1]) : 0u;
              frag[ms][s][2 * h + 1] = in ? pack2<E>(lora.scale * tacc[ms][c + 2], lora.scale * tacc[ms][c + 3]) : 0u;
            }
        wgmma_fence();
#pragma unroll
        for (int s = 0; s < kSteps; ++s)
#pragma unroll
          for (int ms = 0; ms < Tr::kMSub; ++ms)
            wgmma_rs_step<Tr::BN, typename Tr::Elem>(acc[ms], frag[ms][s],
                                                     tile_desc(stages_b + stage * Tr::kBytesB + s * 32));
        wgmma_commit();
        wgmma_wait<0>();
        pin_all<kLora>(acc, tacc);
        __syncwarp();
        if (lane == 0) mbar_arrive(empty + 8 * stage);
      }
      if (Tr::kPingPong) {
        __syncwarp();
        if (lane == 0) mbar_arrive(turn + 8 * (1 - consumer));  // the other warpgroup's turn
      }

      if constexpr (kLora) {
        if (tn == 0) {  // t for the backward pass, from the first column block's tiles only
#pragma unroll
          for (int ms = 0; ms < Tr::kMSub; ++ms) {
            const int64_t row = tm * Tr::BM + row0 + ms * 64 + warp * 16 + lane / 4;
#pragma unroll
            for (int c = 0; c < kTAcc / 4; ++c) {
              const int col = 8 * c + (lane % 4) * 2;
              if (row < m) store_t(row, col, tacc[ms][4 * c], tacc[ms][4 * c + 1]);
              if (row + 8 < m) store_t(row + 8, col, tacc[ms][4 * c + 2], tacc[ms][4 * c + 3]);
            }
          }
        }
      }

      // Epilogue. Per 8-column chunk j the accumulators hold the m16n8 layout
      // of mma.sync for this warp's 16 rows (the same for f32 and s32 wgmma
      // accumulators): acc[4j], acc[4j+1] at (row, col), (row, col+1);
      // acc[4j+2], acc[4j+3] at row + 8.
#pragma unroll
      for (int ms = 0; ms < Tr::kMSub; ++ms) {
        const int64_t row = tm * Tr::BM + row0 + ms * 64 + warp * 16 + lane / 4;
        if constexpr (kGeglu) {
          static_assert(Tr::BN == 2 * kGegluBlock, "GEGLU pairs gate chunk j with up chunk j + 8 of a tile of two blocks");
#pragma unroll
          for (int n8 = 0; n8 < 8; ++n8) {
            const int64_t col = tn * kGegluBlock + n8 * 8 + (lane % 4) * 2;  // output column
            if (col >= n / 2) continue;
            const int g = 4 * n8, u = 4 * (n8 + 8);  // constant indices: the accumulators stay in registers
            if (row < m) store(b, row, col, acc[ms][g], acc[ms][g + 1], acc[ms][u], acc[ms][u + 1]);
            if (row + 8 < m) store(b, row + 8, col, acc[ms][g + 2], acc[ms][g + 3], acc[ms][u + 2], acc[ms][u + 3]);
          }
        } else {
          static_assert(IsBlockStore<std::decay_t<Store>>::value, "the plain GEMMs' epilogue is a BlockStore");
          store.f(b, row, tn * Tr::BN + (lane % 4) * 2, acc[ms]);
        }
      }
    }
  }
}

// The plain GEMM (and GEGLU) main loop: wgmma_gemm_loop without LoRA.
template <class Tr, bool kGeglu = false, class Store>
__device__ __forceinline__ void wgmma_gemm_body(const CUtensorMap& map_a, const CUtensorMap& map_b, int64_t m,
                                                int64_t n, int64_t k, int64_t batch, Store&& store) {
  static_assert(Tr::kLoraRows == 0, "LoRA tiles need wgmma_gemm_loop's LoRA operands");
  wgmma_gemm_loop<Tr, kGeglu>(map_a, map_b, LoraMaps{}, m, n, k, batch, store,
                              [](int64_t, int64_t, float, float) {});
}

// ---- host side -------------------------------------------------------------------

// A K-contiguous f16 / bf16 operand [batch][rows][k] (row stride ld, batch
// stride batch_stride) read in 128-byte x box_rows boxes.
inline bool encode_operand(CUtensorMap* map, KDType dtype, const void* ptr, int64_t rows, int64_t k, int64_t ld,
                           int64_t batch, int64_t batch_stride, int box_rows) {
  const CUtensorMapDataType type =
      dtype == KDType::BF16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  return encode_kmajor_operand(map, type, 2, ptr, rows, k, ld, batch, batch_stride, box_rows);
}

enum class WgmmaKind { Cooperative128 = 1, Cooperative256 = 2, PingPong128 = 3 };

// CUDA 12.4's ptxas serializes the ping-pong kernels' wgmma (its warning
// C7514: accumulators read between the start and end of a pipeline stage);
// 13.0's does not. Built with nvcc 12, those shapes take the cooperative
// 128-wide kernel instead, which 12.4 compiles as well as 13.0 does.
#if defined(__CUDACC_VER_MAJOR__) && __CUDACC_VER_MAJOR__ >= 13
constexpr bool kPingPongCompilesWell = true;
#else
constexpr bool kPingPongCompilesWell = false;
#endif

// The 128-wide kernel for `ktiles` k-tiles: ping-pong when K is short (few
// k-tiles per tile, so the epilogue is a large share of it).
inline WgmmaKind kind_128(int64_t ktiles) {
  return kPingPongCompilesWell && ktiles <= GERM_WGMMA_PINGPONG_MAX_KTILES ? WgmmaKind::PingPong128
                                                                           : WgmmaKind::Cooperative128;
}

// The cooperative 128 x 256 kernel unless 128-wide tiles leave the last wave
// less empty (counting a 256-wide tile as ~1.8 of the 128-wide ones), else
// kind_128's. GERM_WGMMA_FORCE pins one.
inline WgmmaKind choose_wgmma_kind(int64_t m, int64_t n, int64_t batch, int64_t ktiles, int sm_count) {
  if (GERM_WGMMA_FORCE != 0) return static_cast<WgmmaKind>(GERM_WGMMA_FORCE);
  auto cost = [&](int bn, double width) {
    const int64_t tiles = ceil_div(m, 128) * ceil_div(n, bn) * batch;
    return static_cast<double>(ceil_div(tiles, sm_count)) * width;
  };
  if (cost(256, 1.8) <= cost(128, 1.0)) return WgmmaKind::Cooperative256;
  return kind_128(ktiles);
}

// f(traits{}) with the traits of `kind` for operand type T.
template <typename T, class F>
cudaError_t with_wgmma_traits(WgmmaKind kind, F&& f) {
  if (kind == WgmmaKind::Cooperative256) return f(Wgmma256<T>{});
  if constexpr (kPingPongCompilesWell)
    if (kind == WgmmaKind::PingPong128) return f(Wgmma128PingPong<T>{});
  return f(Wgmma128<T>{});
}

// One persistent block per SM (fewer when there are fewer tiles), with the
// traits' shared memory opted in.
template <class Tr, class Kernel, class... Args>
cudaError_t launch_persistent(Kernel kernel, int64_t m, int64_t n, int64_t batch, int sm_count, cudaStream_t stream,
                              const Args&... args) {
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Tr::kSmemBytes);
  if (e != cudaSuccess) return e;
  const int64_t tiles = ceil_div(m, Tr::BM) * ceil_div(n, Tr::BN) * batch;
  const unsigned grid = static_cast<unsigned>(tiles < sm_count ? tiles : sm_count);
  kernel<<<grid, Tr::kThreads, Tr::kSmemBytes, stream>>>(args...);
  return cudaGetLastError();
}

}  // namespace germ::kernels::gemm_detail
