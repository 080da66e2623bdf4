// Dense GEMM, GotoBLAS/BLIS style:
//   C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] + bias   (contract: ops.h)
//
// The output is cut into tiles of kMC x kNC per batch entry; tiles are the unit
// of parallelism (parallel over batch, M-block and N-block). Within a tile, K is
// walked in kKC slices: pack the A block (kMC x kKC, stays in L2) and the B
// block (kKC x kNC), then sweep 6 x 16 micro-tiles, each reading one A panel
// from L2 and one B panel (kKC x 16 = 16 KiB, stays in L1 across the sweep over
// A panels). Sums live in an f32 tile buffer across K slices, so C is rounded
// into its dtype exactly once, in the epilogue, as on the GPU (f32 accumulation
// for every dtype).
//
// Tile sizes, measured on a 2-core AMD EPYC (Zen, 32 KiB L1d, 512 KiB L2 per
// core): see the comments on the constants.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>

#include "dtype_access.h"
#include "gemm_microkernel.h"
#include "gemm_pack.h"
#include "ops.h"
#include "thread_pool.h"

namespace germ::cpu {
namespace {

// K slice: the B panel (kKC x kNR floats = 16 KiB) fits L1 next to A panels.
constexpr int64_t kKC = 256;
// M block: A block kMC x kKC = 96 KiB, a fifth of L2, reused by every B panel.
constexpr int64_t kMC = 96;
// N block: B block kKC x kNC = 256 KiB; with the f32 C tile (96 KiB) all three
// operands of a tile fit one core's L2.
constexpr int64_t kNC = 256;
static_assert(kMC % kMR == 0 && kNC % kNR == 0, "blocks are whole micro-tiles");

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// A 64-byte aligned float array that grows on demand and is kept per thread,
// so a thread's packing buffers are allocated once, not per call.
class AlignedFloats {
 public:
  float* get(int64_t count) {
    if (count > capacity_) {
      const size_t bytes = static_cast<size_t>(round_up(count * 4, 64));
      void* p = std::aligned_alloc(64, bytes);
      if (!p) throw std::bad_alloc();
      data_.reset(static_cast<float*>(p));
      capacity_ = count;
    }
    return data_.get();
  }

 private:
  struct Free { void operator()(float* p) const { std::free(p); } };
  std::unique_ptr<float, Free> data_;
  int64_t capacity_ = 0;
};

struct TileScratch {
  AlignedFloats a, b, acc;
};

TileScratch& thread_scratch() {
  thread_local TileScratch scratch;
  return scratch;
}

// One output tile: rows [i0, i0 + mc), columns [j0, j0 + nc) of batch entry bi.
void gemm_tile(const GemmArgs& g, MicroKernel kernel, int64_t bi, int64_t i0, int64_t mc,
               int64_t j0, int64_t nc) {
  const int64_t esize = kernels::kdtype_size(g.dtype);
  const void* a = static_cast<const char*>(g.a) + bi * g.stride_a * esize;
  const void* b = static_cast<const char*>(g.b) + bi * g.stride_b * esize;
  const int64_t c_row0 = bi * g.stride_c + i0 * g.ldc + j0;  // element offset of C(i0, j0)

  const int64_t mc_pad = round_up(mc, kMR), nc_pad = round_up(nc, kNR);
  TileScratch& s = thread_scratch();
  float* acc = s.acc.get(mc_pad * nc_pad);
  float* pa = s.a.get(mc_pad * kKC);
  float* pb = s.b.get(nc_pad * kKC);

  if (g.k == 0) std::fill(acc, acc + mc_pad * nc_pad, 0.0f);
  for (int64_t p0 = 0; p0 < g.k; p0 += kKC) {
    const int64_t kc = std::min(kKC, g.k - p0);
    pack_b_block(g.dtype, b, g.ldb, g.trans_b, p0, kc, j0, nc, pb);
    pack_a_block(g.dtype, a, g.lda, g.trans_a, i0, mc, p0, kc, pa);
    const bool accumulate = p0 > 0;
    for (int64_t jr = 0; jr < nc_pad; jr += kNR) {
      for (int64_t ir = 0; ir < mc_pad; ir += kMR) {
        kernel(kc, pa + ir * kc, pb + jr * kc, acc + ir * nc_pad + jr, nc_pad, accumulate);
      }
    }
  }

  // Epilogue: alpha, beta * C (C untouched when beta == 0: it may hold NaN),
  // bias[n], one rounding into the output dtype.
  float bias[kNC], c_old[kNC], out[kNC];
  if (g.bias) load_as_float(g.dtype, g.bias, j0, nc, bias);
  for (int64_t i = 0; i < mc; ++i) {
    const int64_t c_off = c_row0 + i * g.ldc;
    const float* row = acc + i * nc_pad;
    for (int64_t j = 0; j < nc; ++j) out[j] = g.alpha * row[j];
    if (g.beta != 0.0f) {
      load_as_float(g.dtype, g.c, c_off, nc, c_old);
      for (int64_t j = 0; j < nc; ++j) out[j] += g.beta * c_old[j];
    }
    if (g.bias) for (int64_t j = 0; j < nc; ++j) out[j] += bias[j];
    store_from_float(g.dtype, out, g.c, c_off, nc);
  }
}

void check_args(const GemmArgs& g) {
  if (g.m < 0 || g.n < 0 || g.k < 0 || g.batch < 0)
    throw std::invalid_argument("germ cpu gemm: negative size");
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  if (!g.c || (g.k > 0 && (!g.a || !g.b)))
    throw std::invalid_argument("germ cpu gemm: null operand");
  dispatch_dtype(g.dtype, [](auto) {});
}

}  // namespace

void gemm(const GemmArgs& g) {
  check_args(g);
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  const MicroKernel kernel = gemm_microkernel();

  const int64_t m_tiles = (g.m + kMC - 1) / kMC;
  const int64_t n_tiles = (g.n + kNC - 1) / kNC;
  const int64_t tiles = g.batch * m_tiles * n_tiles;
  // Keep a parallel chunk at >= ~1 MFLOP so thread wake-ups stay in the noise.
  const int64_t tile_flops =
      2 * std::min(g.m, kMC) * std::min(g.n, kNC) * std::max<int64_t>(g.k, 1);
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 20) / tile_flops);

  parallel_for(tiles, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      // M fastest: consecutive tiles of one thread share the same B columns.
      const int64_t it = t % m_tiles;
      const int64_t jt = (t / m_tiles) % n_tiles;
      const int64_t bi = t / (m_tiles * n_tiles);
      const int64_t i0 = it * kMC, j0 = jt * kNC;
      gemm_tile(g, kernel, bi, i0, std::min(kMC, g.m - i0), j0, std::min(kNC, g.n - j0));
    }
  });
}

}  // namespace germ::cpu
