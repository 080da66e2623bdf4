// What the quantized GEMM kernels share: the epilogue (bias, exact GELU, one
// rounding into the output), the split-K plan and its ordered reduction, the
// output-dtype dispatch, and which PTX a loaded kernel was built from.
#pragma once
#include <cstdint>
#include "../common/gelu.cuh"
#include <type_traits>
#include "../common/dtype_io.cuh"
#include "../common/launch_utils.cuh"
#include "../../contract/qgemm_math.h"

namespace germ::kernels::qgemm_detail {

// cast(gelu?(v + bias)) with the bias already loaded (has_bias false: no
// addition at all, so -0 stays -0 as on the CPU). A constant `gelu` folds away.
template <typename Out>
__device__ __forceinline__ Out finish_value(float v, bool has_bias, float bias, bool gelu) {
  if (has_bias) v = add_rn(v, bias);
  if (gelu) v = gelu_erf(v);
  return from_f32<Out>(v);
}

// cast(gelu?(v + bias[col])): the value of output column col.
template <typename Out>
__device__ __forceinline__ Out epilogue_value(const QEpilogue& ep, int64_t col, float v) {
  return finish_value<Out>(v, ep.bias != nullptr, ep.bias ? ep.bias[col] : 0.f, ep.gelu);
}

// y[row, col] = cast(gelu?(v + bias[col])).
template <typename Out>
__device__ __forceinline__ void store_epilogue(const QEpilogue& ep, int64_t n, int64_t row, int64_t col, float v) {
  static_cast<Out*>(ep.y)[row * n + col] = epilogue_value<Out>(ep, col, v);
}

// Output (row, col) of the integer GEMM from its exact int32 sum: the sum
// itself for i32, else the per-token x per-channel rescale and the epilogue.
template <typename Out>
__device__ __forceinline__ Out int_output(const IntGemmArgs& p, int64_t row, int64_t col, int32_t acc) {
  if constexpr (std::is_same<Out, int32_t>::value) {
    return acc;
  } else {
    return epilogue_value<Out>(p.ep, col, int_rescale(acc, p.sx[row], p.sw[col * p.sw_stride]));
  }
}

template <typename Out>
__device__ __forceinline__ void int_store(const IntGemmArgs& p, int64_t row, int64_t col, int32_t acc) {
  static_cast<Out*>(p.ep.y)[row * p.n + col] = int_output<Out>(p, row, col, acc);
}

// Output dtype -> C++ type: f32 / f16 / bf16, and i32 (raw integer-GEMM sums) where allowed.
template <class F>
cudaError_t dispatch_out(KDType dt, bool allow_i32, F&& f) {
  if (dt == KDType::I32) return allow_i32 ? f(int32_t{}) : cudaErrorInvalidValue;
  return dispatch_float_dtype(dt, f);
}

// Split-K: how many slices of K the blocks of `tiles` output tiles share.
// Enough blocks for two waves of the GPU, each slice at least kMinKTiles
// k-tiles long (shorter ones would spend their time filling the pipeline).
inline int split_k(int64_t tiles, int64_t ktiles, int sm_count) {
  constexpr int64_t kMinKTiles = 2, kMaxSplits = 16;
  int64_t s = ceil_div(2 * int64_t(sm_count), tiles);
  s = s < kMaxSplits ? s : kMaxSplits;
  const int64_t by_k = ktiles / kMinKTiles;
  s = s < by_k ? s : by_k;
  return static_cast<int>(s < 1 ? 1 : s);
}

// K-tiles [*kt0, *kt1) of split `z` out of `splits`.
__device__ __forceinline__ void split_range(int64_t ktiles, int splits, int z, int64_t* kt0, int64_t* kt1) {
  const int64_t per = ceil_div(ktiles, splits);
  *kt0 = min(ktiles, z * per);
  *kt1 = min(ktiles, *kt0 + per);
}

// The PTX version (75, 80, 90 ...) the loaded image of `kernel` was compiled
// from, on the current device: a compute_75-only build running on an H100
// reports 75, so the host asks for the shared memory the kernel's own pipeline
// needs. Every kernel of one binary is built for the same architecture list,
// so the device's one code arch (device_info.cuh) answers for all of them.
template <class Kernel>
cudaError_t ptx_version(Kernel, int* out) {
  DeviceInfo d;
  const cudaError_t e = device_info(&d);
  if (e != cudaSuccess) return e;
  *out = d.code_arch;
  return d.code_arch > 0 ? cudaSuccess : cudaErrorInvalidDeviceFunction;
}

// The dynamic shared memory of a tensor-core kernel: its cp.async ring's
// (`async_bytes`) when its image is sm_80+ code, else the sm_75 register-
// staged double buffer's (`regs_bytes`); above the 48 KB default it opts in.
template <class Kernel>
cudaError_t kernel_smem(Kernel kernel, int async_bytes, int regs_bytes, int* smem) {
  int ptx = 0;
  cudaError_t e = ptx_version(kernel, &ptx);
  if (e != cudaSuccess) return e;
  *smem = ptx >= 80 ? async_bytes : regs_bytes;
  if (*smem <= 48 * 1024) return cudaSuccess;
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, *smem);
}

// How a launcher runs one GEMM: the tensor-core kernel or the SIMT fallback
// (or, weight-only with few tokens, the streaming kernel: gemv), which tile
// config, and the K split (with its workspace of partial sums).
struct Plan {
  bool tc = false, large = false, gemv = false;
  int splits = 1;
  int64_t tiles = 0;
  size_t workspace_bytes(int64_t m, int64_t n, size_t elem) const {
    return splits > 1 ? size_t(splits) * size_t(m) * size_t(n) * elem : 0;
  }
};

// A tensor-core kernel of traits Tr over pl's tiles x K splits, with the
// shared memory of the image the device loaded (kernel_smem).
template <class Tr, class Kernel, class... Args>
cudaError_t launch_planned(Kernel kernel, int async_bytes, int regs_bytes, const Plan& pl,
                           cudaStream_t stream, const Args&... args) {
  int smem = 0;
  const cudaError_t e = kernel_smem(kernel, async_bytes, regs_bytes, &smem);
  if (e != cudaSuccess) return e;
  kernel<<<dim3(static_cast<unsigned>(pl.tiles), pl.splits), Tr::kThreads, smem, stream>>>(args...);
  return cudaGetLastError();
}

}  // namespace germ::kernels::qgemm_detail
