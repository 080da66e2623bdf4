// Host launchers for reductions (cuda/reduce/*.cu).
#pragma once
#include <cuda_runtime_api.h>
#include "../../contract/reduce_args.h"

namespace germ::kernels {

// x is contiguous [outer, len, inner]; y is contiguous [outer, inner].
// Accumulates in f32 (sums with a pairwise/tree order), writes dtype dt.
// `outer * inner == 1` (a whole-tensor reduction) is handled by a two-pass grid
// reduction through `scratch`, which must hold reduce_scratch_floats(args)
// floats (it may be null when that function returns 0).
cudaError_t reduce(const ReduceArgs& args, float* scratch, cudaStream_t stream);

int64_t reduce_scratch_floats(const ReduceArgs& args);

}  // namespace germ::kernels
