// Arguments of the embedding gather (cuda/embedding, cpp/cpu/embedding.cc):
// out[i, :] = table[ids[i], :] for i < n, rows of `hidden` elements of dt (any
// dtype: a byte copy); ids are n int32. An id outside [0, vocab) gives a zero
// row; with `check` the backend reports the first such position.
#pragma once
#include <cstdint>
#include "kernel_types.h"

namespace germ::kernels {

struct EmbeddingArgs {
  KDType dt = KDType::F32;
  void* out = nullptr;
  const void* table = nullptr;
  const int32_t* ids = nullptr;
  int64_t n = 0, vocab = 0, hidden = 0;
  bool check = false;
};

}  // namespace germ::kernels
