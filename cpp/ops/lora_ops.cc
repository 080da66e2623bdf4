// LoRA merge W += scale * B A in place (contract: cuda/lora/lora_args.h):
// validation on the calling thread, then one task that reads A, B and W and
// writes W. And the LoRA forward over the stacked [W; A] weight: one fused
// kernel where the backend has it, else the stacked GEMM and a rank-r GEMM.
// lib/lora/ names the adapter's own errors first; these checks guard the
// native calls themselves.
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

TensorPtr lora_forward(const TensorPtr& x_in, const TensorPtr& stacked_in, const TensorPtr& bias_in,
                       const TensorPtr& b_in, int64_t rank, float scale) {
  const char* op = "loraForward";
  require_same_device(op, {&x_in, &stacked_in, &bias_in, &b_in});
  require_float(op, x_in);
  const std::string shapes = "x " + shape_str(x_in->shape) + ", [W; A] " + shape_str(stacked_in->shape) + ", B " +
                             shape_str(b_in->shape) + (bias_in ? ", bias " + shape_str(bias_in->shape) : "") +
                             ", rank " + std::to_string(rank);
  if (stacked_in->dtype != x_in->dtype || b_in->dtype != x_in->dtype || (bias_in && bias_in->dtype != x_in->dtype))
    throw GermError(ErrorCode::Dtype, std::string(op) + ": x, [W; A], B and bias must share a dtype, got " + shapes);
  if (x_in->ndim() != 2 || stacked_in->ndim() != 2 || b_in->ndim() != 2 || rank < 1 ||
      rank > kernels::kLoraMaxRank || stacked_in->shape[0] <= rank || stacked_in->shape[1] != x_in->shape[1] ||
      b_in->shape[0] != stacked_in->shape[0] - rank || b_in->shape[1] != rank ||
      (bias_in && (bias_in->ndim() != 1 || bias_in->shape[0] != stacked_in->shape[0])))
    throw GermError(ErrorCode::Shape, std::string(op) + ": expected x [M, in], [W; A] [out + r, in], B [out, r], "
                                      "bias [out + r], r in 1.." + std::to_string(kernels::kLoraMaxRank) +
                                      ", got " + shapes);
  const int64_t m = x_in->shape[0], in = x_in->shape[1], width = stacked_in->shape[0], out = width - rank;
  const TensorPtr x = contiguous(x_in), stacked = contiguous(stacked_in), b = contiguous(b_in);
  const TensorPtr bias = bias_in ? contiguous(bias_in) : nullptr;
  Backend& be = backend_for(x->device());
  kernels::LoraGemmArgs g;
  kernels::GemmArgs& base = g.base;
  base = linear_gemm_args(x->dtype, x->data(), stacked->data(), m, out, in);
  base.ldc = width;
  base.bias = bias ? bias->data() : nullptr;
  g.lora_a = static_cast<const char*>(stacked->data()) + out * in * dtype_size(x->dtype);
  g.ld_la = base.ldb;
  g.lora_b = b->data(); g.ld_lb = rank;
  g.rank = rank; g.scale = scale;
  g.ldt = width;
  // Asked first with the outputs unset, so that a backend without the fused
  // kernel (the CPU: every allocation a fresh malloc) allocates nothing the
  // composed path would throw away; then again with the output's pointers,
  // whose alignment the kernel checks too: [M, out + r], y in the first out
  // columns, t = x A^T in the last r.
  if (m > 0 && in > 0 && be.supports(g)) {
    TensorPtr both = empty(be, x->dtype, {m, width});
    base.c = both->data();
    g.t = static_cast<char*>(both->data()) + out * dtype_size(x->dtype);
    if (be.supports(g)) {
      submit(be, storages({&x, &stacked, &b, &bias}), {both->storage}, [g](Backend& be2) { be2.gemm_lora(g); });
      return both;
    }
  }
  // Composed: [x W^T + b | x A^T] in one GEMM (x read once), then y += scale t B^T.
  TensorPtr both = matmul(x, stacked, bias, {false, true, 1.f});
  matmul_into(view(both, {m, out}, {width, 1}, 0), view(both, {m, rank}, {width, 1}, out), b,
              {false, true, scale, 1.f});
  return both;
}

}  // namespace germ::ops
