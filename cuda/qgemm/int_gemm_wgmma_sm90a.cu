// Hopper W8A8 / W6A6: acc = xq wq^T on int8 wgmma (m64nNk32 s8.s8 -> exact
// s32), then y = epilogue((sx[i] * sw[j]) * acc) or the raw int32 sums, the
// same per-element arithmetic as int_gemm.cu and the CPU backend
// (qgemm_common.cuh's int_output), so results match them bit for bit.
//
// Why: on an H100 the mma.sync int8 kernel (int_gemm.cu) runs at ~0.6x of
// cuBLAS f16, for the reason the f16 mma.sync kernel is slow there (one warp's
// register-fed MMAs at a time). The pipeline is the f16 Hopper GEMM's
// (../gemm/sm90a_gemm_loop.cuh): xq [m][k] and wq [n][k] are both
// K-contiguous, which is the only layout integer wgmma reads (K-major), and a
// 128-byte k-tile row is 128 int8 = 4 wgmma k32 steps, as it is 64 f16 = 4
// k16 steps there. TMA zero-fills K past its end, so K need only be a
// multiple of 16 (the copy engine's 16-byte row stride), not of 128.
#include <cstdint>
#include "../gemm/sm90a_gemm_loop.cuh"
#include "int_gemm_sm90a.h"
#include "qgemm_common.cuh"

namespace germ::kernels {
namespace {

using namespace gemm_detail;
using qgemm_detail::int_output;

// Outputs (row, col) and (row, col + 1), col even, row and col in range: one
// 2-element store when y's rows keep pairs aligned (n even, y aligned to a
// pair), else one by one.
template <typename Out>
__device__ __forceinline__ void int_store_pair(const IntGemmArgs& p, bool pairs_aligned, int64_t row, int64_t col,
                                               int32_t v0, int32_t v1) {
  Out* dst = static_cast<Out*>(p.ep.y) + row * p.n + col;
  const Out o0 = int_output<Out>(p, row, col, v0);
  if (col + 1 >= p.n) { dst[0] = o0; return; }
  const Out o1 = int_output<Out>(p, row, col + 1, v1);
  if (pairs_aligned) {
    struct alignas(2 * sizeof(Out)) Pair { Out v[2]; };
    *reinterpret_cast<Pair*>(dst) = Pair{{o0, o1}};
  } else {
    dst[0] = o0;
    dst[1] = o1;
  }
}

template <class Tr, typename Out>
__global__ void __launch_bounds__(Tr::kThreads, 1)
    int_gemm_wgmma_kernel(const __grid_constant__ CUtensorMap map_x, const __grid_constant__ CUtensorMap map_w,
                          const IntGemmArgs p, bool pairs_aligned) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  wgmma_gemm_body<Tr>(map_x, map_w, p.m, p.n, p.k, 1, [&](int64_t, int64_t row, int64_t col, int32_t v0, int32_t v1) {
    int_store_pair<Out>(p, pairs_aligned, row, col, v0, v1);
  });
#endif
}

// A [rows, k] int8 operand, read in 128-byte x box_rows boxes. The copy
// engine has no signed 8-bit type; it moves bytes, so UINT8 carries the codes
// unchanged (and its out-of-range fill, 0, is the int8 zero too).
bool encode_codes(CUtensorMap* map, const int8_t* codes, int64_t rows, int64_t k, int box_rows) {
  return encode_kmajor_operand(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, codes, rows, k, k, 1, 0, box_rows);
}

}  // namespace

cudaError_t qgemm_int_sm90a(const IntGemmArgs& a, int sm_count, cudaStream_t stream, bool* launched) {
  *launched = false;
  if (a.bits != 8 || a.m <= 0 || a.n <= 0 || a.k <= 0 || a.k % 16 != 0) return cudaSuccess;
  const int64_t lim = int64_t(1) << 31;  // TMA coordinates are 32-bit
  if (a.m >= lim || a.n >= lim || a.k >= lim) return cudaSuccess;

  const WgmmaKind kind = choose_wgmma_kind(a.m, a.n, 1, ceil_div(a.k, 128), sm_count);
  CUtensorMap map_x, map_w;
  if (!encode_codes(&map_x, a.xq, a.m, a.k, 128) ||
      !encode_codes(&map_w, a.wq, a.n, a.k, kind == WgmmaKind::Cooperative256 ? 256 : 128))
    return cudaSuccess;
  *launched = true;
  return qgemm_detail::dispatch_out(a.ep.out_dtype, true, [&](auto tag) -> cudaError_t {
    using Out = decltype(tag);
    const bool pairs_aligned = a.n % 2 == 0 && aligned_to(a.ep.y, 2 * sizeof(Out));
    return with_wgmma_traits<int8_t>(kind, [&](auto tr) {
      using Tr = decltype(tr);
      return launch_persistent<Tr>(int_gemm_wgmma_kernel<Tr, Out>, a.m, a.n, 1, sm_count, stream, map_x, map_w, a,
                                   pairs_aligned);
    });
  });
}

}  // namespace germ::kernels
