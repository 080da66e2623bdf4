// Host launchers for the outlier statistics (cuda/stats/stats.cu): per-tensor
// and per-token kurtosis and max |x| of activations, streamed batch by batch.
#pragma once
#include <cstddef>
#include <cuda_runtime_api.h>
#include "../../contract/stats_args.h"

namespace germ::kernels {

// Bytes of device workspace outlier_stats needs for args.rows rows.
size_t outlier_stats_workspace_bytes(const OutlierStatsArgs& args);

// Over args (contract/stats_args.h):
// x: contiguous [rows, cols] of dt (f32, f16, bf16), rows, cols >= 1.
//   row_kurt[r]   : the token kurtosis of row r (stats_token_kurtosis), f32
//   row_absmax[r] : max_j |x[r, j]|
//   col_absmax[c] : max_r |x[r, c]|
//   *state        : stats_merge(*prev, moments of all of x with its tokens)
//                   (prev may be null: an empty start); one StatsState in
//                   device memory, never aliasing prev.
// A warp takes a row, in segments of 1024: each segment's mean in f32, then
// the shifted power sums in f32 per lane, combined in f64 (stats_from_shifted)
// and merged into the row, the block and the tensor in f64.
cudaError_t outlier_stats(const OutlierStatsArgs& args, void* workspace, cudaStream_t stream);

}  // namespace germ::kernels
