#include <string>
#include "ops.h"
#include "task.h"

namespace germ::ops {

namespace {
void check_param(const char* op, const TensorPtr& p, const TensorPtr& x, const char* what) {
  const int64_t c = x->shape.back();
  if (p->ndim() != 1 || p->shape[0] != c)
    throw GermError(ErrorCode::Shape, std::string(op) + ": " + what + " must be [" + std::to_string(c) + "] for x " +
                                          shape_str(x->shape) + ", got " + shape_str(p->shape));
  require_dtype(op, p, x->dtype, what);
}
}  // namespace

std::array<TensorPtr, 3> layernorm_forward(const TensorPtr& x_in, const TensorPtr& r_in, const TensorPtr& w_in,
                                           const TensorPtr& b_in, float eps, bool save_stats) {
  const char* op = r_in ? "addLayerNorm" : "layerNorm";
  require_same_device(op, {&x_in, &r_in, &w_in, &b_in});
  require_float(op, x_in);
  if (x_in->ndim() < 1) throw GermError(ErrorCode::Shape, std::string(op) + ": x must have at least 1 dim");
  if (r_in) {
    if (r_in->shape != x_in->shape)
      throw GermError(ErrorCode::Shape, std::string(op) + ": residual " + shape_str(r_in->shape) +
                                            " must have the shape of x " + shape_str(x_in->shape));
    require_dtype(op, r_in, x_in->dtype, "residual");
  }
  check_param(op, w_in, x_in, "weight");
  check_param(op, b_in, x_in, "bias");
  if (!(eps >= 0.f)) throw GermError(ErrorCode::InvalidArgument, std::string(op) + ": eps must be >= 0");
  const TensorPtr x = contiguous(x_in), w = contiguous(w_in), b = contiguous(b_in);
  const TensorPtr r = r_in ? contiguous(r_in) : nullptr;
  const int64_t cols = x->shape.back(), rows = cols ? x->numel() / cols : 0;
  Shape stat_shape(x->shape.begin(), x->shape.end() - 1);
  Backend& be = backend_for(x->device());
  TensorPtr out = empty(be, x->dtype, x->shape);
  TensorPtr mean = save_stats ? empty(be, DType::F32, stat_shape) : nullptr;
  TensorPtr rstd = save_stats ? empty(be, DType::F32, stat_shape) : nullptr;
  kernels::LayerNormArgs a;
  a.dt = kd(x->dtype);
  a.out = out->data();
  a.mean = save_stats ? static_cast<float*>(mean->data()) : nullptr;
  a.rstd = save_stats ? static_cast<float*>(rstd->data()) : nullptr;
  a.x = x->data();
  a.residual = r ? r->data() : nullptr;
  a.weight = w->data();
  a.bias = b->data();
  a.rows = rows;
  a.cols = cols;
  a.eps = eps;
  std::vector<StoragePtr> writes{out->storage};
  if (save_stats) { writes.push_back(mean->storage); writes.push_back(rstd->storage); }
  submit(be, storages({&x, &r, &w, &b}), std::move(writes), [a](Backend& be2) {
    if (a.rows && a.cols) be2.layernorm_forward(a);
  });
  return {out, mean, rstd};
}

std::array<TensorPtr, 3> layernorm_backward(const TensorPtr& dout_in, const TensorPtr& x_in, const TensorPtr& w_in,
                                            const TensorPtr& mean_in, const TensorPtr& rstd_in) {
  const char* op = "layerNormBackward";
  require_same_device(op, {&dout_in, &x_in, &w_in, &mean_in, &rstd_in});
  require_float(op, x_in);
  if (dout_in->shape != x_in->shape || dout_in->dtype != x_in->dtype)
    throw GermError(ErrorCode::Shape, "layerNormBackward: dout " + shape_str(dout_in->shape) + " " +
                                          dtype_name(dout_in->dtype) + " must match x " + shape_str(x_in->shape) +
                                          " " + dtype_name(x_in->dtype));
  check_param(op, w_in, x_in, "weight");
  const Shape stat_shape(x_in->shape.begin(), x_in->shape.end() - 1);
  for (const TensorPtr* s : {&mean_in, &rstd_in}) {
    require_dtype(op, *s, DType::F32, "mean and rstd");
    if ((*s)->shape != stat_shape)
      throw GermError(ErrorCode::Shape, "layerNormBackward: mean and rstd must be " + shape_str(stat_shape) +
                                            ", got " + shape_str((*s)->shape));
  }
  const TensorPtr dout = contiguous(dout_in), x = contiguous(x_in), w = contiguous(w_in);
  const TensorPtr mean = contiguous(mean_in), rstd = contiguous(rstd_in);
  const int64_t cols = x->shape.back(), rows = cols ? x->numel() / cols : 0;
  Backend& be = backend_for(x->device());
  TensorPtr dx = empty(be, x->dtype, x->shape);
  TensorPtr dw = empty(be, DType::F32, {cols}), db = empty(be, DType::F32, {cols});
  kernels::LayerNormGradArgs a;
  a.dt = kd(x->dtype);
  a.dx = dx->data();
  a.dweight = static_cast<float*>(dw->data());
  a.dbias = static_cast<float*>(db->data());
  a.dout = dout->data();
  a.x = x->data();
  a.weight = w->data();
  a.mean = static_cast<const float*>(mean->data());
  a.rstd = static_cast<const float*>(rstd->data());
  a.rows = rows;
  a.cols = cols;
  submit(be, storages({&dout, &x, &w, &mean, &rstd}), {dx->storage, dw->storage, db->storage}, [a](Backend& be2) {
    if (a.cols) be2.layernorm_backward(a);
  });
  // Parameter gradients are accumulated in f32 and handed back in the
  // parameter's dtype.
  return {dx, cast(dw, w->dtype), cast(db, w->dtype)};
}

}  // namespace germ::ops
