// Elementwise maps: unary (math ops and every dtype cast) and binary with
// broadcasting. Memory-bound, so the whole game is bytes in flight:
//   * contiguous operands (ndim 1, stride 1, 16-byte aligned) take a vectorised
//     path: each thread moves one 16-byte packet of input per step;
//   * anything else decomposes the output's linear index over the shape and
//     reads each operand at sum(idx_d * stride_d) (broadcast dims have stride 0).
// All indexing is int64 (n may exceed 2^31); loops are grid-stride so the grid
// stays a few waves no matter how large n is.
// GEGLU lives here too: a row map over the same f32 GELU and packets.
//
// The op code is a runtime switch inside the kernel rather than a template
// parameter: the branch is warp-uniform and costs a few instructions per element
// of a memory-bound loop, while templating 18 ops x 9 dtype pairs would multiply
// the fat binary's compile time for no measurable gain.
#include "elementwise.h"
#include "../common/gelu.cuh"
#include "../common/dtype_io.cuh"
#include "../common/launch_utils.cuh"

namespace germ::kernels {
namespace {

constexpr int kThreads = 256;

// ---- the maps, all in f32 -----------------------------------------------------

__device__ __forceinline__ float apply_unary(UnaryOp op, float x, float alpha, float beta) {
  switch (op) {
    case UnaryOp::Identity: return x;
    case UnaryOp::Affine: return alpha * x + beta;
    case UnaryOp::Neg: return -x;
    case UnaryOp::Abs: return fabsf(x);
    case UnaryOp::Exp: return expf(x);
    case UnaryOp::Log: return logf(x);
    case UnaryOp::Sqrt: return sqrtf(x);
    case UnaryOp::Rsqrt: return 1.0f / sqrtf(x);  // IEEE sqrt + div: matches the CPU closer than rsqrtf
    case UnaryOp::Recip: return 1.0f / x;
    case UnaryOp::Square: return x * x;
    case UnaryOp::Tanh: return tanhf(x);
    case UnaryOp::Sigmoid: return 1.0f / (1.0f + expf(-x));
    case UnaryOp::Relu: return x < 0.0f ? 0.0f : x;  // keeps NaN, like torch.relu
    case UnaryOp::Silu: return x / (1.0f + expf(-x));
    case UnaryOp::Gelu: return gelu_erf(x);  // cuda/common/gelu.cuh
    case UnaryOp::GeluTanh: {
      // 0.5 (1 + tanh(u)) = sigmoid(2u): same value, no cancellation for x << 0.
      const float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);  // sqrt(2/pi) (x + 0.044715 x^3)
      return x / (1.0f + expf(-2.0f * u));
    }
    case UnaryOp::PowScalar: return powf(x, alpha);
    case UnaryOp::ClampScalar: return x != x ? x : fminf(fmaxf(x, alpha), beta);
  }
  return x;
}

__device__ __forceinline__ float apply_binary(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Maximum: return max_nan(a, b);
    case BinaryOp::Minimum: return min_nan(a, b);
    case BinaryOp::Pow: return powf(a, b);
  }
  return a;
}

// Offset of operand `which` for output linear index i. The innermost dim varies
// fastest, so peel dims from the back.
__device__ __forceinline__ int64_t strided_offset(const StridedIndex& idx, int which, int64_t i) {
  int64_t off = 0;
  for (int d = idx.ndim - 1; d >= 0; --d) {
    const int64_t s = idx.shape[d];
    const int64_t q = i / s;
    off += (i - q * s) * idx.stride[which][d];
    i = q;
  }
  return off;
}

// A packet of N elements moved as one (N * sizeof(T))-byte access.
template <typename T, int N>
struct alignas(sizeof(T) * N) Packet { T v[N]; };

// ---- unary ---------------------------------------------------------------------

// Vectorised: N = 16 / sizeof(TIn) elements per packet (a 16-byte load); the
// store is N * sizeof(TOut) bytes (4..64), which the compiler splits as needed.
template <typename TIn, typename TOut, bool kCast>
__global__ void unary_vec_kernel(UnaryOp op, const TIn* __restrict__ x, TOut* __restrict__ y,
                                 int64_t n, float alpha, float beta) {
  constexpr int N = 16 / sizeof(TIn);
  const int64_t packets = n / N;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < packets; p += stride) {
    const Packet<TIn, N> in = reinterpret_cast<const Packet<TIn, N>*>(x)[p];
    Packet<TOut, N> out;
#pragma unroll
    for (int j = 0; j < N; ++j) {
      if constexpr (kCast) out.v[j] = cast_elem<TOut>(in.v[j]);
      else out.v[j] = from_f32<TOut>(apply_unary(op, to_f32(in.v[j]), alpha, beta));
    }
    reinterpret_cast<Packet<TOut, N>*>(y)[p] = out;
  }
  // Tail (< N elements): the first threads of block 0 take it.
  const int64_t i = packets * N + int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (blockIdx.x == 0 && i < n) {
    if constexpr (kCast) y[i] = cast_elem<TOut>(x[i]);
    else y[i] = from_f32<TOut>(apply_unary(op, to_f32(x[i]), alpha, beta));
  }
}

template <typename TIn, typename TOut, bool kCast>
__global__ void unary_strided_kernel(UnaryOp op, const TIn* __restrict__ x, TOut* __restrict__ y,
                                     StridedIndex idx, int64_t n, float alpha, float beta) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const TIn v = x[strided_offset(idx, 0, i)];
    if constexpr (kCast) y[i] = cast_elem<TOut>(v);
    else y[i] = from_f32<TOut>(apply_unary(op, to_f32(v), alpha, beta));
  }
}

bool is_contiguous_1d(const StridedIndex& idx, int operands) {
  if (idx.ndim != 1) return false;
  for (int o = 0; o < operands; ++o)
    if (idx.stride[o][0] != 1) return false;
  return true;
}

template <typename TIn, typename TOut, bool kCast>
cudaError_t launch_unary(UnaryOp op, const void* x, void* y, const StridedIndex& idx, int64_t n,
                         float alpha, float beta, cudaStream_t stream) {
  constexpr int N = 16 / sizeof(TIn);
  const auto* xi = static_cast<const TIn*>(x);
  auto* yo = static_cast<TOut*>(y);
  if (is_contiguous_1d(idx, 1) && aligned_to(x, 16) && aligned_to(y, sizeof(TOut) * N)) {
    const unsigned grid = grid_stride_blocks(n / N > 0 ? n / N : 1, kThreads);
    unary_vec_kernel<TIn, TOut, kCast><<<grid, kThreads, 0, stream>>>(op, xi, yo, n, alpha, beta);
  } else {
    const unsigned grid = grid_stride_blocks(n, kThreads);
    unary_strided_kernel<TIn, TOut, kCast><<<grid, kThreads, 0, stream>>>(op, xi, yo, idx, n, alpha, beta);
  }
  return cudaGetLastError();
}

// ---- binary --------------------------------------------------------------------

template <typename T>
__global__ void binary_vec_kernel(BinaryOp op, const T* __restrict__ a, const T* __restrict__ b,
                                  T* __restrict__ y, int64_t n) {
  constexpr int N = 16 / sizeof(T);
  const int64_t packets = n / N;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < packets; p += stride) {
    const Packet<T, N> va = reinterpret_cast<const Packet<T, N>*>(a)[p];
    const Packet<T, N> vb = reinterpret_cast<const Packet<T, N>*>(b)[p];
    Packet<T, N> out;
#pragma unroll
    for (int j = 0; j < N; ++j) out.v[j] = from_f32<T>(apply_binary(op, to_f32(va.v[j]), to_f32(vb.v[j])));
    reinterpret_cast<Packet<T, N>*>(y)[p] = out;
  }
  const int64_t i = packets * N + int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (blockIdx.x == 0 && i < n) y[i] = from_f32<T>(apply_binary(op, to_f32(a[i]), to_f32(b[i])));
}

template <typename T>
__global__ void binary_strided_kernel(BinaryOp op, const T* __restrict__ a, const T* __restrict__ b,
                                      T* __restrict__ y, StridedIndex idx, int64_t n) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    // One decomposition serves both operands.
    int64_t rem = i, oa = 0, ob = 0;
    for (int d = idx.ndim - 1; d >= 0; --d) {
      const int64_t s = idx.shape[d];
      const int64_t q = rem / s;
      const int64_t c = rem - q * s;
      oa += c * idx.stride[0][d];
      ob += c * idx.stride[1][d];
      rem = q;
    }
    y[i] = from_f32<T>(apply_binary(op, to_f32(a[oa]), to_f32(b[ob])));
  }
}

// ---- geglu ---------------------------------------------------------------------
// A warp per row, lanes over packets of N elements (N = 1: the scalar path).
constexpr int kGegluWarps = kThreads / 32;

template <typename T, int N>
__device__ __forceinline__ Packet<T, N> load_packet(const T* p, int64_t i) {
  return reinterpret_cast<const Packet<T, N>*>(p)[i];
}

template <typename T, int N>
__global__ void __launch_bounds__(kThreads) geglu_kernel(T* __restrict__ out, const T* __restrict__ x, int64_t ldx,
                                                         const T* __restrict__ bias, int64_t rows, int64_t inner) {
  const int lane = threadIdx.x % 32;
  const int64_t packets = inner / N;
  const int64_t row_step = int64_t(gridDim.x) * kGegluWarps;
  for (int64_t r = int64_t(blockIdx.x) * kGegluWarps + threadIdx.x / 32; r < rows; r += row_step) {
    const T* gate = x + r * ldx;
    const T* up = gate + inner;
    T* o = out + r * inner;
    for (int64_t p = lane; p < packets; p += 32) {
      const Packet<T, N> g = load_packet<T, N>(gate, p), u = load_packet<T, N>(up, p);
      Packet<T, N> bg{}, bu{};
      if (bias) { bg = load_packet<T, N>(bias, p); bu = load_packet<T, N>(bias + inner, p); }
      Packet<T, N> y;
#pragma unroll
      for (int k = 0; k < N; ++k) {
        const float a = to_f32(g.v[k]) + (bias ? to_f32(bg.v[k]) : 0.0f);
        const float c = to_f32(u.v[k]) + (bias ? to_f32(bu.v[k]) : 0.0f);
        y.v[k] = from_f32<T>(apply_unary(UnaryOp::Gelu, a, 0.0f, 0.0f) * c);
      }
      reinterpret_cast<Packet<T, N>*>(o)[p] = y;
    }
  }
}

}  // namespace

cudaError_t geglu(const GegluArgs& a, cudaStream_t stream) {
  if (a.rows <= 0 || a.inner <= 0) return cudaSuccess;
  if (a.ldx < 2 * a.inner) return cudaErrorInvalidValue;
  return dispatch_float_dtype(a.dt, [&](auto t) {
    using T = decltype(t);
    constexpr int N = 16 / sizeof(T);
    auto* o = static_cast<T*>(a.out);
    const auto* xi = static_cast<const T*>(a.x);
    const auto* b = static_cast<const T*>(a.bias);
    const unsigned grid = grid_stride_blocks(a.rows, kGegluWarps);
    if (a.inner % N == 0 && a.ldx % N == 0 && aligned_to(a.x, 16) && aligned_to(a.out, 16) &&
        (!a.bias || aligned_to(a.bias, 16)))
      geglu_kernel<T, N><<<grid, kThreads, 0, stream>>>(o, xi, a.ldx, b, a.rows, a.inner);
    else
      geglu_kernel<T, 1><<<grid, kThreads, 0, stream>>>(o, xi, a.ldx, b, a.rows, a.inner);
    return cudaGetLastError();
  });
}

cudaError_t unary(const UnaryArgs& a, cudaStream_t stream) {
  if (a.n <= 0) return cudaSuccess;
  if (a.idx.ndim < 0 || a.idx.ndim > kMaxDims) return cudaErrorInvalidValue;
  if (a.op == UnaryOp::Identity) {
    // Casts between all 36 dtype pairs; same-dtype is a plain (strided) copy.
    return dispatch_dtype(a.in_dt, [&](auto tin) {
      return dispatch_dtype(a.out_dt, [&](auto tout) {
        return launch_unary<decltype(tin), decltype(tout), true>(a.op, a.x, a.y, a.idx, a.n, a.alpha, a.beta, stream);
      });
    });
  }
  return dispatch_float_dtype(a.in_dt, [&](auto tin) {
    return dispatch_float_dtype(a.out_dt, [&](auto tout) {
      return launch_unary<decltype(tin), decltype(tout), false>(a.op, a.x, a.y, a.idx, a.n, a.alpha, a.beta, stream);
    });
  });
}

cudaError_t binary(const BinaryArgs& args, cudaStream_t stream) {
  const int64_t n = args.n;
  if (n <= 0) return cudaSuccess;
  if (args.idx.ndim < 0 || args.idx.ndim > kMaxDims) return cudaErrorInvalidValue;
  return dispatch_float_dtype(args.dt, [&](auto t) {
    using T = decltype(t);
    const auto* pa = static_cast<const T*>(args.a);
    const auto* pb = static_cast<const T*>(args.b);
    auto* py = static_cast<T*>(args.y);
    if (is_contiguous_1d(args.idx, 2) && aligned_to(pa, 16) && aligned_to(pb, 16) && aligned_to(py, 16)) {
      constexpr int N = 16 / sizeof(T);
      binary_vec_kernel<T><<<grid_stride_blocks(n / N > 0 ? n / N : 1, kThreads), kThreads, 0, stream>>>(args.op, pa, pb,
                                                                                                      py, n);
    } else {
      binary_strided_kernel<T><<<grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(args.op, pa, pb, py, args.idx,
                                                                                        n);
    }
    return cudaGetLastError();
  });
}

}  // namespace germ::kernels
