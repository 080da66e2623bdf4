// LayerNorm forward and backward over the last dim of [rows, cols].
//
// Forward: a group of threads per row (one warp when cols <= 1024, else a
// 512-thread block) makes three passes over the row: mean, then the variance as
// the mean of (x - mean)^2 (two-pass: no catastrophic cancellation, unlike
// E[x^2] - mean^2), then the normalised output. The second and third passes hit
// L1/L2, so DRAM sees the row once. mean and rstd are saved for the backward.
// With a residual (addLayerNorm) the row is round(x + residual), formed on each
// pass from both inputs, so DRAM still sees each input row once.
//
// Backward, with xhat = (x - mean) * rstd and g = dout * weight:
//   dx      = rstd * (g - mean(g) - xhat * mean(g * xhat))      per row
//   dweight = sum_rows dout * xhat,  dbias = sum_rows dout       per column
// dx is a row kernel like the forward. The column sums are deterministic and
// atomic-free: kernel 2 gives each of P row-slabs a block that sums its slab for
// 32 adjacent columns per warp (coalesced) into scratch[P][cols] (twice: dw, db),
// and kernel 3 folds the P partials of each column in a fixed order.
#include "layernorm.h"
#include "../common/dtype_io.cuh"
#include "../common/launch_utils.cuh"
#include "../common/reduce_utils.cuh"

namespace germ::kernels {
namespace {

constexpr int kThreads = 512;
constexpr int64_t kWarpRowMaxCols = 1024;

// ---- forward --------------------------------------------------------------------
// kResidual: the row is s = round_T(x + residual) (addLayerNorm), formed on
// every load instead of x; the statistics code is the same.
template <typename T, int kGroup, bool kResidual>
__global__ void __launch_bounds__(kThreads) ln_forward_kernel(T* __restrict__ out, float* __restrict__ mean_out,
                                                              float* __restrict__ rstd_out, const T* __restrict__ x,
                                                              const T* __restrict__ res, const T* __restrict__ w,
                                                              const T* __restrict__ b, int64_t rows, int64_t cols,
                                                              float eps) {
  __shared__ float smem[kThreads / 32];
  constexpr int kRowsPerBlock = kThreads / kGroup;
  const int t = threadIdx.x % kGroup;
  for (int64_t base = int64_t(blockIdx.x) * kRowsPerBlock; base < rows; base += int64_t(gridDim.x) * kRowsPerBlock) {
    const int64_t row = base + threadIdx.x / kGroup;
    const bool live = row < rows;  // dead threads still join the block reductions
    const T* xr = x + (live ? row : 0) * cols;
    const T* rr = kResidual ? res + (live ? row : 0) * cols : nullptr;
    auto load = [&](int64_t j) {
      if constexpr (kResidual) return to_f32(from_f32<T>(to_f32(xr[j]) + to_f32(rr[j])));
      else return to_f32(xr[j]);
    };
    float s = 0.0f;
    if (live) for (int64_t j = t; j < cols; j += kGroup) s += load(j);
    const float mean = group_reduce<kGroup>(s, SumOp(), smem) / static_cast<float>(cols);
    float v = 0.0f;
    if (live) for (int64_t j = t; j < cols; j += kGroup) { const float d = load(j) - mean; v += d * d; }
    const float rstd = rsqrtf(group_reduce<kGroup>(v, SumOp(), smem) / static_cast<float>(cols) + eps);
    if (live) {
      T* orow = out + row * cols;
      for (int64_t j = t; j < cols; j += kGroup) {
        const float y = (load(j) - mean) * rstd * (w ? to_f32(w[j]) : 1.0f) + (b ? to_f32(b[j]) : 0.0f);
        orow[j] = from_f32<T>(y);
      }
      if (t == 0 && mean_out != nullptr) { mean_out[row] = mean; rstd_out[row] = rstd; }  // null: inference, no backward
    }
  }
}

// ---- backward: dx ------------------------------------------------------------------
template <typename T, int kGroup>
__global__ void __launch_bounds__(kThreads) ln_backward_dx_kernel(T* __restrict__ dx, const T* __restrict__ dout,
                                                                  const T* __restrict__ x, const T* __restrict__ w,
                                                                  const float* __restrict__ mean,
                                                                  const float* __restrict__ rstd, int64_t rows,
                                                                  int64_t cols) {
  __shared__ float smem[kThreads / 32];
  constexpr int kRowsPerBlock = kThreads / kGroup;
  const int t = threadIdx.x % kGroup;
  for (int64_t base = int64_t(blockIdx.x) * kRowsPerBlock; base < rows; base += int64_t(gridDim.x) * kRowsPerBlock) {
    const int64_t row = base + threadIdx.x / kGroup;
    const bool live = row < rows;
    const int64_t r = live ? row : 0;
    const T* xr = x + r * cols;
    const T* dr = dout + r * cols;
    const float mu = mean[r], rs = rstd[r];
    float sg = 0.0f, sgx = 0.0f;
    if (live) {
      for (int64_t j = t; j < cols; j += kGroup) {
        const float g = to_f32(dr[j]) * (w ? to_f32(w[j]) : 1.0f);
        sg += g;
        sgx += g * (to_f32(xr[j]) - mu) * rs;
      }
    }
    const float inv = 1.0f / static_cast<float>(cols);
    const float mg = group_reduce<kGroup>(sg, SumOp(), smem) * inv;
    const float mgx = group_reduce<kGroup>(sgx, SumOp(), smem) * inv;
    if (live) {
      T* o = dx + row * cols;
      for (int64_t j = t; j < cols; j += kGroup) {
        const float g = to_f32(dr[j]) * (w ? to_f32(w[j]) : 1.0f);
        const float xhat = (to_f32(xr[j]) - mu) * rs;
        o[j] = from_f32<T>(rs * (g - mg - xhat * mgx));
      }
    }
  }
}

// ---- backward: dweight / dbias partials ------------------------------------------
constexpr int kColX = 32, kColY = 16;  // 32 columns x 16 row-lanes per block
constexpr int64_t kMaxSlabs = 256;     // P: partial rows in scratch
constexpr int64_t kMinRowsPerSlab = 32;

int64_t num_slabs(int64_t rows) {
  const int64_t p = ceil_div(rows, kMinRowsPerSlab);
  return p < 1 ? 1 : (p > kMaxSlabs ? kMaxSlabs : p);
}

template <typename T>
__global__ void __launch_bounds__(kColX * kColY) ln_backward_partials_kernel(
    float* __restrict__ part_w, float* __restrict__ part_b, const T* __restrict__ dout, const T* __restrict__ x,
    const float* __restrict__ mean, const float* __restrict__ rstd, int64_t rows, int64_t cols,
    int64_t rows_per_slab) {
  __shared__ float sw[kColY][kColX + 1], sb[kColY][kColX + 1];
  const int64_t slab = blockIdx.y;
  const int64_t col = int64_t(blockIdx.x) * kColX + threadIdx.x;
  const int64_t r_begin = slab * rows_per_slab;
  const int64_t r_end = min(rows, r_begin + rows_per_slab);
  float aw = 0.0f, ab = 0.0f;
  if (col < cols) {
    for (int64_t r = r_begin + threadIdx.y; r < r_end; r += kColY) {
      const float d = to_f32(dout[r * cols + col]);
      aw += d * (to_f32(x[r * cols + col]) - mean[r]) * rstd[r];
      ab += d;
    }
  }
  sw[threadIdx.y][threadIdx.x] = aw;
  sb[threadIdx.y][threadIdx.x] = ab;
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    float w = 0.0f, b = 0.0f;
#pragma unroll
    for (int k = 0; k < kColY; ++k) { w += sw[k][threadIdx.x]; b += sb[k][threadIdx.x]; }
    part_w[slab * cols + col] = w;
    part_b[slab * cols + col] = b;
  }
}

__global__ void ln_backward_fold_kernel(float* __restrict__ dw, float* __restrict__ db,
                                        const float* __restrict__ part_w, const float* __restrict__ part_b,
                                        int64_t slabs, int64_t cols) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < cols; c += stride) {
    float w = 0.0f, b = 0.0f;
    for (int64_t s = 0; s < slabs; ++s) { w += part_w[s * cols + c]; b += part_b[s * cols + c]; }
    dw[c] = w;
    db[c] = b;
  }
}

}  // namespace

cudaError_t layernorm_forward(const LayerNormArgs& a, cudaStream_t stream) {
  const int64_t rows = a.rows, cols = a.cols;
  float* mean = a.mean;
  float* rstd = a.rstd;
  const float eps = a.eps;
  if (rows <= 0) return cudaSuccess;
  if (cols <= 0) return cudaErrorInvalidValue;
  return dispatch_float_dtype(a.dt, [&](auto t) {
    using T = decltype(t);
    auto* o = static_cast<T*>(a.out);
    const auto* xi = static_cast<const T*>(a.x);
    const auto* r = static_cast<const T*>(a.residual);
    const auto* w = static_cast<const T*>(a.weight);
    const auto* b = static_cast<const T*>(a.bias);
    auto launch = [&](auto residual_tag) {
      constexpr bool kRes = decltype(residual_tag)::value;
      if (cols <= kWarpRowMaxCols) {
        ln_forward_kernel<T, 32, kRes><<<grid_stride_blocks(rows, kThreads / 32), kThreads, 0, stream>>>(
            o, mean, rstd, xi, r, w, b, rows, cols, eps);
      } else {
        ln_forward_kernel<T, kThreads, kRes><<<grid_stride_blocks(rows, 1), kThreads, 0, stream>>>(
            o, mean, rstd, xi, r, w, b, rows, cols, eps);
      }
    };
    if (r) launch(std::true_type{});
    else launch(std::false_type{});
    return cudaGetLastError();
  });
}

int64_t layernorm_backward_scratch_floats(const LayerNormGradArgs& a) {
  return 2 * num_slabs(a.rows) * (a.cols > 0 ? a.cols : 0);
}

cudaError_t layernorm_backward(const LayerNormGradArgs& a, float* scratch, cudaStream_t stream) {
  const int64_t rows = a.rows, cols = a.cols;
  float* dweight = a.dweight;
  float* dbias = a.dbias;
  const float* mean = a.mean;
  const float* rstd = a.rstd;
  if (cols <= 0) return cols == 0 ? cudaSuccess : cudaErrorInvalidValue;
  if (rows < 0) return cudaErrorInvalidValue;
  if (rows == 0) {  // no rows: the parameter gradients are zero
    cudaError_t e = cudaMemsetAsync(dweight, 0, cols * sizeof(float), stream);
    return e != cudaSuccess ? e : cudaMemsetAsync(dbias, 0, cols * sizeof(float), stream);
  }
  if (scratch == nullptr) return cudaErrorInvalidValue;
  return dispatch_float_dtype(a.dt, [&](auto t) {
    using T = decltype(t);
    auto* o = static_cast<T*>(a.dx);
    const auto* d = static_cast<const T*>(a.dout);
    const auto* xi = static_cast<const T*>(a.x);
    const auto* w = static_cast<const T*>(a.weight);
    if (cols <= kWarpRowMaxCols) {
      ln_backward_dx_kernel<T, 32><<<grid_stride_blocks(rows, kThreads / 32), kThreads, 0, stream>>>(
          o, d, xi, w, mean, rstd, rows, cols);
    } else {
      ln_backward_dx_kernel<T, kThreads><<<grid_stride_blocks(rows, 1), kThreads, 0, stream>>>(o, d, xi, w, mean,
                                                                                            rstd, rows, cols);
    }
    const int64_t slabs = num_slabs(rows);
    const int64_t rows_per_slab = ceil_div(rows, slabs);
    float* part_w = scratch;
    float* part_b = scratch + slabs * cols;
    const dim3 grid(static_cast<unsigned>(ceil_div(cols, kColX)), static_cast<unsigned>(slabs));
    ln_backward_partials_kernel<T><<<grid, dim3(kColX, kColY), 0, stream>>>(part_w, part_b, d, xi, mean, rstd, rows,
                                                                            cols, rows_per_slab);
    ln_backward_fold_kernel<<<grid_stride_blocks(cols, 256), 256, 0, stream>>>(dweight, dbias, part_w, part_b, slabs,
                                                                              cols);
    return cudaGetLastError();
  });
}

}  // namespace germ::kernels
