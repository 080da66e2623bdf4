// Per-token activation quantization for the integer GEMMs (contract: TokenQuantArgs in
// qgemm_args.h): one warp per row finds min and max of x / smooth, derives
// the row's scale with quant_math.h's quant_params, and writes the codes in a
// second pass over the (cached) row. The SmoothQuant division is one f32
// division per element inside this pass, so smoothing costs no extra kernel
// or copy of x, and the codes equal the CPU backend's bit for bit.
#include <cstdint>
#include "../common/dtype_io.cuh"
#include "../common/launch_utils.cuh"
#include "../quant/warp_minmax.cuh"
#include "qgemm.h"
#include "qgemm_math.h"

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

}  // namespace

cudaError_t quantize_tokens(const TokenQuantArgs& a, cudaStream_t stream) {
  if (a.rows <= 0 || a.cols <= 0) return cudaSuccess;
  return dispatch_float_dtype(a.x_dtype, [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
    token_quant_kernel<T><<<grid_stride_blocks(a.rows, kWarps), 32 * kWarps, 0, stream>>>(a);
    return cudaGetLastError();
  });
}

}  // namespace germ::kernels
