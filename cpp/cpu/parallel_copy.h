// memcpy on the intra-op pool: one core cannot saturate memory bandwidth, and
// uploads copy whole checkpoints' worth of bytes.
#pragma once
#include <cstddef>

namespace germ::cpu {
void parallel_copy(void* dst, const void* src, size_t nbytes);
}
