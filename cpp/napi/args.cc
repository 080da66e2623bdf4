#include "args.h"
#include <cmath>
#include <utility>

namespace germ::napi {

namespace {
[[noreturn]] void bad(const std::string& msg) { throw GermError(ErrorCode::InvalidArgument, msg); }

bool is_index(double d) { return std::isfinite(d) && d >= 0 && d == std::floor(d) && d <= 9007199254740991.0; }

template <class Op, size_t N>
Op lookup(const std::pair<const char*, Op> (&table)[N], const std::string& name, const char* kind) {
  for (const auto& [n, op] : table)
    if (name == n) return op;
  bad(std::string("unknown ") + kind + " op '" + name + "'");
}
}  // namespace

namespace {
// Non-negative integers below 2^53, at most 16 of them; a shape (not strides)
// must also hold at most 9e15 elements.
Shape arg_dims(const Napi::Value& v, const char* what, bool is_shape) {
  if (!v.IsArray()) bad(std::string(what) + " must be an array of non-negative integers");
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > 16) throw GermError(ErrorCode::Shape, std::string(what) + " has more than 16 dims");
  Shape s;
  double numel = 1;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value d = a.Get(i);
    if (!d.IsNumber() || !is_index(d.As<Napi::Number>().DoubleValue()))
      throw GermError(ErrorCode::Shape, std::string(what) + "[" + std::to_string(i) + "] is not a non-negative integer");
    s.push_back(static_cast<int64_t>(d.As<Napi::Number>().DoubleValue()));
    numel *= static_cast<double>(s.back());
  }
  if (is_shape && numel > 9.0e15) throw GermError(ErrorCode::Shape, std::string(what) + " " + shape_str(s) + " is too large");
  return s;
}
}  // namespace

Shape arg_shape(const Napi::Value& v, const char* what) { return arg_dims(v, what, true); }
Shape arg_strides(const Napi::Value& v, const char* what) { return arg_dims(v, what, false); }

DType arg_dtype(const Napi::Value& v) {
  if (!v.IsString()) throw GermError(ErrorCode::Dtype, "dtype must be a string such as 'f32'");
  return parse_dtype(v.As<Napi::String>().Utf8Value());
}

Device arg_device(const Napi::Value& v) {
  if (!v.IsString()) throw GermError(ErrorCode::Device, "device must be a string such as 'cpu' or 'cuda:0'");
  return parse_device(v.As<Napi::String>().Utf8Value());
}

double arg_number(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) bad(std::string(what) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

HostBytes host_bytes(const Napi::Value& v, const char* what) {
  Napi::ArrayBuffer buf;
  size_t offset = 0, length = 0;
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    buf = ta.ArrayBuffer();
    offset = ta.ByteOffset();
    length = ta.ByteLength();
  } else if (v.IsDataView()) {
    auto dv = v.As<Napi::DataView>();
    buf = dv.ArrayBuffer();
    offset = dv.ByteOffset();
    length = dv.ByteLength();
  } else {
    bad(std::string(what) + " must be a typed array");
  }
  if (buf.IsDetached()) bad(std::string(what) + ": its ArrayBuffer is detached (transferred)");
  if (offset > buf.ByteLength() || length > buf.ByteLength() - offset)
    bad(std::string(what) + ": its view reaches outside its ArrayBuffer");
  HostBytes h;
  h.data = static_cast<const char*>(buf.Data()) + offset;
  h.length = length;
  return h;
}

Napi::Object arg_object(const Napi::Value& v, const std::string& what) {
  if (!v.IsObject()) bad(what + " must be an object");
  return v.As<Napi::Object>();
}

bool arg_present(const Napi::Object& o, const char* key) {
  return o.Has(key) && !o.Get(key).IsUndefined() && !o.Get(key).IsNull();
}

bool arg_bool(const Napi::Value& v, const char* what) {
  if (v.IsUndefined()) return false;
  if (!v.IsBoolean()) bad(std::string(what) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string arg_string(const Napi::Value& v, const char* what) {
  if (!v.IsString()) bad(std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::vector<int32_t> arg_int32s(const Napi::Value& v, const char* what) {
  std::vector<int32_t> out;
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    out.assign(a.Data(), a.Data() + a.ElementLength());
    return out;
  }
  if (!v.IsArray()) bad(std::string(what) + " must be an Int32Array or an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    const double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : NAN;
    if (!(d == std::floor(d) && std::fabs(d) <= 2147483647.0)) bad(std::string(what) + " must hold 32-bit integers");
    out.push_back(static_cast<int32_t>(d));
  }
  return out;
}

std::optional<int64_t> arg_optional_int(const Napi::Value& v, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  const double d = arg_number(v, what);
  if (!std::isfinite(d) || d != std::floor(d)) bad(std::string(what) + " must be an integer");
  return static_cast<int64_t>(d);
}

kernels::UnaryOp unary_op(const std::string& name) {
  using U = kernels::UnaryOp;
  static const std::pair<const char*, U> table[] = {
      {"identity", U::Identity}, {"affine", U::Affine},     {"neg", U::Neg},           {"abs", U::Abs},
      {"exp", U::Exp},           {"log", U::Log},           {"sqrt", U::Sqrt},         {"rsqrt", U::Rsqrt},
      {"reciprocal", U::Recip},  {"square", U::Square},     {"tanh", U::Tanh},         {"sigmoid", U::Sigmoid},
      {"relu", U::Relu},         {"silu", U::Silu},         {"gelu", U::Gelu},         {"geluTanh", U::GeluTanh},
      {"powScalar", U::PowScalar}, {"clamp", U::ClampScalar}};
  return lookup(table, name, "unary");
}

kernels::BinaryOp binary_op(const std::string& name) {
  using B = kernels::BinaryOp;
  static const std::pair<const char*, B> table[] = {{"add", B::Add},         {"sub", B::Sub},
                                                    {"mul", B::Mul},         {"div", B::Div},
                                                    {"maximum", B::Maximum}, {"minimum", B::Minimum},
                                                    {"pow", B::Pow}};
  return lookup(table, name, "binary");
}

kernels::ReduceOp reduce_op(const std::string& name) {
  using R = kernels::ReduceOp;
  static const std::pair<const char*, R> table[] = {{"sum", R::Sum}, {"mean", R::Mean}, {"max", R::Max}, {"min", R::Min}};
  return lookup(table, name, "reduce");
}

}  // namespace germ::napi
