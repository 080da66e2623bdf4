// Hopper fused LoRA forward: y = x W^T + bias + scale (x A^T) B^T in one
// persistent wgmma kernel that reads x once, and t = x A^T on the side for
// the backward pass (contract: kernels::LoraGemmArgs). The pipeline is
// sm90a_gemm_loop.cuh's with its LoRA operands (how t rides along the main
// loop and joins the sums there); the epilogue is the plain GEMM's.
//
// Why fused: the unfused forward (one GEMM over the stacked [W; A], then a
// rank-r GEMM adding scale t B^T into y with beta = 1) reads and writes y a
// second time, and its beta epilogue waits on every load of y: on an H100 it
// cost more than the base GEMM itself. Here LoRA adds an m64 n8..n32 wgmma per
// k-step and one k16..k32 step per tile.
#include "gemm_common.cuh"
#include "gemm_sm90a.h"
#include "sm90a_gemm_loop.cuh"

namespace germ::kernels {
namespace gemm_detail {
namespace {

template <class Tr, typename T>
__global__ void __launch_bounds__(Tr::kThreads, 1)
    gemm_lora_wgmma_kernel(const __grid_constant__ CUtensorMap map_a, const __grid_constant__ CUtensorMap map_b,
                           const __grid_constant__ CUtensorMap map_la, const __grid_constant__ CUtensorMap map_lb,
                           const GemmParams p, float scale, T* t, int64_t ldt, int64_t rank, bool pairs_aligned) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  const T* bias = static_cast<const T*>(p.bias);
  wgmma_gemm_loop<Tr>(
      map_a, map_b, LoraMaps{&map_la, &map_lb, scale}, p.m, p.n, p.k, 1,
      block_store([&](int64_t, int64_t row, int64_t col0, const float (&acc)[Tr::kAccum]) {
        store_output_block<T, 4>(p, static_cast<T*>(p.c), bias, pairs_aligned, row, col0, acc);
      }),
      [&](int64_t row, int64_t col, float v0, float v1) {
        // rank is a multiple of 8 and col even: the pair is whole; t and ldt keep it aligned (accepts()).
        if (col < rank) *reinterpret_cast<uint32_t*>(t + row * ldt + col) = pack2<T>(v0, v1);
      });
#endif
}

// The LoRA kernels take the cooperative 128 x 256 or the ping-pong 128 x 128
// tiles (the plain GEMM's heuristic, with its cooperative 128 x 128 choice
// run ping-pong: fewer kernels to build, and ping-pong is the faster of the
// two 128-wide ones on the shapes LoRA meets).
template <typename T, int R, class F>
cudaError_t with_lora_traits(WgmmaKind kind, F&& f) {
  if (kind == WgmmaKind::Cooperative256) return f(WgmmaTraits<T, 256, 4, false, R>{});
  return f(WgmmaTraits<T, 128, 6, true, R>{});
}

}  // namespace
}  // namespace gemm_detail

bool gemm_lora_sm90a_accepts(const LoraGemmArgs& l) {
  const GemmArgs& a = l.base;
  const int64_t lim = int64_t(1) << 31;  // TMA coordinates are 32-bit
  auto aligned16 = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  return (a.dtype == KDType::F16 || a.dtype == KDType::BF16) && !a.trans_a && a.trans_b && a.batch == 1 &&
         a.k > 0 && a.m < lim && a.n < lim && a.k < lim && a.alpha == 1.0f && a.beta == 0.0f &&
         l.rank >= 8 && l.rank <= kLoraFusedMaxRank && l.rank % 8 == 0 && aligned16(a.a) && aligned16(a.b) &&
         aligned16(l.lora_a) && aligned16(l.lora_b) && a.lda % 8 == 0 && a.ldb % 8 == 0 && l.ld_la % 8 == 0 &&
         l.ld_lb % 8 == 0 && l.ldt % 2 == 0 && reinterpret_cast<uintptr_t>(l.t) % 4 == 0;
}

cudaError_t gemm_lora_sm90a(const LoraGemmArgs& l, int sm_count, cudaStream_t stream) {
  using namespace gemm_detail;
  if (!gemm_lora_sm90a_accepts(l)) return cudaErrorInvalidValue;
  const GemmArgs& a = l.base;
  const WgmmaKind kind = choose_wgmma_kind(a.m, a.n, 1, ceil_div(a.k, 64), sm_count) == WgmmaKind::Cooperative256
                             ? WgmmaKind::Cooperative256
                             : WgmmaKind::PingPong128;
  const int box_b = kind == WgmmaKind::Cooperative256 ? 256 : 128;
  const int rows = l.rank <= 8 ? 8 : l.rank <= 16 ? 16 : 32;
  CUtensorMap map_a, map_b, map_la, map_lb;
  if (!encode_operand(&map_a, a.dtype, a.a, a.m, a.k, a.lda, 1, 0, 128) ||
      !encode_operand(&map_b, a.dtype, a.b, a.n, a.k, a.ldb, 1, 0, box_b) ||
      !encode_operand(&map_la, a.dtype, l.lora_a, l.rank, a.k, l.ld_la, 1, 0, rows) ||
      !encode_operand(&map_lb, a.dtype, l.lora_b, a.n, l.rank, l.ld_lb, 1, 0, box_b))
    return cudaErrorInvalidValue;
  GemmParams p{};
  p.m = a.m; p.n = a.n; p.k = a.k; p.batch = 1;
  p.c = a.c; p.ldc = a.ldc;
  p.bias = a.bias; p.alpha = 1.0f; p.beta = 0.0f;
  const bool pairs_aligned = reinterpret_cast<uintptr_t>(a.c) % 4 == 0 && a.ldc % 2 == 0;
  return dispatch_float_dtype(a.dtype, [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
    if constexpr (std::is_same<T, float>::value) {
      return cudaErrorInvalidValue;  // excluded by accepts()
    } else {
      auto launch = [&](auto tr) {
        using Tr = decltype(tr);
        return launch_persistent<Tr>(gemm_lora_wgmma_kernel<Tr, T>, a.m, a.n, 1, sm_count, stream, map_a, map_b,
                                     map_la, map_lb, p, l.scale, static_cast<T*>(l.t), l.ldt, l.rank,
                                     pairs_aligned);
      };
      if (rows == 8) return with_lora_traits<T, 8>(kind, launch);
      if (rows == 16) return with_lora_traits<T, 16>(kind, launch);
      return with_lora_traits<T, 32>(kind, launch);
    }
  });
}

}  // namespace germ::kernels
