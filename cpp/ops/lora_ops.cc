// LoRA merge W += scale * B A in place (contract: cuda/lora/lora_args.h):
// validation on the calling thread, then one task that reads A, B and W and
// writes W. lib/lora/adapter.ts names the adapter's own errors first; these
// checks guard the native call itself.
#include <algorithm>
#include <string>
#include "ops.h"
#include "task.h"

namespace germ::ops {

void lora_merge(const TensorPtr& w, const TensorPtr& a_in, const TensorPtr& b_in, float scale) {
  const char* op = "loraMerge";
  require_same_device(op, {&w, &a_in, &b_in});
  require_float(op, w);
  const std::string shapes = "W " + shape_str(w->shape) + ", A " + shape_str(a_in->shape) + ", B " +
                             shape_str(b_in->shape);
  if (w->ndim() != 2 || a_in->ndim() != 2 || b_in->ndim() != 2)
    throw GermError(ErrorCode::Shape, std::string(op) + ": W, A and B must be 2-D, got " + shapes);
  if (a_in->dtype != w->dtype || b_in->dtype != w->dtype)
    throw GermError(ErrorCode::Dtype, std::string(op) + ": W, A and B must share a dtype, got " + shapes);
  const int64_t out = w->shape[0], in = w->shape[1], r = a_in->shape[0];
  if (a_in->shape[1] != in || b_in->shape[0] != out || b_in->shape[1] != r)
    throw GermError(ErrorCode::Shape, std::string(op) + ": expected A [r, in] and B [out, r], got " + shapes);
  if (r < 1 || r > kernels::kLoraMaxRank)
    throw GermError(ErrorCode::Shape, std::string(op) + ": rank " + std::to_string(r) + " outside 1.." +
                                          std::to_string(kernels::kLoraMaxRank) + " (" + shapes + ")");
  const int64_t ldw = out <= 1 ? std::max<int64_t>(in, 1) : w->strides[0];
  if ((in > 1 && w->strides[1] != 1) || ldw < in)
    throw GermError(ErrorCode::InvalidArgument, std::string(op) + ": W must have rows of consecutive elements "
                                                "(unit column stride), got strides " + shape_str(w->strides));
  if (may_overlap(*w, *a_in) || may_overlap(*w, *b_in))
    throw GermError(ErrorCode::InvalidArgument, std::string(op) + ": A or B overlaps W's memory in " + shapes +
                                                " (it would read elements while they are overwritten)");
  const TensorPtr a = contiguous(a_in), b = contiguous(b_in);
  kernels::LoraMergeArgs g;
  g.dtype = kd(w->dtype);
  g.w = w->data();
  g.ldw = ldw;
  g.a = a->data();
  g.b = b->data();
  g.out = out;
  g.in = in;
  g.r = r;
  g.scale = scale;
  Backend& be = backend_for(w->device());
  submit(be, storages({&a, &b, &w}), {w->storage}, [g](Backend& be2) {
    if (g.out && g.in) be2.lora_merge(g);
  });
}

}  // namespace germ::ops
