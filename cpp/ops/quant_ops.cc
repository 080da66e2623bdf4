// Quantization ops: validation, output allocation and one task each (layouts
// and arithmetic: cuda/quant/quant_math.h). Bad options fail here,
// synchronously, naming the op, the option and the shapes.
#include <cmath>
#include <string>
#include "ops.h"
#include "task.h"

namespace germ::ops {

namespace {

GermError invalid(const char* op, const std::string& what) {
  return GermError(ErrorCode::InvalidArgument, std::string(op) + ": " + what);
}
GermError bad_shape(const char* op, const std::string& what) { return GermError(ErrorCode::Shape, std::string(op) + ": " + what); }

// Where the scales go for a tensor of `shape`, and the shape of its codes.
struct Layout {
  int64_t rows = 0, cols = 0;
  kernels::QuantGrain grain = kernels::QuantGrain::Row;
  int64_t group = 0;
  Shape q_shape, scale_shape;
  int64_t n_scales() const { return shape_numel(scale_shape); }
};

Layout layout(const char* op, const Shape& shape, int bits, QuantGranularity g, int64_t group_size) {
  if (bits != 8 && bits != 6 && bits != 4)
    throw invalid(op, "bits must be 8, 6 or 4, got " + std::to_string(bits));
  if (shape.empty() || shape_numel(shape) == 0)
    throw bad_shape(op, "x must have at least one dim and one element, got " + shape_str(shape));
  Layout l;
  l.cols = shape.back();
  l.rows = shape_numel(shape) / l.cols;
  l.q_shape = shape;
  if (bits == 4) l.q_shape.back() = (l.cols + 1) / 2;
  const Shape lead(shape.begin(), shape.end() - 1);
  switch (g) {
    case QuantGranularity::Tensor:
      l.grain = kernels::QuantGrain::Tensor;
      l.scale_shape = {1};
      break;
    case QuantGranularity::Channel:
      if (shape.size() != 2)
        throw bad_shape(op, "per-channel quantization takes a weight [out, in], got " + shape_str(shape));
      l.scale_shape = {l.rows};
      break;
    case QuantGranularity::Token:
      l.scale_shape = lead.empty() ? Shape{1} : lead;
      break;
    case QuantGranularity::Group:
      if (group_size <= 0) throw invalid(op, "groupSize must be positive, got " + std::to_string(group_size));
      if (l.cols % group_size != 0)
        throw bad_shape(op, "groupSize " + std::to_string(group_size) + " does not divide the last dim of " +
                                shape_str(shape));
      if (bits == 4 && group_size % 2 != 0)
        throw invalid(op, "4-bit groups pack two codes per byte, so groupSize must be even, got " +
                              std::to_string(group_size));
      l.grain = kernels::QuantGrain::Group;
      l.group = group_size;
      l.scale_shape = lead;
      l.scale_shape.push_back(l.cols / group_size);
      break;
  }
  return l;
}

// The layout fields QuantArgs and DequantArgs share.
template <class Args>
void set_layout(Args& a, const Layout& l, int bits, bool symmetric) {
  a.rows = l.rows;
  a.cols = l.cols;
  a.bits = bits;
  a.symmetric = symmetric;
  a.grain = l.grain;
  a.group = l.group;
}

DType code_dtype(int bits, bool symmetric) { return symmetric && bits != 4 ? DType::I8 : DType::U8; }

void require_numel(const char* op, const TensorPtr& t, const char* what, DType dtype, const Shape& want) {
  require_dtype(op, t, dtype, what);
  if (shape_numel(t->shape) != shape_numel(want))
    throw bad_shape(op, std::string(what) + " must be " + shape_str(want) + ", got " + shape_str(t->shape));
}

}  // namespace

std::array<TensorPtr, 3> quantize(const TensorPtr& x_in, const QuantizeOptions& o) {
  const char* op = "quantize";
  require_same_device(op, {&x_in, &o.clip_tensor});
  require_float(op, x_in);
  const Layout l = layout(op, x_in->shape, o.bits, o.granularity, o.group_size);
  if (!(o.clip > 0.f && o.clip <= 1.f)) throw invalid(op, "clip must be in (0, 1], got " + std::to_string(o.clip));
  if (o.clip_tensor) require_numel(op, o.clip_tensor, "clip", DType::F32, l.scale_shape);
  const TensorPtr x = contiguous(x_in), clip = o.clip_tensor ? contiguous(o.clip_tensor) : nullptr;
  Backend& be = backend_for(x->device());
  TensorPtr q = empty(be, code_dtype(o.bits, o.symmetric), l.q_shape);
  TensorPtr scale = empty(be, DType::F32, l.scale_shape);
  TensorPtr zero = o.symmetric ? nullptr : empty(be, DType::F32, l.scale_shape);
  kernels::QuantArgs a;
  a.x_dtype = kd(x->dtype);
  a.x = x->data();
  set_layout(a, l, o.bits, o.symmetric);
  a.clip = clip ? static_cast<const float*>(clip->data()) : nullptr;
  a.clip_scalar = o.clip;
  a.q = q->data();
  a.scale = static_cast<float*>(scale->data());
  a.zero = zero ? static_cast<float*>(zero->data()) : nullptr;
  submit(be, storages({&x, &clip}), storages({&q, &scale, &zero}), [=](Backend& b) { b.quantize(a); });
  return {q, scale, zero};
}

TensorPtr dequantize(const TensorPtr& q_in, const TensorPtr& scale_in, const TensorPtr& zero_in,
                     const DequantizeOptions& o) {
  const char* op = "dequantize";
  require_same_device(op, {&q_in, &scale_in, &zero_in});
  const Layout l = layout(op, o.shape, o.bits, o.granularity, o.group_size);
  if (!dtype_is_float(o.dtype)) throw GermError(ErrorCode::Dtype, "dequantize: dtype must be f32, f16 or bf16");
  require_dtype(op, q_in, code_dtype(o.bits, o.symmetric), "q");
  if (q_in->shape != l.q_shape)
    throw bad_shape(op, "q must be " + shape_str(l.q_shape) + " for shape " + shape_str(o.shape) + ", got " +
                            shape_str(q_in->shape));
  require_numel(op, scale_in, "scale", DType::F32, l.scale_shape);
  if (o.symmetric != !zero_in)
    throw invalid(op, o.symmetric ? "a symmetric quantization has no zero point" : "asymmetric needs the zero points");
  if (zero_in) require_numel(op, zero_in, "zero", DType::F32, l.scale_shape);
  const TensorPtr q = contiguous(q_in), scale = contiguous(scale_in), zero = zero_in ? contiguous(zero_in) : nullptr;
  Backend& be = backend_for(q->device());
  TensorPtr out = empty(be, o.dtype, o.shape);
  kernels::DequantArgs a;
  a.out_dtype = kd(o.dtype);
  a.out = out->data();
  a.q = q->data();
  a.scale = static_cast<const float*>(scale->data());
  a.zero = zero ? static_cast<const float*>(zero->data()) : nullptr;
  set_layout(a, l, o.bits, o.symmetric);
  submit(be, storages({&q, &scale, &zero}), {out->storage}, [=](Backend& b) { b.dequantize(a); });
  return out;
}

namespace {

void check_block(const char* op, int64_t block) {
  if (block <= 0 || block % 2 != 0)
    throw invalid(op, "blockSize must be a positive even number (QLoRA uses 64), got " + std::to_string(block));
}

}  // namespace

std::array<TensorPtr, 4> quantize_nf4(const TensorPtr& x_in, int64_t block, bool double_quant) {
  const char* op = "quantizeNf4";
  require_float(op, x_in);
  check_block(op, block);
  const int64_t n = x_in->numel();
  if (n == 0) throw bad_shape(op, "x must not be empty, got " + shape_str(x_in->shape));
  const int64_t nblocks = (n + block - 1) / block;
  const TensorPtr x = contiguous(x_in);
  Backend& be = backend_for(x->device());
  TensorPtr codes = empty(be, DType::U8, {(n + 1) / 2});
  TensorPtr absmax = empty(be, DType::F32, {nblocks});  // the result, or scratch under double quant
  TensorPtr qabsmax, absmax2, offset;
  if (double_quant) {
    qabsmax = empty(be, DType::U8, {nblocks});
    absmax2 = empty(be, DType::F32, {(nblocks + kernels::kDoubleQuantBlock - 1) / kernels::kDoubleQuantBlock});
    offset = empty(be, DType::F32, {1});
  }
  kernels::Nf4Args a;
  a.dtype = kd(x->dtype);
  a.x = x->data();
  a.n = n;
  a.block = block;
  a.codes = static_cast<uint8_t*>(codes->data());
  a.absmax = static_cast<float*>(absmax->data());
  if (double_quant) {
    a.qabsmax = static_cast<uint8_t*>(qabsmax->data());
    a.absmax2 = static_cast<float*>(absmax2->data());
    a.offset = static_cast<float*>(offset->data());
  }
  submit(be, storages({&x}), storages({&codes, &absmax, &qabsmax, &absmax2, &offset}),
         [=](Backend& b) { b.nf4_quantize(a); });
  if (double_quant) return {codes, qabsmax, absmax2, offset};
  return {codes, absmax, nullptr, nullptr};
}

TensorPtr dequantize_nf4(const TensorPtr& codes_in, const TensorPtr& absmax_in, const TensorPtr& absmax2_in,
                         const TensorPtr& offset_in, int64_t block, const Shape& shape, DType dtype) {
  const char* op = "dequantizeNf4";
  require_same_device(op, {&codes_in, &absmax_in, &absmax2_in, &offset_in});
  check_block(op, block);
  if (!dtype_is_float(dtype)) throw GermError(ErrorCode::Dtype, "dequantizeNf4: dtype must be f32, f16 or bf16");
  for (int64_t d : shape)
    if (d < 0) throw bad_shape(op, "negative dimension in shape " + shape_str(shape));
  const int64_t n = shape_numel(shape), nblocks = (n + block - 1) / block;
  const bool dq = static_cast<bool>(absmax2_in);
  if (dq != static_cast<bool>(offset_in)) throw invalid(op, "double quantization needs both absmax2 and offset");
  require_numel(op, codes_in, "codes", DType::U8, {(n + 1) / 2});
  require_numel(op, absmax_in, "absmax", dq ? DType::U8 : DType::F32, {nblocks});
  if (dq) {
    require_numel(op, absmax2_in, "absmax2", DType::F32,
                  {(nblocks + kernels::kDoubleQuantBlock - 1) / kernels::kDoubleQuantBlock});
    require_numel(op, offset_in, "offset", DType::F32, {1});
  }
  const TensorPtr codes = contiguous(codes_in), absmax = contiguous(absmax_in);
  const TensorPtr absmax2 = dq ? contiguous(absmax2_in) : nullptr, offset = dq ? contiguous(offset_in) : nullptr;
  Backend& be = backend_for(codes->device());
  TensorPtr out = empty(be, dtype, shape);
  kernels::Nf4Args a;
  a.dtype = kd(dtype);
  a.out = out->data();
  a.n = n;
  a.block = block;
  a.codes = static_cast<uint8_t*>(codes->data());
  if (dq) {
    a.qabsmax = static_cast<uint8_t*>(absmax->data());
    a.absmax2 = static_cast<float*>(absmax2->data());
    a.offset = static_cast<float*>(offset->data());
  } else {
    a.absmax = static_cast<float*>(absmax->data());
  }
  submit(be, storages({&codes, &absmax, &absmax2, &offset}), {out->storage}, [=](Backend& b) { b.nf4_dequantize(a); });
  return out;
}

}  // namespace germ::ops
