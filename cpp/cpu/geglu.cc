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

void geglu(const kernels::GegluArgs& args) {
  if (args.rows <= 0 || args.inner <= 0) return;
  std::vector<float> b;
  if (args.bias) {
    b.resize(static_cast<size_t>(2 * args.inner));
    load_as_float(args.dt, args.bias, 0, 2 * args.inner, b.data());
  }
  const int64_t grain = std::max<int64_t>(1, (32 * 1024) / args.inner);
  parallel_for(args.rows, grain, [&](int64_t begin, int64_t end) {
    float g[kBlock], u[kBlock];
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t j0 = 0; j0 < args.inner; j0 += kBlock) {
        const int64_t nj = std::min(kBlock, args.inner - j0);
        load_as_float(args.dt, args.x, r * args.ldx + j0, nj, g);
        load_as_float(args.dt, args.x, r * args.ldx + args.inner + j0, nj, u);
        if (args.bias)
          for (int64_t j = 0; j < nj; ++j) {
            g[j] += b[j0 + j];
            u[j] += b[args.inner + j0 + j];
          }
        for (int64_t j = 0; j < nj; ++j) g[j] = gelu_erf(g[j]) * u[j];
        store_from_float(args.dt, g, args.out, r * args.inner + j0, nj);
      }
    }
  });
}

}  // namespace germ::cpu
