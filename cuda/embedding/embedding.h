// Host launcher for the embedding row gather (cuda/embedding/*.cu).
#pragma once
#include <cuda_runtime_api.h>
#include "../../contract/embedding_args.h"

namespace germ::kernels {

// out[i, :] = table[ids[i], :] for i < n: table [vocab, hidden] and out
// [n, hidden] contiguous of dtype dt (any dtype: rows move as bytes, in
// 16-byte words where the row size and both pointers allow), ids int32 in
// device memory. An id outside [0, vocab) never reads the table: its row is
// written as zeros and, when bad_pos is non-null, *bad_pos is lowered
// (atomicMin) to its position, so the caller, having set it to ~0ull, learns
// the first bad position (args.check is the caller's: it passes bad_pos or not).
cudaError_t embedding_forward(const EmbeddingArgs& args, unsigned long long* bad_pos, cudaStream_t stream);

}  // namespace germ::kernels
