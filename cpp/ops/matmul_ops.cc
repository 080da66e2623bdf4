// matmul: maps strided views onto the GEMM's (trans, ld, batch stride)
// description without copying when the layout allows it, e.g. a transposed
// view of a weight is read in place with trans_b.
#include "ops.h"
#include "task.h"

namespace germ::ops {

namespace {

struct Operand {
  TensorPtr t;          // the tensor whose memory the GEMM reads
  bool trans = false;   // stored as the transpose of its logical [rows, cols]
  int64_t ld = 0;
  int64_t batch_stride = 0;
};

// The logical matrix view: the tensor with its last two dims swapped if asked.
TensorPtr logical(const TensorPtr& t, bool swap_last_two) {
  if (!swap_last_two) return t;
  auto v = std::make_shared<TensorImpl>(*t);
  const size_t n = v->shape.size();
  std::swap(v->shape[n - 1], v->shape[n - 2]);
  std::swap(v->strides[n - 1], v->strides[n - 2]);
  return v;
}

// One stride for all batch dims, or -1 when they do not collapse.
int64_t batch_stride_of(const TensorImpl& t) {
  const size_t nb = t.shape.size() - 2;
  int64_t stride = -1, span = 1;
  for (size_t i = nb; i-- > 0;) {
    if (t.shape[i] == 1) continue;
    if (stride < 0) stride = t.strides[i];
    else if (t.strides[i] != stride * span) return -1;
    span *= t.shape[i];
  }
  return stride < 0 ? 0 : stride;
}

// Reads [rows, cols] in place if it is row- or column-major with a usable
// leading dim, else from a contiguous copy.
Operand place(const TensorPtr& v) {
  const size_t n = v->shape.size();
  const int64_t rows = v->shape[n - 2], cols = v->shape[n - 1];
  const int64_t rs = rows == 1 ? std::max<int64_t>(cols, 1) : v->strides[n - 2];
  const int64_t cs = cols == 1 ? 1 : v->strides[n - 1];
  const int64_t bstride = batch_stride_of(*v);
  Operand op;
  op.t = v;
  if (bstride >= 0 && cs == 1 && rs >= std::max<int64_t>(cols, 1)) {
    op.ld = rs;
  } else if (bstride >= 0 && rs == 1 && v->strides[n - 1] >= std::max<int64_t>(rows, 1)) {
    op.trans = true;
    op.ld = v->strides[n - 1];
  } else {
    op.t = contiguous(v);
    op.ld = std::max<int64_t>(cols, 1);
    op.batch_stride = rows * cols;
    return op;
  }
  op.batch_stride = bstride;
  return op;
}

// The A and B halves of the GEMM's arguments (batch strides included).
kernels::GemmArgs gemm_args(DType dtype, const Operand& pa, const Operand& pb, int64_t m, int64_t n, int64_t k) {
  kernels::GemmArgs g;
  g.dtype = kd(dtype);
  g.trans_a = pa.trans;
  g.trans_b = pb.trans;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = pa.t->data();
  g.lda = pa.ld;
  g.stride_a = pa.batch_stride;
  g.b = pb.t->data();
  g.ldb = pb.ld;
  g.stride_b = pb.batch_stride;
  return g;
}

}  // namespace

kernels::GemmArgs linear_gemm_args(DType dtype, const void* x, const void* w, int64_t rows, int64_t n, int64_t k) {
  kernels::GemmArgs g;
  g.dtype = kd(dtype);
  g.trans_b = true;
  g.m = rows; g.n = n; g.k = k;
  g.a = x; g.lda = std::max<int64_t>(k, 1);
  g.b = w; g.ldb = std::max<int64_t>(k, 1);
  return g;
}

TensorPtr matmul(const TensorPtr& a_in, const TensorPtr& b_in, const TensorPtr& bias_in, const MatmulOptions& o) {
  require_same_device("matmul", {&a_in, &b_in, &bias_in});
  require_float("matmul", a_in);
  if (a_in->ndim() < 2 || b_in->ndim() < 2)
    throw GermError(ErrorCode::Shape, "matmul: both operands need at least 2 dims, got " + shape_str(a_in->shape) +
                                          " and " + shape_str(b_in->shape));
  if (a_in->dtype != b_in->dtype || (bias_in && bias_in->dtype != a_in->dtype))
    throw GermError(ErrorCode::Dtype, std::string("matmul: operands must share a dtype, got ") +
                                          dtype_name(a_in->dtype) + " and " + dtype_name(b_in->dtype) +
                                          (bias_in ? std::string(" (bias ") + dtype_name(bias_in->dtype) + ")" : ""));
  const TensorPtr a = logical(a_in, o.trans_a), b = logical(b_in, o.trans_b);
  const size_t na = a->shape.size(), nb = b->shape.size();
  const int64_t m = a->shape[na - 2], k = a->shape[na - 1], n = b->shape[nb - 1];
  // Built only for an error message: string work costs a microsecond an op.
  auto shapes = [&] {
    return shape_str(a_in->shape) + (o.trans_a ? "^T" : "") + " @ " + shape_str(b_in->shape) + (o.trans_b ? "^T" : "");
  };
  if (b->shape[nb - 2] != k)
    throw GermError(ErrorCode::Shape, "matmul: inner dims differ in " + shapes());
  const Shape batch_a(a->shape.begin(), a->shape.end() - 2), batch_b(b->shape.begin(), b->shape.end() - 2);
  if (!batch_b.empty() && !batch_a.empty() && batch_a != batch_b)
    throw GermError(ErrorCode::Shape, "matmul: batch dims differ in " + shapes() +
                                          " (they must match, or one operand must be 2-D)");
  const Shape& batch_shape = batch_a.empty() ? batch_b : batch_a;
  const int64_t batch = shape_numel(batch_shape);
  if (bias_in && (bias_in->ndim() != 1 || bias_in->shape[0] != n))
    throw GermError(ErrorCode::Shape, "matmul: bias must be [" + std::to_string(n) + "], got " +
                                          shape_str(bias_in->shape) + " for " + shapes());

  Operand pa = place(a), pb = place(b);
  if (batch_a.empty()) pa.batch_stride = 0;
  if (batch_b.empty()) pb.batch_stride = 0;
  const TensorPtr bias = bias_in ? contiguous(bias_in) : nullptr;

  Shape out_shape = batch_shape;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Backend& be = backend_for(a->device());
  TensorPtr out = empty(be, a->dtype, out_shape);

  kernels::GemmArgs g = gemm_args(a->dtype, pa, pb, m, n, k);
  g.batch = batch;
  g.c = out->data();
  g.ldc = std::max<int64_t>(n, 1);
  g.stride_c = m * n;
  g.bias = bias ? bias->data() : nullptr;
  g.alpha = o.alpha;
  g.beta = 0.f;
  submit(be, storages({&pa.t, &pb.t, &bias}), {out->storage}, [g](Backend& be2) {
    if (g.m && g.n && g.batch) be2.gemm(g);
  });
  return out;
}

}  // namespace germ::ops

// --- matmul_into: the in-place GEMM (LoRA merge / unmerge, the fused LoRA
// forward's second GEMM, gradient accumulation). The GEMM contract already
// carries beta and C on both backends; this exposes it on an existing tensor.
namespace germ::ops {

void matmul_into(const TensorPtr& c, const TensorPtr& a_in, const TensorPtr& b_in, const MatmulIntoOptions& o) {
  const char* op = "matmulInto";
  require_same_device(op, {&c, &a_in, &b_in});
  require_float(op, c);
  const std::string shapes = "out " + shape_str(c->shape) + " = " + shape_str(a_in->shape) + (o.trans_a ? "^T" : "") +
                             " @ " + shape_str(b_in->shape) + (o.trans_b ? "^T" : "");
  if (c->ndim() != 2 || a_in->ndim() != 2 || b_in->ndim() != 2)
    throw GermError(ErrorCode::Shape, std::string(op) + ": all operands must be 2-D, got " + shapes);
  if (a_in->dtype != c->dtype || b_in->dtype != c->dtype)
    throw GermError(ErrorCode::Dtype, std::string(op) + ": operands must share the output's dtype " +
                                          dtype_name(c->dtype) + ", got " + dtype_name(a_in->dtype) + " and " +
                                          dtype_name(b_in->dtype) + " in " + shapes);
  const TensorPtr a = logical(a_in, o.trans_a), b = logical(b_in, o.trans_b);
  const int64_t m = a->shape[0], k = a->shape[1], n = b->shape[1];
  if (b->shape[0] != k || c->shape[0] != m || c->shape[1] != n)
    throw GermError(ErrorCode::Shape, std::string(op) + ": shapes do not chain in " + shapes);
  const int64_t ldc = m <= 1 ? std::max<int64_t>(n, 1) : c->strides[0];
  if ((n > 1 && c->strides[1] != 1) || ldc < n)
    throw GermError(ErrorCode::InvalidArgument, std::string(op) + ": the output must have rows of consecutive "
                                                "elements (unit column stride), got strides " +
                                                shape_str(c->strides) + " for " + shapes);
  if (may_overlap(*c, *a_in) || may_overlap(*c, *b_in))
    throw GermError(ErrorCode::InvalidArgument, std::string(op) + ": an input overlaps the output's memory in " +
                                                shapes + " (it would read elements while they are overwritten)");

  Operand pa = place(a), pb = place(b);
  kernels::GemmArgs g = gemm_args(c->dtype, pa, pb, m, n, k);
  g.c = c->data();
  g.ldc = ldc;
  g.alpha = o.alpha;
  g.beta = o.beta;
  Backend& be = backend_for(c->device());
  // c is read too (beta * c), which also orders this write after its producer.
  submit(be, storages({&pa.t, &pb.t, &c}), {c->storage}, [g](Backend& be2) {
    if (g.m && g.n) be2.gemm(g);
  });
}

}  // namespace germ::ops
