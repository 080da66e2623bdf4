// Per-token activation quantization for the integer GEMMs (contract: TokenQuantArgs in
// qgemm_args.h): one warp per row finds min and max of x / smooth, derives
// the row's scale with quant_math.h's quant_params, and writes the codes in a
// second pass over the (cached) row; rows of a multiple of 8 elements, aligned,
// take the 16-byte-load kernel. The SmoothQuant division is one f32
// division per element inside this pass, so smoothing costs no extra kernel
// or copy of x, and the codes equal the CPU backend's bit for bit.
#include <cstdint>
#include "../common/dtype_io.cuh"
#include "../common/launch_utils.cuh"
#include "../quant/warp_minmax.cuh"
#include "qgemm.h"
#include "../../contract/qgemm_math.h"

namespace germ::kernels {
namespace {

constexpr int kWarps = 8;

template <typename T>
__device__ __forceinline__ float smoothed(const T* x, const float* smooth, int64_t c) {
  const float v = to_f32(x[c]);
  return smooth ? __fdiv_rn(v, smooth[c]) : v;
}

template <typename T>
__global__ void __launch_bounds__(32 * kWarps) token_quant_kernel(TokenQuantArgs a) {
  const int lane = threadIdx.x % 32;
  const QRange range = quant_range(a.bits, true);
  const int64_t step = int64_t(gridDim.x) * kWarps;
  for (int64_t r = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32; r < a.rows; r += step) {
    const T* x = static_cast<const T*>(a.x) + r * a.cols;
    float mn = INFINITY, mx = -INFINITY;
    for (int64_t c = lane; c < a.cols; c += 32) {
      const float v = smoothed(x, a.smooth, c);
      mn = fminf(mn, v);
      mx = fmaxf(mx, v);
    }
    const QParams p = quant_params(warp_min_skip_nan(mn), warp_max_skip_nan(mx), 1.f, a.bits, true);
    if (lane == 0) a.scale[r] = p.scale;
    if (a.bits == 4) {  // two codes per byte, lanes over bytes
      uint8_t* q = static_cast<uint8_t*>(a.q) + r * ((a.cols + 1) / 2);
      for (int64_t j = lane; 2 * j < a.cols; j += 32)
        q[j] = pack_nibbles(quant_code(smoothed(x, a.smooth, 2 * j), p, range),
                            2 * j + 1 < a.cols ? quant_code(smoothed(x, a.smooth, 2 * j + 1), p, range) : 0);
    } else {
      int8_t* q = static_cast<int8_t*>(a.q) + r * a.cols;
      for (int64_t c = lane; c < a.cols; c += 32) q[c] = static_cast<int8_t>(quant_code(smoothed(x, a.smooth, c), p, range));
    }
  }
}

// The same quantization, 8 elements per 16-byte load, for rows whose length
// is a multiple of 8 with x (and smooth) 16-byte aligned: the element-wise
// kernel's 2-byte loads keep too few bytes in flight to stream x (0.5 TB/s at
// 4096 x 4096 on an H100). kBatch vectors per lane are loaded before any is
// used, and in the second pass before any code is stored (int8 stores may
// alias x, so the compiler would not hoist the loads itself).
constexpr int kBatch = 4;

template <typename T>
__device__ __forceinline__ void load_smoothed8(const T* x, const float* smooth, int64_t c, float (&v)[8]) {
  load8_f32(x + c, v);
  if (smooth == nullptr) return;
  float s[8];
  load8_f32(smooth + c, s);
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = __fdiv_rn(v[i], s[i]);
}

// Vectors i0, i0 + 32, ... i0 + 32 (kBatch - 1) of a row (those below nvec).
template <typename T>
__device__ __forceinline__ void load_batch(const T* x, const float* smooth, int64_t i0, int64_t nvec,
                                           float (&v)[kBatch][8]) {
#pragma unroll
  for (int b = 0; b < kBatch; ++b)
    if (i0 + 32 * b < nvec) load_smoothed8(x, smooth, 8 * (i0 + 32 * b), v[b]);
}

template <typename T>
__global__ void __launch_bounds__(32 * kWarps) token_quant_vec8_kernel(TokenQuantArgs a) {
  const int lane = threadIdx.x % 32;
  const QRange range = quant_range(a.bits, true);
  const int64_t step = int64_t(gridDim.x) * kWarps, nvec = a.cols / 8;
  for (int64_t r = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32; r < a.rows; r += step) {
    const T* x = static_cast<const T*>(a.x) + r * a.cols;
    float mn = INFINITY, mx = -INFINITY;
    for (int64_t i0 = lane; i0 < nvec; i0 += 32 * kBatch) {
      float v[kBatch][8];
      load_batch(x, a.smooth, i0, nvec, v);
#pragma unroll
      for (int b = 0; b < kBatch; ++b)
        if (i0 + 32 * b < nvec)
#pragma unroll
          for (int i = 0; i < 8; ++i) {
            mn = fminf(mn, v[b][i]);
            mx = fmaxf(mx, v[b][i]);
          }
    }
    const QParams p = quant_params(warp_min_skip_nan(mn), warp_max_skip_nan(mx), 1.f, a.bits, true);
    if (lane == 0) a.scale[r] = p.scale;
    for (int64_t i0 = lane; i0 < nvec; i0 += 32 * kBatch) {
      float v[kBatch][8];
      load_batch(x, a.smooth, i0, nvec, v);
#pragma unroll
      for (int b = 0; b < kBatch; ++b) {
        const int64_t i = i0 + 32 * b;
        if (i >= nvec) continue;
        int code[8];
#pragma unroll
        for (int e = 0; e < 8; ++e) code[e] = quant_code(v[b][e], p, range);
        if (a.bits == 4) {  // 8 codes -> 4 bytes, element 2j in the low nibble of byte j
          uint32_t packed = 0;
#pragma unroll
          for (int j = 0; j < 4; ++j) packed |= uint32_t(pack_nibbles(code[2 * j], code[2 * j + 1])) << (8 * j);
          reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(a.q) + r * (a.cols / 2))[i] = packed;
        } else {
          uint32_t lo = 0, hi = 0;
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            lo |= uint32_t(uint8_t(code[j])) << (8 * j);
            hi |= uint32_t(uint8_t(code[4 + j])) << (8 * j);
          }
          reinterpret_cast<uint2*>(static_cast<int8_t*>(a.q) + r * a.cols)[i] = make_uint2(lo, hi);
        }
      }
    }
  }
}

}  // namespace

cudaError_t quantize_tokens(const TokenQuantArgs& a, cudaStream_t stream) {
  if (a.rows <= 0 || a.cols <= 0) return cudaSuccess;
  const bool vec8 = a.cols % 8 == 0 && aligned_to(a.x, 16) && (a.smooth == nullptr || aligned_to(a.smooth, 16)) &&
                    aligned_to(a.q, 8);
  return dispatch_float_dtype(a.x_dtype, [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
    if (vec8)
      token_quant_vec8_kernel<T><<<grid_stride_blocks(a.rows, kWarps), 32 * kWarps, 0, stream>>>(a);
    else
      token_quant_kernel<T><<<grid_stride_blocks(a.rows, kWarps), 32 * kWarps, 0, stream>>>(a);
    return cudaGetLastError();
  });
}

}  // namespace germ::kernels
