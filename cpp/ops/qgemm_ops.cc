// Quantized GEMM ops: validation on the calling thread, output allocation,
// one task each (contract: cuda/qgemm/qgemm_args.h). The weight formats are
// exactly what quantize() / quantizeNf4() produce, checked piece by piece.
#include <string>
#include "ops.h"
#include "task.h"

namespace germ::ops {

namespace {

GermError invalid(const char* op, const std::string& what) {
  return GermError(ErrorCode::InvalidArgument, std::string(op) + ": " + what);
}
GermError bad_shape(const char* op, const std::string& what) {
  return GermError(ErrorCode::Shape, std::string(op) + ": " + what);
}
std::string str(int64_t v) { return std::to_string(v); }

void require_numel(const char* op, const TensorPtr& t, const char* what, DType dtype, int64_t want) {
  require_dtype(op, t, dtype, what);
  if (t->numel() != want)
    throw bad_shape(op, std::string(what) + " must hold " + str(want) + " values, got " + shape_str(t->shape));
}

// Rows and the reduction length of an activation [..., k].
struct Rows {
  int64_t m = 0, k = 0;
  Shape lead;
};
Rows rows_of(const char* op, const TensorPtr& x) {
  if (x->ndim() < 1 || x->shape.back() == 0)
    throw bad_shape(op, "x must be [..., k] with k > 0, got " + shape_str(x->shape));
  Rows r;
  r.k = x->shape.back();
  r.m = x->numel() / r.k;
  r.lead.assign(x->shape.begin(), x->shape.end() - 1);
  return r;
}

// Output of [...lead, n], and the epilogue's pointers; the bias goes to f32.
struct Epilogue {
  TensorPtr y, bias;
  kernels::QEpilogue ep;
};
Epilogue epilogue(const char* op, Backend& be, const Rows& r, int64_t n, const QLinearOptions& o, bool allow_i32) {
  const bool raw = o.out_dtype == DType::I32;
  if (!dtype_is_float(o.out_dtype) && !(raw && allow_i32))
    throw GermError(ErrorCode::Dtype, std::string(op) + ": outDtype must be f32, f16 or bf16" +
                                          (allow_i32 ? " (or i32 for the raw int32 sums)" : "") + ", got " +
                                          dtype_name(o.out_dtype));
  if (raw && (o.bias || o.gelu)) throw invalid(op, "outDtype i32 gives the raw int32 sums: no bias or gelu");
  Epilogue e;
  if (o.bias) {
    require_float(op, o.bias);
    if (o.bias->ndim() != 1 || o.bias->shape[0] != n)
      throw bad_shape(op, "bias must be [" + str(n) + "], got " + shape_str(o.bias->shape));
    e.bias = contiguous(o.bias->dtype == DType::F32 ? o.bias : cast(o.bias, DType::F32));
  }
  Shape out = r.lead;
  out.push_back(n);
  e.y = empty(be, o.out_dtype, out);
  e.ep.out_dtype = kd(o.out_dtype);
  e.ep.y = e.y->data();
  e.ep.bias = e.bias ? static_cast<const float*>(e.bias->data()) : nullptr;
  e.ep.gelu = o.gelu;
  return e;
}

// The weight [n, k] of a GEMM, checked against the activations' k.
void check_weight_shape(const char* op, const Shape& w, int64_t k) {
  if (w.size() != 2 || w[0] <= 0)
    throw bad_shape(op, "the weight must be [out, in] (nn.Linear layout), got " + shape_str(w));
  if (w[1] != k) throw bad_shape(op, "x has k = " + str(k) + " but the weight is " + shape_str(w));
}

}  // namespace

std::array<TensorPtr, 2> quantize_tokens(const TensorPtr& x_in, const TensorPtr& smooth_in, int bits) {
  const char* op = "quantizeActivations";
  require_same_device(op, {&x_in, &smooth_in});
  require_float(op, x_in);
  if (bits != 8 && bits != 6 && bits != 4) throw invalid(op, "bits must be 8, 6 or 4, got " + str(bits));
  const Rows r = rows_of(op, x_in);
  if (smooth_in) {
    require_dtype(op, smooth_in, DType::F32, "smooth");
    if (smooth_in->ndim() != 1 || smooth_in->shape[0] != r.k)
      throw bad_shape(op, "smooth must be [" + str(r.k) + "] (one scale per input channel), got " +
                              shape_str(smooth_in->shape));
  }
  const TensorPtr x = contiguous(x_in), smooth = smooth_in ? contiguous(smooth_in) : nullptr;
  Backend& be = backend_for(x->device());
  Shape q_shape = x->shape;
  if (bits == 4) q_shape.back() = (r.k + 1) / 2;
  TensorPtr q = empty(be, bits == 4 ? DType::U8 : DType::I8, q_shape);
  TensorPtr scale = empty(be, DType::F32, r.lead.empty() ? Shape{1} : r.lead);
  kernels::TokenQuantArgs a;
  a.x_dtype = kd(x->dtype);
  a.x = x->data();
  a.rows = r.m;
  a.cols = r.k;
  a.smooth = smooth ? static_cast<const float*>(smooth->data()) : nullptr;
  a.bits = bits;
  a.q = q->data();
  a.scale = static_cast<float*>(scale->data());
  submit(be, storages({&x, &smooth}), storages({&q, &scale}), [=](Backend& b) { b.quantize_tokens(a); });
  return {q, scale};
}

TensorPtr qlinear_int(const TensorPtr& xq_in, const TensorPtr& sx_in, const TensorPtr& wq_in, const TensorPtr& sw_in,
                      int bits, int64_t k, const QLinearOptions& o) {
  const char* op = "quantizedLinear";
  require_same_device(op, {&xq_in, &sx_in, &wq_in, &sw_in, &o.bias});
  if (bits != 8 && bits != 4) throw invalid(op, "integer GEMMs take 8-bit (also 6-bit) or 4-bit codes, got " + str(bits));
  // Codes per stored element: 4-bit rows hold ceil(k / 2) bytes.
  const DType code_dtype = bits == 4 ? DType::U8 : DType::I8;
  const int64_t stored = bits == 4 ? (k + 1) / 2 : k;
  require_dtype(op, xq_in, code_dtype, "the activation codes");
  require_dtype(op, wq_in, code_dtype, "the weight codes");
  Rows r = rows_of(op, xq_in);
  const std::string rows = " (" + str(bits) + "-bit codes: rows of " + str(stored) + (bits == 4 ? " bytes)" : ")");
  if (k <= 0 || r.k != stored)
    throw bad_shape(op, "x's codes are " + shape_str(xq_in->shape) + " but the weight's k is " + str(k) + rows);
  r.k = k;
  if (wq_in->ndim() != 2 || wq_in->shape[1] != stored)
    throw bad_shape(op, "the weight's codes are " + shape_str(wq_in->shape) + " for k = " + str(k) + rows);
  const int64_t n = wq_in->shape[0];
  require_numel(op, sx_in, "the activation scales", DType::F32, r.m);
  require_dtype(op, sw_in, DType::F32, "the weight scales");
  if (sw_in->numel() != n && sw_in->numel() != 1)
    throw bad_shape(op, "the weight scales must be [" + str(n) + "] (per channel) or [1], got " +
                            shape_str(sw_in->shape));
  const TensorPtr xq = contiguous(xq_in), sx = contiguous(sx_in), wq = contiguous(wq_in), sw = contiguous(sw_in);
  Backend& be = backend_for(xq->device());
  Epilogue e = epilogue(op, be, r, n, o, true);
  kernels::IntGemmArgs a;
  a.m = r.m;
  a.n = n;
  a.k = r.k;
  a.bits = bits;
  a.xq = static_cast<const int8_t*>(xq->data());
  a.sx = static_cast<const float*>(sx->data());
  a.wq = static_cast<const int8_t*>(wq->data());
  a.sw = static_cast<const float*>(sw->data());
  a.sw_stride = sw->numel() == n && n > 1 ? 1 : 0;
  a.ep = e.ep;
  submit(be, storages({&xq, &sx, &wq, &sw, &e.bias}), {e.y->storage}, [=](Backend& b) { b.qgemm_int(a); });
  return e.y;
}

TensorPtr qlinear_w4(const TensorPtr& x_in, const W4Weight& w, const QLinearOptions& o) {
  const char* op = "quantizedLinear";
  require_same_device(op, {&x_in, &w.q, &w.scale, &w.zero, &w.absmax2, &w.offset, &o.bias});
  if (x_in->dtype != DType::F16 && x_in->dtype != DType::BF16)
    throw GermError(ErrorCode::Dtype, std::string(op) + ": a 4-bit weight-only GEMM takes f16 or bf16 activations, got " +
                                          dtype_name(x_in->dtype) + " (cast x first)");
  const Rows r = rows_of(op, x_in);
  check_weight_shape(op, w.shape, r.k);
  const int64_t n = w.shape[0], k = r.k;
  if (k % 2 != 0) throw bad_shape(op, "4-bit weights need an even k (two codes per byte), got " + str(k));
  kernels::W4Args a;
  a.m = r.m;
  a.n = n;
  a.k = k;
  a.codes = w.codes;
  if (w.codes == kernels::W4Codes::Nf4) {
    if (w.group <= 0 || k % w.group != 0)
      throw bad_shape(op, "an NF4 weight in a GEMM needs blocks within rows: blockSize " + str(w.group) +
                              " must divide k = " + str(k));
    const int64_t nblocks = n * (k / w.group);
    require_numel(op, w.q, "codes", DType::U8, n * k / 2);
    const bool dq = static_cast<bool>(w.absmax2);
    if (dq != static_cast<bool>(w.offset)) throw invalid(op, "double quantization needs both absmax2 and offset");
    require_numel(op, w.scale, "absmax", dq ? DType::U8 : DType::F32, nblocks);
    if (dq) {
      require_numel(op, w.absmax2, "absmax2", DType::F32,
                    (nblocks + kernels::kDoubleQuantBlock - 1) / kernels::kDoubleQuantBlock);
      require_numel(op, w.offset, "offset", DType::F32, 1);
    }
    a.group = w.group;
    a.s_ld = k / w.group;
  } else {
    require_numel(op, w.q, "q", DType::U8, n * (k / 2));
    int64_t scales = n;
    switch (w.granularity) {
      case QuantGranularity::Tensor: a.group = k; a.s_ld = 0; scales = 1; break;
      case QuantGranularity::Channel: case QuantGranularity::Token: a.group = k; a.s_ld = 1; break;
      case QuantGranularity::Group:
        if (w.group <= 0 || k % w.group != 0 || w.group % 2 != 0)
          throw bad_shape(op, "groupSize " + str(w.group) + " must be even and divide k = " + str(k));
        a.group = w.group;
        a.s_ld = k / w.group;
        scales = n * a.s_ld;
        break;
    }
    require_numel(op, w.scale, "scale", DType::F32, scales);
    if (w.zero) require_numel(op, w.zero, "zero", DType::F32, scales);
    a.codes = w.zero ? kernels::W4Codes::Int4Asym : kernels::W4Codes::Int4Sym;
  }
  const TensorPtr x = contiguous(x_in), q = contiguous(w.q), scale = contiguous(w.scale);
  const TensorPtr zero = w.zero ? contiguous(w.zero) : nullptr, absmax2 = w.absmax2 ? contiguous(w.absmax2) : nullptr;
  const TensorPtr offset = w.offset ? contiguous(w.offset) : nullptr;
  Backend& be = backend_for(x->device());
  Epilogue e = epilogue(op, be, r, n, o, false);
  a.x_dtype = kd(x->dtype);
  a.x = x->data();
  a.wq = static_cast<const uint8_t*>(q->data());
  const bool dq = w.codes == kernels::W4Codes::Nf4 && absmax2;
  a.scale = dq ? nullptr : static_cast<const float*>(scale->data());
  a.qabsmax = dq ? static_cast<const uint8_t*>(scale->data()) : nullptr;
  a.zero = zero ? static_cast<const float*>(zero->data()) : nullptr;
  a.absmax2 = absmax2 ? static_cast<const float*>(absmax2->data()) : nullptr;
  a.offset = offset ? static_cast<const float*>(offset->data()) : nullptr;
  a.ep = e.ep;
  submit(be, storages({&x, &q, &scale, &zero, &absmax2, &offset, &e.bias}), {e.y->storage},
         [=](Backend& b) { b.qgemm_w4(a); });
  return e.y;
}

}  // namespace germ::ops
