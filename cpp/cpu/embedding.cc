// Embedding lookup: a row gather, out[i, :] = table[ids[i], :] (contract:
// ops.h, cuda/embedding/embedding.h). Rows are copied as bytes, so every
// dtype takes the same path; ids outside [0, vocab) give zero rows and, when
// asked, the position of the first one is returned for the op layer to report.
#include <cstring>

#include "ops.h"
#include "thread_pool.h"

namespace germ::cpu {

int64_t embedding(const kernels::EmbeddingArgs& args) {
  if (args.n <= 0) return -1;
  if (args.check)
    for (int64_t i = 0; i < args.n; ++i)
      if (args.ids[i] < 0 || args.ids[i] >= args.vocab) return i;  // the op fails; its output is never read
  const size_t row_bytes = static_cast<size_t>(args.hidden * kernels::kdtype_size(args.dt));
  if (row_bytes == 0) return -1;
  const auto* src = static_cast<const char*>(args.table);
  auto* dst = static_cast<char*>(args.out);
  // Chunks of >= ~64 KiB of output.
  const int64_t grain = static_cast<int64_t>((size_t(64) << 10) / row_bytes) + 1;
  parallel_for(args.n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t id = args.ids[i];
      char* d = dst + static_cast<size_t>(i) * row_bytes;
      if (id >= 0 && id < args.vocab) std::memcpy(d, src + static_cast<size_t>(id) * row_bytes, row_bytes);
      else std::memset(d, 0, row_bytes);
    }
  });
  return -1;
}

}  // namespace germ::cpu
