// LoRA merge on the CPU (contract: cuda/lora/lora_args.h): per row of W, the
// f32 sums over k = 0 .. r-1 in order (the CUDA kernel's order), then
// scale * acc + W rounded once into W's dtype. Parallel over rows; A is
// converted to f32 once.
#include <algorithm>
#include <vector>

#include "../../contract/lora_args.h"
#include "dtype_access.h"
#include "ops.h"
#include "thread_pool.h"

namespace germ::cpu {

void lora_merge(const kernels::LoraMergeArgs& a) {
  if (a.out <= 0 || a.in <= 0) return;
  std::vector<float> A(static_cast<size_t>(a.r * a.in));
  load_as_float(a.dtype, a.a, 0, a.r * a.in, A.data());
  const int64_t grain = std::max<int64_t>(1, (16 << 10) / std::max<int64_t>(a.in * a.r, 1));
  parallel_for(a.out, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> acc(static_cast<size_t>(a.in)), w(static_cast<size_t>(a.in)), b(static_cast<size_t>(a.r));
    for (int64_t i = begin; i < end; ++i) {
      load_as_float(a.dtype, a.b, i * a.r, a.r, b.data());
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int64_t k = 0; k < a.r; ++k) {
        const float bk = b[k];
        const float* ak = A.data() + k * a.in;
        for (int64_t j = 0; j < a.in; ++j) acc[j] += bk * ak[j];
      }
      load_as_float(a.dtype, a.w, i * a.ldw, a.in, w.data());
      for (int64_t j = 0; j < a.in; ++j) w[j] = a.scale * acc[j] + w[j];
      store_from_float(a.dtype, w.data(), a.w, i * a.ldw, a.in);
    }
  });
}

}  // namespace germ::cpu
