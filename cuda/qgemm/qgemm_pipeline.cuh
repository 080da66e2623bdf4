// The main-loop skeletons the quantized tensor-core GEMMs share (the f16
// GEMM in cuda/gemm/gemm_tensorcore.cuh runs the same two schedules inline):
//   async_ring             sm_80+: S - 1 k-tiles in flight through cp.async
//                          while one is consumed (S-stage shared ring);
//   register_double_buffer sm_75 (no cp.async): the next k-tile's global loads
//                          sit in registers while this one is consumed, then
//                          go to the other shared buffer.
// The kernels supply issue / fetch / stash / compute for their operands, and
// for_each_acc walks the m16n8 accumulator fragments of a warp.
#pragma once
#include <cstdint>
#include "../gemm/gemm_tensorcore.cuh"

namespace germ::kernels::qgemm_detail {

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
template <int S, class Issue, class Compute>
__device__ __forceinline__ void async_ring(int64_t kt0, int64_t kt1, Issue&& issue, Compute&& compute) {
#pragma unroll
  for (int s = 0; s < S - 1; ++s) {
    if (kt0 + s < kt1) issue(kt0 + s);
    gemm_detail::cp_async_commit();  // even when empty: the group count stays the tile index
  }
  for (int64_t kt = kt0; kt < kt1; ++kt) {
    gemm_detail::cp_async_wait<S - 2>();  // this thread's copies of tile kt landed ...
    __syncthreads();                      // ... everyone's, and stage kt - 1 is no longer read
    if (kt + S - 1 < kt1) issue(kt + S - 1);
    gemm_detail::cp_async_commit();
    compute(kt);
  }
  gemm_detail::cp_async_wait<0>();
}
#endif

template <class Fetch, class Stash, class Compute>
__device__ __forceinline__ void register_double_buffer(int64_t kt0, int64_t kt1, Fetch&& fetch, Stash&& stash,
                                                       Compute&& compute) {
  if (kt0 < kt1) { fetch(kt0); stash(kt0); }
  __syncthreads();
  for (int64_t kt = kt0; kt < kt1; ++kt) {
    if (kt + 1 < kt1) fetch(kt + 1);
    compute(kt);
    if (kt + 1 < kt1) stash(kt + 1);  // the other buffer: last read before the previous barrier
    __syncthreads();
  }
}

// f(i, j, e, row, col) for each accumulator element of a warp whose tile
// starts at (warp_m0, warp_n0): e = 0, 1 at (row g, cols 2t, 2t + 1), e = 2, 3
// at row g + 8 of fragment (i, j) (g = lane / 4, t = lane % 4).
template <int kMFrags, int kNFrags, class F>
__device__ __forceinline__ void for_each_acc(int warp_m0, int warp_n0, int lane, F&& f) {
#pragma unroll
  for (int i = 0; i < kMFrags; ++i)
#pragma unroll
    for (int j = 0; j < kNFrags; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        f(i, j, e, warp_m0 + i * 16 + (lane >> 2) + (e >> 1) * 8, warp_n0 + j * 8 + (lane & 3) * 2 + (e & 1));
}

// A block's accumulators for its output tile at (m0, n0) of an m x n result:
// the partial sums of K split blockIdx.y into part[split][m][n] when K is
// split, else store(row, col, value) (the epilogue).
template <int kMFrags, int kNFrags, typename Acc, class Store>
__device__ __forceinline__ void write_tile(const Acc (&acc)[kMFrags][kNFrags][4], int64_t m0, int64_t n0, int64_t m,
                                           int64_t n, int warp_m0, int warp_n0, int lane, int splits, Acc* part,
                                           Store&& store) {
  for_each_acc<kMFrags, kNFrags>(warp_m0, warp_n0, lane, [&](int i, int j, int e, int r, int c) {
    const int64_t row = m0 + r, col = n0 + c;
    if (row >= m || col >= n) return;
    if (splits > 1) part[(int64_t(blockIdx.y) * m + row) * n + col] = acc[i][j][e];
    else store(row, col, acc[i][j][e]);
  });
}

}  // namespace germ::kernels::qgemm_detail
