// GEGLU, DNABERT-2's gated-MLP epilogue (contract: ops.h,
// cuda/elementwise/elementwise.h): per row, out[j] = gelu(gate[j]) * up[j]
// with gate = x[:inner] + b[:inner] and up = x[inner:] + b[inner:]. One pass,
// f32 math, kBlock columns at a time on the stack.
#include <algorithm>
#include <vector>

#include "dtype_access.h"
#include "elementwise_math.h"
#include "ops.h"
#include "thread_pool.h"

namespace germ::cpu {

void geglu(KDType dt, void* out, const void* x, int64_t ldx, const void* bias, int64_t rows, int64_t inner) {
  if (rows <= 0 || inner <= 0) return;
  std::vector<float> b;
  if (bias) {
    b.resize(static_cast<size_t>(2 * inner));
    load_as_float(dt, bias, 0, 2 * inner, b.data());
  }
  const int64_t grain = std::max<int64_t>(1, (32 * 1024) / inner);
  parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
    float g[kBlock], u[kBlock];
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t j0 = 0; j0 < inner; j0 += kBlock) {
        const int64_t nj = std::min(kBlock, inner - j0);
        load_as_float(dt, x, r * ldx + j0, nj, g);
        load_as_float(dt, x, r * ldx + inner + j0, nj, u);
        if (bias)
          for (int64_t j = 0; j < nj; ++j) {
            g[j] += b[j0 + j];
            u[j] += b[inner + j0 + j];
          }
        for (int64_t j = 0; j < nj; ++j) g[j] = gelu_erf(g[j]) * u[j];
        store_from_float(dt, g, out, r * inner + j0, nj);
      }
    }
  });
}

}  // namespace germ::cpu
