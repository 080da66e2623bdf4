// Embedding lookup as a row gather: a warp per output row, each lane moving
// words of W bytes (16 where the row length and the pointers allow, down to 1),
// so a 768-wide bf16 row is 96 coalesced 16-byte loads and stores. The id is
// range-checked before the table is touched; a bad one gets a zero row and
// reports its position through bad_pos.
#include <cstdint>
#include "embedding.h"
#include "../common/launch_utils.cuh"

namespace germ::kernels {
namespace {

constexpr int kWarps = 8;

template <typename W>
__global__ void __launch_bounds__(32 * kWarps) embedding_kernel(W* __restrict__ out, const W* __restrict__ table,
                                                               const int32_t* __restrict__ ids, int64_t n,
                                                               int64_t vocab, int64_t row_words,
                                                               unsigned long long* bad_pos) {
  const int lane = threadIdx.x % 32;
  const int64_t step = int64_t(gridDim.x) * kWarps;
  for (int64_t i = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32; i < n; i += step) {
    const int64_t id = ids[i];
    W* o = out + i * row_words;
    if (id >= 0 && id < vocab) {
      const W* src = table + id * row_words;
      for (int64_t j = lane; j < row_words; j += 32) o[j] = src[j];
    } else {
      for (int64_t j = lane; j < row_words; j += 32) o[j] = W{};
      if (bad_pos && lane == 0) atomicMin(bad_pos, static_cast<unsigned long long>(i));
    }
  }
}

template <typename W>
cudaError_t launch(const EmbeddingArgs& a, int64_t row_bytes, unsigned long long* bad_pos, cudaStream_t stream) {
  embedding_kernel<W><<<grid_stride_blocks(a.n, kWarps), 32 * kWarps, 0, stream>>>(
      static_cast<W*>(a.out), static_cast<const W*>(a.table), a.ids, a.n, a.vocab, row_bytes / int64_t(sizeof(W)),
      bad_pos);
  return cudaGetLastError();
}

}  // namespace

cudaError_t embedding_forward(const EmbeddingArgs& a, unsigned long long* bad_pos, cudaStream_t stream) {
  if (a.n <= 0) return cudaSuccess;
  if (a.hidden < 0 || a.vocab < 0) return cudaErrorInvalidValue;
  const int64_t row_bytes = a.hidden * kdtype_size(a.dt);
  // The widest word that divides the row and to which both bases are aligned.
  auto fits = [&](int64_t w) { return row_bytes % w == 0 && aligned_to(a.out, w) && aligned_to(a.table, w); };
  if (fits(16)) return launch<uint4>(a, row_bytes, bad_pos, stream);
  if (fits(8)) return launch<uint2>(a, row_bytes, bad_pos, stream);
  if (fits(4)) return launch<uint32_t>(a, row_bytes, bad_pos, stream);
  if (fits(2)) return launch<uint16_t>(a, row_bytes, bad_pos, stream);
  return launch<uint8_t>(a, row_bytes, bad_pos, stream);
}

}  // namespace germ::kernels
