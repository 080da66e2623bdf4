// Tile configurations of the GEMM kernels, one traits struct per config (in the
// manner of flash-attention's kernel_traits.h). Everything a kernel derives from
// its tile shape lives here, so a new config is one line in gemm_dispatch.cu.
#pragma once

namespace germ::kernels::gemm_detail {

// Tensor-core (mma.sync) configs.
//
//   BM x BN x BK   block tile; each k-step moves BM*BK + BK*BN elements into
//                  shared memory and issues (BM/16)*(BN/8)*(BK/16) MMAs.
//   WARPS_M x N    warp grid; each warp owns a (BM/WARPS_M) x (BN/WARPS_N) tile
//                  of f32 accumulators in registers.
//   kStagesAsync   cp.async pipeline depth on sm_80+ (sm_75 has no cp.async and
//                  always double-buffers through registers: kStagesRegs = 2).
//
// Shared memory rows are padded by 8 elements (16 bytes). A row is then an odd
// number of 16-byte units long, so the 8 row addresses of one ldmatrix 8x8
// matrix (same column, 8 consecutive rows) fall in 8 distinct 16-byte bank
// groups: conflict-free for ldmatrix and for the 16-byte cp.async stores, in
// both the K-contiguous and the M/N-contiguous (transposed) layouts. Padding
// costs 25% more shared memory at BK = 32 but needs no index arithmetic in the
// inner loop, unlike an XOR swizzle, and the budget below still fits.
template <int BM_, int BN_, int BK_, int WARPS_M_, int WARPS_N_, int STAGES_, int MIN_BLOCKS_>
struct TcTraits {
  static constexpr int BM = BM_, BN = BN_, BK = BK_;
  static constexpr int kWarpsM = WARPS_M_, kWarpsN = WARPS_N_;
  static constexpr int kWarps = kWarpsM * kWarpsN;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kWarpTileM = BM / kWarpsM, kWarpTileN = BN / kWarpsN;
  static constexpr int kMFrags = kWarpTileM / 16;  // m16 fragments per warp
  static constexpr int kNFrags = kWarpTileN / 8;   // n8 fragments per warp
  static constexpr int kStagesAsync = STAGES_;
  static constexpr int kStagesRegs = 2;
  static constexpr int kMinBlocks = MIN_BLOCKS_;  // __launch_bounds__ min blocks per SM (caps registers)
  static constexpr int kPad = 8;

  static_assert(BK % 16 == 0, "k-steps of 16 (m16n8k16)");
  static_assert(kWarpTileM % 16 == 0 && kWarpTileN % 16 == 0, "ldmatrix.x4 loads B in n16 pairs");

  // Elements of one shared tile of an operand whose rows are `mn` long when the
  // operand is K-contiguous ([mn][BK]) or BK long otherwise ([BK][mn]).
  static constexpr int tile_elems(bool k_contig, int mn) {
    return k_contig ? mn * (BK + kPad) : BK * (mn + kPad);
  }
  static constexpr int stage_elems(bool trans_a, bool trans_b) {
    return tile_elems(!trans_a, BM) + tile_elems(trans_b, BN);
  }
  static constexpr int smem_bytes(bool trans_a, bool trans_b, int stages) {
    return stages * stage_elems(trans_a, trans_b) * 2;  // 2-byte elements
  }
};

// 128 x 128 x 32, 8 warps as 2 x 4 (64 x 32 per warp), 4 stages.
// Why: 64 x 32 per warp gives 4 x 4 = 16 MMAs per 6 ldmatrix.x4 (4 for A, 2 for
// B) per k16, enough reuse to keep the tensor pipes ahead of shared memory on
// mma.sync hardware; 64 accumulator registers per thread leave room for
// fragments without spilling at 256 threads. BK = 32 keeps a stage at 20 KB, so 4
// stages (80 KB) fit sm_86/89 (99 KB per block) and two blocks fit an
// A100/H100 SM; four stages keep three k-tiles of loads in flight (stage depth
// not yet swept). sm_75 uses two register-staged stages (40 KB, under its 64 KB
// limit). Measured on H100 (cuda/dev/kernel_check, f16 4096^3): capping
// registers for 2 blocks/SM gave 213 TFLOP/s (x @ W^T) and 238-263 (other
// layouts) against 159-192 with one block/SM at 168 registers.
#ifndef GERM_TC_LARGE_MIN_BLOCKS  // dev override, for A/B timing in cuda/dev
#define GERM_TC_LARGE_MIN_BLOCKS 2
#endif
using TcLarge = TcTraits<128, 128, 32, 2, 4, 4, GERM_TC_LARGE_MIN_BLOCKS>;

// 32 x 32 x 64, 4 warps as 2 x 2 (16 x 16 per warp), 4 stages: for small M
// (inference: M = 16..64 tokens) and any problem whose large-tile grid would not
// fill the GPU. Small tiles mean many blocks (M = 16, N = 2304 gives 72 of them)
// so more SMs stream the weight matrix, which dominates the bytes at small M;
// BK = 64 doubles the bytes each stage keeps in flight. 4 stages = 40 KB.
using TcSmall = TcTraits<32, 32, 64, 2, 2, 4, 1>;

// SIMT (CUDA-core) configs: f32 always, f16/bf16 where tensor cores cannot be
// used (bf16 on sm_75, or operands not 16-byte aligned). Each thread owns a
// TM x TN register tile split into 4 x 4 sub-tiles spread BM/(TM/4) apart, so a
// warp's shared-memory reads of B are 16-byte float4s at consecutive addresses.
template <int BM_, int BN_, int TM_, int TN_, int BK_>
struct SimtTraits {
  static constexpr int BM = BM_, BN = BN_, TM = TM_, TN = TN_, BK = BK_;
  static constexpr int kThreadsN = BN / TN;
  static constexpr int kThreads = (BM / TM) * kThreadsN;
  static_assert(TM % 4 == 0 && TN % 4 == 0, "4 x 4 sub-tiles");
  static_assert((BM * BK) % kThreads == 0 && (BK * BN) % kThreads == 0, "whole loads per thread");
};

// 128 x 128, 8 x 8 per thread, 256 threads: 64 FMAs per 16 shared loads.
using SimtLarge = SimtTraits<128, 128, 8, 8, 8>;
// 32 x 64, 4 x 4 per thread, 128 threads: small M.
using SimtSmall = SimtTraits<32, 64, 4, 4, 8>;

}  // namespace germ::kernels::gemm_detail
