// Weight-only 4-bit GEMM on the CPU (int4 per group / channel / tensor, NF4
// with or without double quantization; contract: cuda/qgemm/qgemm_args.h).
//
// Parallel over blocks of kNB weight rows: each block is dequantized into an
// f32 panel (qgemm_math.h's values, rounded through x's dtype as the CUDA
// kernel rounds them for its tensor cores), then multiplied with x by the
// dense GEMM's packed micro-kernels (cpu::gemm, which runs serially inside
// this parallel loop), and the f32 result goes through the epilogue. Only
// kNB rows of W are ever expanded, never the whole matrix.
#include <algorithm>
#include <vector>

#include "../../contract/qgemm_math.h"
#include "dtype_access.h"
#include "ops.h"
#include "qgemm_epilogue.h"
#include "thread_pool.h"

namespace germ::cpu {

namespace {

constexpr int64_t kNB = 64;

// Rows [j0, j0 + nb) of W as f32 values rounded through `dt`, into w [nb, k].
void dequantize_rows(const kernels::W4Args& a, const float* dyn, int64_t j0, int64_t nb, float* w) {
  for (int64_t j = 0; j < nb; ++j) {
    const uint8_t* q = a.wq + (j0 + j) * (a.k / 2);
    float* row = w + j * a.k;
    for (int64_t g0 = 0; g0 < a.k; g0 += a.group) {
      const kernels::QParams p = kernels::w4_group_params(a, (j0 + j) * a.s_ld + g0 / a.group, dyn);
      for (int64_t c = g0; c < std::min(a.k, g0 + a.group); ++c)
        row[c] = kernels::w4_value(a.codes, (q[c / 2] >> (4 * (c & 1))) & 15, p);
    }
    round_through(a.x_dtype, row, a.k);
  }
}

}  // namespace

void qgemm_w4(const kernels::W4Args& a) {
  if (a.m <= 0 || a.n <= 0) return;
  const kernels::DynamicMap map = kernels::make_dynamic_map();
  std::vector<float> x(static_cast<size_t>(a.m * a.k));
  parallel_for(a.m, std::max<int64_t>(1, (64 << 10) / std::max<int64_t>(a.k, 1)), [&](int64_t begin, int64_t end) {
    load_as_float(a.x_dtype, a.x, begin * a.k, (end - begin) * a.k, x.data() + begin * a.k);
  });
  const int64_t blocks = (a.n + kNB - 1) / kNB;
  parallel_for(blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> w(static_cast<size_t>(kNB * a.k)), y(static_cast<size_t>(a.m * kNB));
    for (int64_t b = begin; b < end; ++b) {
      const int64_t j0 = b * kNB, nb = std::min(kNB, a.n - j0);
      dequantize_rows(a, map.v, j0, nb, w.data());
      kernels::GemmArgs g;
      g.dtype = KDType::F32;
      g.trans_b = true;
      g.m = a.m; g.n = nb; g.k = a.k;
      g.a = x.data(); g.lda = std::max<int64_t>(a.k, 1);
      g.b = w.data(); g.ldb = std::max<int64_t>(a.k, 1);
      g.c = y.data(); g.ldc = nb;
      gemm(g);
      for (int64_t i = 0; i < a.m; ++i) store_epilogue(a.ep, a.n, i, j0, y.data() + i * nb, nb);
    }
  });
}

}  // namespace germ::cpu
