// Sum / Mean / Max / Min over the middle axis of a contiguous [outer, len, inner]
// tensor, f32 accumulation, one rounding into the output dtype. Three shapes of
// work get three strategies:
//
//   inner == 1  (rows)    : rows are contiguous. One warp per row when rows are
//                           short (<= 1024), else one 256-thread block per row.
//                           Lanes stride by 32 so every load instruction is
//                           coalesced.
//   inner  > 1  (columns) : a 32 x 8 block; the 32 x-threads take 32 adjacent
//                           inner indices (coalesced 32-wide loads), the 8
//                           y-threads split len and are folded through shared
//                           memory at the end.
//   outer*inner == 1      : one output, so a single row would leave the GPU
//                           idle. Pass 1: up to kMaxPartials blocks each fold a
//                           grid-stride slice into scratch[block]; pass 2: one
//                           block folds the partials. Fixed order: deterministic.
//
// Every thread folds its elements sequentially and the threads are combined by
// a tree, so sums are pairwise-ish at the top level (a tree over 256..1024 serial
// runs). NaN propagates through Max/Min. len == 0 gives the identities: Sum 0,
// Max -inf, Min +inf, and Mean 0/0 = NaN.
#include "reduce.h"
#include "../common/dtype_io.cuh"
#include "../common/launch_utils.cuh"
#include "../common/reduce_utils.cuh"

namespace germ::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxPartials = 1024;    // pass-1 blocks of a whole-tensor reduction
constexpr int64_t kItemsPerThread = 8;    // pass 1: aim for >= this many loads per thread

template <class Op> __device__ __forceinline__ float identity_of();
template <> __device__ __forceinline__ float identity_of<SumOp>() { return 0.0f; }
template <> __device__ __forceinline__ float identity_of<MaxOp>() { return -INFINITY; }
template <> __device__ __forceinline__ float identity_of<MinOp>() { return INFINITY; }

// Mean divides once at the end, after the f32 sum.
__device__ __forceinline__ float finish(float v, bool mean, int64_t len) {
  return mean ? v / static_cast<float>(len) : v;
}

// ---- inner == 1: a group of kGroup threads per row ----------------------------
template <typename T, class Op, int kGroup>
__global__ void __launch_bounds__(kThreads) reduce_rows_kernel(const T* __restrict__ x, T* __restrict__ y,
                                                               int64_t rows, int64_t len, bool mean) {
  __shared__ float smem[kThreads / 32];
  constexpr int kRowsPerBlock = kThreads / kGroup;
  const int t = threadIdx.x % kGroup;
  // Grid-stride over row groups; the loop bound is block-uniform so the block
  // reduction's __syncthreads is reached by every thread.
  for (int64_t base = int64_t(blockIdx.x) * kRowsPerBlock; base < rows; base += int64_t(gridDim.x) * kRowsPerBlock) {
    const int64_t row = base + threadIdx.x / kGroup;
    float acc = identity_of<Op>();
    if (row < rows) {
      const T* xr = x + row * len;
      for (int64_t j = t; j < len; j += kGroup) acc = Op()(acc, to_f32(xr[j]));
    }
    acc = group_reduce<kGroup>(acc, Op(), smem);
    if (row < rows && t == 0) y[row] = from_f32<T>(finish(acc, mean, len));
  }
}

// ---- inner > 1: columns --------------------------------------------------------
constexpr int kColX = 32, kColY = 8;

template <typename T, class Op>
__global__ void __launch_bounds__(kColX * kColY) reduce_cols_kernel(const T* __restrict__ x, T* __restrict__ y,
                                                                    int64_t outer, int64_t len, int64_t inner,
                                                                    bool mean) {
  __shared__ float part[kColY][kColX + 1];  // +1: the fold below reads a column; keep banks distinct
  const int64_t col_tiles = ceil_div(inner, kColX);
  for (int64_t tile = blockIdx.x; tile < outer * col_tiles; tile += gridDim.x) {
    const int64_t o = tile / col_tiles;
    const int64_t c = (tile - o * col_tiles) * kColX + threadIdx.x;
    float acc = identity_of<Op>();
    if (c < inner) {
      const T* xo = x + o * len * inner + c;
      for (int64_t j = threadIdx.y; j < len; j += kColY) acc = Op()(acc, to_f32(xo[j * inner]));
    }
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < inner) {
      float r = part[0][threadIdx.x];
#pragma unroll
      for (int k = 1; k < kColY; ++k) r = Op()(r, part[k][threadIdx.x]);
      y[o * inner + c] = from_f32<T>(finish(r, mean, len));
    }
    __syncthreads();
  }
}

// ---- whole tensor: two passes through scratch ----------------------------------
template <typename T, class Op>
__global__ void __launch_bounds__(kThreads) reduce_all_pass1(const T* __restrict__ x, float* __restrict__ partial,
                                                             int64_t len) {
  __shared__ float smem[kThreads / 32];
  float acc = identity_of<Op>();
  const int64_t stride = int64_t(gridDim.x) * kThreads;
  for (int64_t i = int64_t(blockIdx.x) * kThreads + threadIdx.x; i < len; i += stride) acc = Op()(acc, to_f32(x[i]));
  acc = group_reduce<kThreads>(acc, Op(), smem);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

template <typename T, class Op>
__global__ void __launch_bounds__(kThreads) reduce_all_pass2(const float* __restrict__ partial, int parts,
                                                             T* __restrict__ y, int64_t len, bool mean) {
  __shared__ float smem[kThreads / 32];
  float acc = identity_of<Op>();
  for (int i = threadIdx.x; i < parts; i += kThreads) acc = Op()(acc, partial[i]);
  acc = group_reduce<kThreads>(acc, Op(), smem);
  if (threadIdx.x == 0) y[0] = from_f32<T>(finish(acc, mean, len));
}

int64_t whole_tensor_partials(int64_t len) {
  const int64_t p = ceil_div(len, kThreads * kItemsPerThread);
  return p < 1 ? 1 : (p > kMaxPartials ? kMaxPartials : p);
}

template <typename T, class Op>
cudaError_t launch(const T* x, T* y, int64_t outer, int64_t len, int64_t inner, bool mean, float* scratch,
                   cudaStream_t stream) {
  if (outer * inner == 1) {
    if (scratch == nullptr) return cudaErrorInvalidValue;
    const int parts = static_cast<int>(whole_tensor_partials(len));
    reduce_all_pass1<T, Op><<<parts, kThreads, 0, stream>>>(x, scratch, len);
    reduce_all_pass2<T, Op><<<1, kThreads, 0, stream>>>(scratch, parts, y, len, mean);
  } else if (inner == 1) {
    if (len <= 1024) {
      const unsigned grid = grid_stride_blocks(outer, kThreads / 32);
      reduce_rows_kernel<T, Op, 32><<<grid, kThreads, 0, stream>>>(x, y, outer, len, mean);
    } else {
      const unsigned grid = grid_stride_blocks(outer, 1);
      reduce_rows_kernel<T, Op, kThreads><<<grid, kThreads, 0, stream>>>(x, y, outer, len, mean);
    }
  } else {
    const unsigned grid = grid_stride_blocks(outer * ceil_div(inner, kColX), 1);
    reduce_cols_kernel<T, Op><<<grid, dim3(kColX, kColY), 0, stream>>>(x, y, outer, len, inner, mean);
  }
  return cudaGetLastError();
}

}  // namespace

int64_t reduce_scratch_floats(const ReduceArgs& a) {
  return a.outer * a.inner == 1 ? whole_tensor_partials(a.len) : 0;
}

cudaError_t reduce(const ReduceArgs& a, float* scratch, cudaStream_t stream) {
  const int64_t outer = a.outer, len = a.len, inner = a.inner;
  if (outer <= 0 || inner <= 0) return cudaSuccess;  // empty output
  if (len < 0) return cudaErrorInvalidValue;
  return dispatch_float_dtype(a.dt, [&](auto t) {
    using T = decltype(t);
    const auto* xi = static_cast<const T*>(a.x);
    auto* yo = static_cast<T*>(a.y);
    switch (a.op) {
      case ReduceOp::Sum: return launch<T, SumOp>(xi, yo, outer, len, inner, false, scratch, stream);
      case ReduceOp::Mean: return launch<T, SumOp>(xi, yo, outer, len, inner, true, scratch, stream);
      case ReduceOp::Max: return launch<T, MaxOp>(xi, yo, outer, len, inner, false, scratch, stream);
      case ReduceOp::Min: return launch<T, MinOp>(xi, yo, outer, len, inner, false, scratch, stream);
    }
    return cudaErrorInvalidValue;
  });
}

}  // namespace germ::kernels
