// Hopper GEMM: C = alpha * A B^T + beta * C (+ bias), f16 / bf16 in, f32
// accumulation, A [m][k] and B [n][k] both K-contiguous (x @ W^T, nn.Linear).
//
// The pipeline (TMA producer warpgroup, two wgmma consumer warpgroups,
// persistent blocks, cooperative or ping-pong) is sm90a_gemm_loop.cuh's,
// shared with the int8 GEMM; this file is its f16 / bf16 epilogue (alpha, beta,
// bias, one rounding, written straight from the accumulator registers) and
// launcher. Why wgmma at all: on an H100 the mma.sync kernel
// (gemm_tensorcore.cuh) reaches 0.2-0.25x of cuBLAS.
#include "../common/gelu.cuh"
#include "gemm_common.cuh"
#include "gemm_sm90a.h"
#include "sm90a_gemm_loop.cuh"

namespace germ::kernels {
namespace gemm_detail {

template <class Tr, typename T>
__global__ void __launch_bounds__(Tr::kThreads, 1)
    gemm_wgmma_kernel(const __grid_constant__ CUtensorMap map_a, const __grid_constant__ CUtensorMap map_b,
                      const GemmParams p, bool pairs_aligned) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  const T* bias = static_cast<const T*>(p.bias);
  wgmma_gemm_body<Tr>(map_a, map_b, p.m, p.n, p.k, p.batch,
                      block_store(
                          [&](int64_t b, int64_t row, int64_t col0, const float (&acc)[Tr::kAccum]) {
                            store_output_block<T, 4>(p, static_cast<T*>(p.c) + b * p.stride_c, bias, pairs_aligned,
                                                     row, col0, acc);
                          },
                          [&](int64_t b, int64_t row0, int64_t col0) {
                            prefetch_c_rows<T, Tr::BN>(p, static_cast<const T*>(p.c) + b * p.stride_c, row0, col0);
                          }));
#endif
}

// GEGLU epilogue: out[row, col] = gelu(gate) * up from the f32 sums, one
// rounding into T (the unfused path also rounds the gate and up sums to T
// first; this one does not). out is [m, n / 2] with row stride ldc.
template <class Tr, typename T>
__global__ void __launch_bounds__(Tr::kThreads, 1)
    gemm_geglu_wgmma_kernel(const __grid_constant__ CUtensorMap map_a, const __grid_constant__ CUtensorMap map_b,
                            const GemmParams p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  T* out = static_cast<T*>(p.c);
  const int64_t width = p.n / 2;
  wgmma_gemm_body<Tr, true>(map_a, map_b, p.m, p.n, p.k, 1,
                            [&](int64_t, int64_t row, int64_t col, float g0, float g1, float u0, float u1) {
                              const T o0 = from_f32<T>(gelu_erf(g0) * u0), o1 = from_f32<T>(gelu_erf(g1) * u1);
                              T* dst = out + row * p.ldc + col;
                              if (col + 1 < width) store_pair(dst, true, o0, o1);  // aligned: ldc and col even (host check)
                              else dst[0] = o0;
                            });
#endif
}

}  // namespace gemm_detail

bool gemm_geglu_sm90a_accepts(const GemmArgs& a) {
  const int64_t lim = int64_t(1) << 31;
  return (a.dtype == KDType::F16 || a.dtype == KDType::BF16) && !a.trans_a && a.trans_b && a.batch == 1 &&
         a.k > 0 && a.n % (2 * kGegluBlock) == 0 && a.m < lim && a.n < lim && a.k < lim && a.bias == nullptr &&
         a.alpha == 1.0f && a.beta == 0.0f && a.ldc % 2 == 0 && reinterpret_cast<uintptr_t>(a.c) % 4 == 0 &&
         reinterpret_cast<uintptr_t>(a.a) % 16 == 0 && reinterpret_cast<uintptr_t>(a.b) % 16 == 0 &&
         a.lda % 8 == 0 && a.ldb % 8 == 0;
}

cudaError_t gemm_geglu_sm90a(const GemmArgs& a, int sm_count, cudaStream_t stream) {
  using namespace gemm_detail;
  if (!gemm_geglu_sm90a_accepts(a)) return cudaErrorInvalidValue;
  // 128-wide tiles (gate and up halves of a tile in one thread), chosen as the
  // plain GEMM chooses among its 128-wide kernels.
  const WgmmaKind kind = kind_128(ceil_div(a.k, 64));
  CUtensorMap map_a, map_b;
  if (!encode_operand(&map_a, a.dtype, a.a, a.m, a.k, a.lda, 1, 0, 128) ||
      !encode_operand(&map_b, a.dtype, a.b, a.n, a.k, a.ldb, 1, 0, 128))
    return cudaErrorInvalidValue;
  GemmParams p{};
  p.m = a.m; p.n = a.n; p.k = a.k; p.batch = 1;
  p.c = a.c; p.ldc = a.ldc;
  return dispatch_float_dtype(a.dtype, [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
    if constexpr (std::is_same<T, float>::value) {
      return cudaErrorInvalidValue;  // excluded above
    } else {
      return with_wgmma_traits<T>(kind, [&](auto tr) -> cudaError_t {
        using Tr = decltype(tr);
        if constexpr (Tr::BN != 128) {
          return cudaErrorInvalidValue;  // never chosen above
        } else {
          return launch_persistent<Tr>(gemm_geglu_wgmma_kernel<Tr, T>, a.m, a.n, 1, sm_count, stream, map_a, map_b, p);
        }
      });
    }
  });
}

cudaError_t gemm_sm90a(const GemmArgs& a, int sm_count, cudaStream_t stream, bool* launched) {
  using namespace gemm_detail;
  *launched = false;
  if ((a.dtype != KDType::F16 && a.dtype != KDType::BF16) || a.trans_a || !a.trans_b || a.k == 0) return cudaSuccess;
  // TMA coordinates are 32-bit.
  const int64_t lim = int64_t(1) << 31;
  if (a.m >= lim || a.n >= lim || a.k >= lim || a.batch >= lim) return cudaSuccess;

  const WgmmaKind kind = choose_wgmma_kind(a.m, a.n, a.batch, ceil_div(a.k, 64), sm_count);
  const int box_b = kind == WgmmaKind::Cooperative256 ? 256 : 128;
  CUtensorMap map_a, map_b;
  if (!encode_operand(&map_a, a.dtype, a.a, a.m, a.k, a.lda, a.batch, a.stride_a, 128) ||
      !encode_operand(&map_b, a.dtype, a.b, a.n, a.k, a.ldb, a.batch, a.stride_b, box_b))
    return cudaSuccess;
  *launched = true;
  GemmParams p{};
  p.m = a.m; p.n = a.n; p.k = a.k; p.batch = a.batch;
  p.c = a.c; p.ldc = a.ldc; p.stride_c = a.stride_c;
  p.bias = a.bias; p.alpha = a.alpha; p.beta = a.beta;
  const bool pairs_aligned = reinterpret_cast<uintptr_t>(a.c) % 4 == 0 && a.ldc % 2 == 0 &&
                             (a.batch == 1 || a.stride_c % 2 == 0);
  return dispatch_float_dtype(a.dtype, [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
    if constexpr (std::is_same<T, float>::value) {
      return cudaErrorInvalidValue;  // excluded above
    } else {
      return with_wgmma_traits<T>(kind, [&](auto tr) {
        using Tr = decltype(tr);
        return launch_persistent<Tr>(gemm_wgmma_kernel<Tr, T>, a.m, a.n, a.batch, sm_count, stream, map_a, map_b, p,
                                     pairs_aligned);
      });
    }
  });
}

}  // namespace germ::kernels
