// Outlier statistics of activations (contract: stats.h). Three kernels:
//   rows  : a warp per token row, two passes per 1024-element segment (mean,
//           then shifted power sums) so a large mean costs no precision; the
//           row's kurtosis and max |x| are written, and the rows a block saw
//           are merged (f64, stats_merge) into one partial per block.
//   merge : one block folds the partials (and the previous state) into one.
//   cols  : max |x| per column, a thread per column over a slice of rows,
//           atomicMax on the float's bits (non-negative floats, NaN included,
//           order like their bit patterns as ints).
#include <cstdint>
#include "stats.h"
#include "../common/dtype_io.cuh"
#include "../common/launch_utils.cuh"

namespace germ::kernels {
namespace {

constexpr int kWarps = 8;
constexpr int64_t kSeg = 1024;  // elements per segment: 32 per lane, re-read from L1 in pass 2
constexpr int kMergeThreads = 256;
constexpr int kColThreads = 256;

__device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o; o >>= 1) v = max_nan(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Moments of x[0, len) (every lane gets them); folds max |x| into amax.
template <typename T>
__device__ StatsState segment_state(const T* __restrict__ x, int64_t len, int lane, float& amax) {
  float sum = 0.f;
  for (int64_t j = lane; j < len; j += 32) {
    const float v = to_f32(x[j]);
    sum += v;
    amax = max_nan(amax, fabsf(v));
  }
  // The shift must be an f32 so x - shift is computed exactly near the mean.
  const float shift = static_cast<float>(warp_sum(sum) / static_cast<double>(len));
  float s1 = 0.f, s2 = 0.f, s3 = 0.f, s4 = 0.f;
  for (int64_t j = lane; j < len; j += 32) {
    const float d = to_f32(x[j]) - shift, d2 = d * d;
    s1 += d;
    s2 += d2;
    s3 += d2 * d;
    s4 += d2 * d2;
  }
  return stats_from_shifted(static_cast<double>(len), shift, warp_sum(s1), warp_sum(s2), warp_sum(s3), warp_sum(s4));
}

template <typename T>
__global__ void __launch_bounds__(32 * kWarps) rows_kernel(const T* __restrict__ x, int64_t rows, int64_t cols,
                                                          float* __restrict__ row_kurt,
                                                          float* __restrict__ row_absmax, StatsState* partials) {
  __shared__ StatsState warp_states[kWarps];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  StatsState acc = stats_empty();
  for (int64_t r = int64_t(blockIdx.x) * kWarps + warp; r < rows; r += int64_t(gridDim.x) * kWarps) {
    const T* row = x + r * cols;
    StatsState rs = stats_empty();
    float amax = 0.f;
    for (int64_t s = 0; s < cols; s += kSeg)
      rs = stats_merge(rs, segment_state(row + s, cols - s < kSeg ? cols - s : kSeg, lane, amax));
    amax = warp_max(amax);
    rs = stats_as_token(rs, amax);
    if (lane == 0) {
      row_kurt[r] = static_cast<float>(rs.kurt_sum);
      row_absmax[r] = amax;
    }
    acc = stats_merge(acc, rs);
  }
  if (lane == 0) warp_states[warp] = acc;
  __syncthreads();
  if (threadIdx.x == 0) {
    StatsState b = warp_states[0];
    for (int w = 1; w < kWarps; ++w) b = stats_merge(b, warp_states[w]);
    partials[blockIdx.x] = b;
  }
}

__global__ void __launch_bounds__(kMergeThreads) merge_kernel(const StatsState* __restrict__ partials, int n,
                                                              const StatsState* prev, StatsState* out) {
  __shared__ StatsState s[kMergeThreads];
  const int t = threadIdx.x;
  StatsState acc = stats_empty();
  for (int i = t; i < n; i += kMergeThreads) acc = stats_merge(acc, partials[i]);
  s[t] = acc;
  __syncthreads();
  for (int w = kMergeThreads / 2; w; w >>= 1) {
    if (t < w) s[t] = stats_merge(s[t], s[t + w]);
    __syncthreads();
  }
  if (t == 0) out[0] = prev ? stats_merge(*prev, s[0]) : s[0];
}

template <typename T>
__global__ void __launch_bounds__(kColThreads) cols_kernel(const T* __restrict__ x, int64_t rows, int64_t cols,
                                                           float* __restrict__ col_absmax) {
  const int64_t c = int64_t(blockIdx.x) * kColThreads + threadIdx.x;
  if (c >= cols) return;
  float m = 0.f;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) m = max_nan(m, fabsf(to_f32(x[r * cols + c])));
  atomicMax(reinterpret_cast<int*>(col_absmax + c), __float_as_int(m));
}

unsigned row_blocks(int64_t rows) { return grid_stride_blocks(rows, kWarps); }

}  // namespace

size_t outlier_stats_workspace_bytes(const OutlierStatsArgs& a) {
  return size_t(row_blocks(a.rows)) * sizeof(StatsState);
}

cudaError_t outlier_stats(const OutlierStatsArgs& a, void* workspace, cudaStream_t stream) {
  const int64_t rows = a.rows, cols = a.cols;
  float* col_absmax = a.col_absmax;
  if (rows <= 0 || cols <= 0) return cudaErrorInvalidValue;
  const unsigned blocks = row_blocks(rows);
  auto* partials = static_cast<StatsState*>(workspace);
  // Columns: enough row slices to fill the GPU a few times over.
  DeviceInfo info;
  const int64_t sms = device_info(&info) == cudaSuccess && info.sm_count > 0 ? info.sm_count : 80;
  const int64_t col_blocks = ceil_div(cols, kColThreads);
  const int64_t want_y = ceil_div(sms * 8, col_blocks);
  const dim3 col_grid(static_cast<unsigned>(col_blocks),
                      static_cast<unsigned>(want_y < rows ? (want_y < 65535 ? want_y : 65535) : rows));
  cudaError_t e = cudaMemsetAsync(col_absmax, 0, size_t(cols) * sizeof(float), stream);
  if (e != cudaSuccess) return e;
  e = dispatch_float_dtype(a.dt, [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(a.x);
    rows_kernel<T><<<blocks, 32 * kWarps, 0, stream>>>(px, rows, cols, a.row_kurt, a.row_absmax, partials);
    cols_kernel<T><<<col_grid, kColThreads, 0, stream>>>(px, rows, cols, col_absmax);
    return cudaGetLastError();
  });
  if (e != cudaSuccess) return e;
  merge_kernel<<<1, kMergeThreads, 0, stream>>>(partials, static_cast<int>(blocks), a.prev, a.state);
  return cudaGetLastError();
}

}  // namespace germ::kernels
