// What the two weight-only 4-bit kernels share (w4.cu: the tiled tensor-core
// GEMM and its SIMT fallback; w4_gemv.cu: the few-token streaming kernel):
// the code tables, the dynamic map of double-quantized NF4, and the entry
// points of the few-token kernel that w4.cu's launcher dispatches to.
#pragma once
#include <cstdint>
#include <type_traits>
#include "qgemm_common.cuh"

namespace germ::kernels::qgemm_detail {

// Shared lookup tables: the 16 code values (int4 signed / unsigned, or NF4)
// and, for double-quantized NF4, the 8-bit dynamic map.
struct W4Tables {
  float lut[16];
  float dyn[256];
  __device__ void fill(const W4Args& a, const DynamicMap& map) {
    for (int c = threadIdx.x; c < 16; c += blockDim.x)
      lut[c] = a.codes == W4Codes::Nf4 ? nf4_value(c) : float(a.codes == W4Codes::Int4Sym ? (c ^ 8) - 8 : c);
    if (a.qabsmax)
      for (int c = threadIdx.x; c < 256; c += blockDim.x) dyn[c] = map.v[c];
    __syncthreads();
  }
  // dequantize()'s value: (lut[code] - zero) * scale (zero 0 for NF4 / symmetric).
  __device__ __forceinline__ float value(int nib, QParams p) const { return mul_rn(lut[nib] - p.zero, p.scale); }
};

// The 8-bit dynamic map, built once: building it sorts 256 values, too slow
// to repeat on every launch of a GEMM that may itself take microseconds.
inline const DynamicMap& dynamic_map() {
  static const DynamicMap map = make_dynamic_map();
  return map;
}

// Few tokens (w4_gemv.cu). w4_gemv_plan fills pl (gemv, tiles, splits) and
// returns true when the kernel takes the problem: m <= kW4GemvMaxM, an sm_80+
// image (`ptx`), 16-byte aligned x and codes, k and the group multiples of 32.
// w4_gemv writes y itself when pl.splits == 1, else f32 partials
// part[split][m][n] for the caller's ordered reduction.
constexpr int64_t kW4GemvMaxM = 16;
bool w4_gemv_plan(const W4Args& a, int ptx, int sm_count, Plan* pl);
cudaError_t w4_gemv(const W4Args& a, const Plan& pl, float* part, cudaStream_t stream);

}  // namespace germ::kernels::qgemm_detail
