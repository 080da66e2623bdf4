// Outlier statistics of activations: the op behind lib/metrics (kurtosis,
// token kurtosis, max |x|) and its streaming accumulator. The running state
// is a u8 tensor of 64 bytes holding one kernels::StatsState (8 doubles):
// the tensor dtypes have no f64, and JS only ever reads it back whole.
#include <string>
#include "../../contract/moments.h"
#include "ops.h"
#include "task.h"

namespace germ::ops {

namespace {

constexpr int64_t kStateBytes = sizeof(kernels::StatsState);

void check_state(const TensorPtr& prev) {
  if (prev->dtype != DType::U8 || prev->ndim() != 1 || prev->shape[0] != kStateBytes)
    throw GermError(ErrorCode::InvalidArgument, "outlierStats: state must be the u8 [" +
                                                    std::to_string(kStateBytes) + "] tensor a previous call returned, got " +
                                                    std::string(dtype_name(prev->dtype)) + " " + shape_str(prev->shape));
}

}  // namespace

std::array<TensorPtr, 4> outlier_stats(const TensorPtr& x_in, const TensorPtr& prev_in) {
  const char* op = "outlierStats";
  require_same_device(op, {&x_in, &prev_in});
  require_float(op, x_in);
  if (x_in->ndim() < 1)
    throw GermError(ErrorCode::Shape, "outlierStats: x must have at least 1 dim ([tokens, hidden]), got a scalar");
  if (x_in->numel() == 0) throw GermError(ErrorCode::Shape, "outlierStats: x is empty " + shape_str(x_in->shape));
  if (prev_in) check_state(prev_in);
  const TensorPtr x = contiguous(x_in), prev = prev_in ? contiguous(prev_in) : nullptr;
  // Leading dims flatten into tokens; a 1-D x is one token.
  const int64_t cols = x->shape.back(), rows = x->numel() / cols;
  Shape row_shape(x->shape.begin(), x->shape.end() - 1);
  if (row_shape.empty()) row_shape = {1};
  Backend& be = backend_for(x->device());
  TensorPtr state = empty(be, DType::U8, {kStateBytes});
  TensorPtr row_kurt = empty(be, DType::F32, row_shape), row_absmax = empty(be, DType::F32, row_shape);
  TensorPtr col_absmax = empty(be, DType::F32, {cols});
  kernels::OutlierStatsArgs a;
  a.dt = kd(x->dtype);
  a.x = x->data();
  a.rows = rows;
  a.cols = cols;
  a.prev = prev ? static_cast<const kernels::StatsState*>(prev->data()) : nullptr;
  a.state = static_cast<kernels::StatsState*>(state->data());
  a.row_kurt = static_cast<float*>(row_kurt->data());
  a.row_absmax = static_cast<float*>(row_absmax->data());
  a.col_absmax = static_cast<float*>(col_absmax->data());
  submit(be, storages({&x, &prev}), {state->storage, row_kurt->storage, row_absmax->storage, col_absmax->storage},
         [a](Backend& b) { b.outlier_stats(a); });
  return {state, row_kurt, row_absmax, col_absmax};
}

}  // namespace germ::ops
