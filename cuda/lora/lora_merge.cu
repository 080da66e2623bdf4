// LoRA merge W += scale * B A (contract: lora_args.h), one pass over W.
//
// A block owns a tile of W: kCols columns x Tile::kRows rows. Each thread owns
// kRowsPerThread consecutive rows x one 16-byte vector of columns, so every
// element of W is read and written once, with 16-byte accesses where the row
// is aligned and whole (scalar at ragged edges and odd row strides). W's
// elements are loaded first, so their latency overlaps the product's
// arithmetic. The rank is walked in chunks of kKChunk: A's rows for the
// block's columns and B's rows for its rows go to shared memory as f32, and
// each thread accumulates its kRowsPerThread x kVec sums with f32 FMAs over
// k = 0 .. r-1 in order. Then, per element, GEMM's epilogue with beta = 1
// (gemm_common.cuh's store_output): v = scale * acc, v += W, one rounding.
//
// The arithmetic is r FMAs per element of W: at r = 8 the 2 x 2 bytes per
// f16 element of HBM traffic dominate; around r = 32 an H100's CUDA cores
// and its bandwidth balance, beyond that the tensor-core GEMM would be faster.
#include <cstdint>
#include "../common/dtype_io.cuh"
#include "../common/launch_utils.cuh"
#include "lora.h"

namespace germ::kernels {
namespace {

constexpr int kThreads = 256, kRowsPerThread = 4, kCols = 128, kKChunk = 32;

template <typename T>
struct Tile {
  static constexpr int kVec = 16 / int(sizeof(T));              // elements per 16-byte access
  static constexpr int kColThreads = kCols / kVec;               // f32: 32, f16 / bf16: 16
  static constexpr int kRows = kThreads / kColThreads * kRowsPerThread;  // f32: 32, f16 / bf16: 64
};

// kVec elements of W's row at (row, col): one 16-byte access when whole and
// aligned, else element by element up to `in`.
template <typename T>
struct WVec {
  static constexpr int kVec = Tile<T>::kVec;
  uint4 raw;
  __device__ __forceinline__ T& operator[](int e) { return reinterpret_cast<T*>(&raw)[e]; }
  __device__ __forceinline__ static bool whole(const T* ptr, int64_t col, int64_t in) {
    return col + kVec <= in && (reinterpret_cast<uintptr_t>(ptr) & 15) == 0;
  }
  __device__ __forceinline__ void load(const T* ptr, int64_t col, int64_t in) {
    raw = make_uint4(0, 0, 0, 0);
    if (whole(ptr, col, in)) { raw = *reinterpret_cast<const uint4*>(ptr); return; }
#pragma unroll
    for (int e = 0; e < kVec; ++e)
      if (col + e < in) (*this)[e] = ptr[e];
  }
  __device__ __forceinline__ void store(T* ptr, int64_t col, int64_t in) {
    if (whole(ptr, col, in)) { *reinterpret_cast<uint4*>(ptr) = raw; return; }
#pragma unroll
    for (int e = 0; e < kVec; ++e)
      if (col + e < in) ptr[e] = (*this)[e];
  }
};

template <typename T>
__global__ void __launch_bounds__(kThreads) lora_merge_kernel(LoraMergeArgs p) {
  using Tl = Tile<T>;
  constexpr int V = Tl::kVec;
  __shared__ __align__(16) float sa[kKChunk][kCols];      // A[k0 + kk, c0 + c]
  __shared__ __align__(16) float sb[kKChunk][Tl::kRows];  // B[r0 + i, k0 + kk], k-major
  const int tid = threadIdx.x, cg = tid % Tl::kColThreads, rg = tid / Tl::kColThreads;
  const int64_t c0 = int64_t(blockIdx.x) * kCols, r0 = int64_t(blockIdx.y) * Tl::kRows;
  const int64_t col = c0 + cg * V, row0 = r0 + rg * kRowsPerThread;
  T* w = static_cast<T*>(p.w);
  const T* A = static_cast<const T*>(p.a);
  const T* B = static_cast<const T*>(p.b);

  WVec<T> old[kRowsPerThread];
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i)
    if (row0 + i < p.out) old[i].load(w + (row0 + i) * p.ldw + col, col, p.in);

  float acc[kRowsPerThread][V];
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
    for (int j = 0; j < V; ++j) acc[i][j] = 0.f;

  for (int64_t k0 = 0; k0 < p.r; k0 += kKChunk) {
    const int kn = static_cast<int>(min(int64_t(kKChunk), p.r - k0));
    __syncthreads();  // the previous chunk's readers are done
    for (int e = tid; e < kKChunk * kCols; e += kThreads) {
      const int kk = e / kCols, c = e % kCols;
      sa[kk][c] = kk < kn && c0 + c < p.in ? to_f32(A[(k0 + kk) * p.in + c0 + c]) : 0.f;
    }
    for (int e = tid; e < kKChunk * Tl::kRows; e += kThreads) {
      const int i = e / kKChunk, kk = e % kKChunk;  // consecutive threads: consecutive k of one row of B
      sb[kk][i] = kk < kn && r0 + i < p.out ? to_f32(B[(r0 + i) * p.r + k0 + kk]) : 0.f;
    }
    __syncthreads();
    for (int kk = 0; kk < kn; ++kk) {
      const float4 b = *reinterpret_cast<const float4*>(&sb[kk][rg * kRowsPerThread]);
      const float bi[kRowsPerThread] = {b.x, b.y, b.z, b.w};
      float a[V];
#pragma unroll
      for (int j = 0; j < V; j += 4) {
        const float4 a4 = *reinterpret_cast<const float4*>(&sa[kk][cg * V + j]);
        a[j] = a4.x; a[j + 1] = a4.y; a[j + 2] = a4.z; a[j + 3] = a4.w;
      }
#pragma unroll
      for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
        for (int j = 0; j < V; ++j) acc[i][j] = fmaf(bi[i], a[j], acc[i][j]);
    }
  }

#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i) {
    if (row0 + i >= p.out) continue;
#pragma unroll
    for (int j = 0; j < V; ++j)
      old[i][j] = from_f32<T>(__fadd_rn(__fmul_rn(p.scale, acc[i][j]), to_f32(old[i][j])));
    old[i].store(w + (row0 + i) * p.ldw + col, col, p.in);
  }
}

}  // namespace

cudaError_t lora_merge(const LoraMergeArgs& a, cudaStream_t stream) {
  if (a.out < 0 || a.in < 0 || a.r < 1 || a.r > kLoraMaxRank || a.ldw < a.in) return cudaErrorInvalidValue;
  if (a.out == 0 || a.in == 0) return cudaSuccess;
  return dispatch_float_dtype(a.dtype, [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
    const int64_t rows = ceil_div(a.out, Tile<T>::kRows);
    if (rows > 65535) return cudaErrorInvalidValue;
    const dim3 grid(static_cast<unsigned>(ceil_div(a.in, kCols)), static_cast<unsigned>(rows));
    lora_merge_kernel<T><<<grid, kThreads, 0, stream>>>(a);
    return cudaGetLastError();
  });
}

}  // namespace germ::kernels
