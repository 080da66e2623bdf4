#include "parallel_copy.h"
#include <algorithm>
#include <cstring>
#include "thread_pool.h"

namespace germ::cpu {

void parallel_copy(void* dst, const void* src, size_t nbytes) {
  constexpr int64_t kChunk = int64_t(4) << 20;  // big enough that a task costs nothing by comparison
  const int64_t chunks = (static_cast<int64_t>(nbytes) + kChunk - 1) / kChunk;
  if (chunks <= 1) {
    if (nbytes) std::memcpy(dst, src, nbytes);
    return;
  }
  parallel_for(chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const size_t off = static_cast<size_t>(c * kChunk);
      std::memcpy(static_cast<char*>(dst) + off, static_cast<const char*>(src) + off,
                  std::min<size_t>(static_cast<size_t>(kChunk), nbytes - off));
    }
  });
}

}  // namespace germ::cpu
