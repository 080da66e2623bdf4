// The quantization functions of the addon (types: types/native.d.ts):
// option objects parsed into the op layer's structs; nothing here computes.
#include "../ops/ops.h"
#include "args.h"
#include "bindings.h"
#include "js_errors.h"
#include "quant_args.h"
#include "tensor_object.h"

namespace germ::napi {

TensorPtr optional_tensor(Napi::Env env, const Napi::Value& v, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  return TensorObject::unwrap(env, v, what);
}

ops::QuantGranularity arg_granularity(const Napi::Value& v) {
  const std::string g = arg_string(v, "granularity");
  if (g == "tensor") return ops::QuantGranularity::Tensor;
  if (g == "channel") return ops::QuantGranularity::Channel;
  if (g == "token") return ops::QuantGranularity::Token;
  if (g == "group") return ops::QuantGranularity::Group;
  throw GermError(ErrorCode::InvalidArgument, "granularity must be 'tensor', 'channel', 'token' or 'group', got '" + g + "'");
}

namespace {

using Info = const Napi::CallbackInfo&;

Napi::Value wrap_all(Napi::Env env, const TensorPtr* ts, uint32_t n) {
  Napi::Array a = Napi::Array::New(env, n);
  for (uint32_t i = 0; i < n; ++i) a.Set(i, ts[i] ? TensorObject::wrap(env, ts[i]) : env.Null());
  return a;
}

// {bits, symmetric, granularity, groupSize} shared by quantize and dequantize.
template <class Opts>
void common_options(const Napi::Object& obj, Opts& o) {
  auto has = [&](const char* key) { return arg_present(obj, key); };
  if (has("bits")) o.bits = static_cast<int>(arg_number(obj.Get("bits"), "bits"));
  if (has("symmetric")) o.symmetric = arg_bool(obj.Get("symmetric"), "symmetric");
  if (has("groupSize")) o.group_size = static_cast<int64_t>(arg_number(obj.Get("groupSize"), "groupSize"));
  if (has("granularity")) o.granularity = arg_granularity(obj.Get("granularity"));
}

// quantize(x, {bits, symmetric, granularity, groupSize, clip: number | tensor}) -> [q, scale, zero | null]
Napi::Value quantize(Info info) {
  Napi::Env env = info.Env();
  TensorPtr x = TensorObject::unwrap(env, info[0], "x");
  return guarded(env, [&] {
    const Napi::Object obj = arg_object(info[1], "quantize: options");
    ops::QuantizeOptions o;
    common_options(obj, o);
    const Napi::Value clip = obj.Get("clip");
    if (clip.IsNumber()) o.clip = static_cast<float>(clip.As<Napi::Number>().DoubleValue());
    else o.clip_tensor = optional_tensor(env, clip, "clip");
    const auto r = ops::quantize(x, o);
    return wrap_all(env, r.data(), 3);
  });
}

// dequantize(q, scale, zero | null, {bits, symmetric, granularity, groupSize, shape, dtype})
Napi::Value dequantize(Info info) {
  Napi::Env env = info.Env();
  TensorPtr q = TensorObject::unwrap(env, info[0], "q"), scale = TensorObject::unwrap(env, info[1], "scale");
  TensorPtr zero = optional_tensor(env, info[2], "zero");
  return guarded(env, [&] {
    const Napi::Object obj = arg_object(info[3], "dequantize: options");
    ops::DequantizeOptions o;
    common_options(obj, o);
    o.shape = arg_shape(obj.Get("shape"), "shape");
    o.dtype = arg_dtype(obj.Get("dtype"));
    return TensorObject::wrap(env, ops::dequantize(q, scale, zero, o));
  });
}

// quantizeNf4(x, blockSize, doubleQuant) -> [codes, absmax, absmax2 | null, offset | null]
Napi::Value quantize_nf4(Info info) {
  Napi::Env env = info.Env();
  TensorPtr x = TensorObject::unwrap(env, info[0], "x");
  return guarded(env, [&] {
    const auto r = ops::quantize_nf4(x, static_cast<int64_t>(arg_number(info[1], "blockSize")),
                                     arg_bool(info[2], "doubleQuant"));
    return wrap_all(env, r.data(), 4);
  });
}

// dequantizeNf4(codes, absmax, absmax2 | null, offset | null, blockSize, shape, dtype)
Napi::Value dequantize_nf4(Info info) {
  Napi::Env env = info.Env();
  TensorPtr codes = TensorObject::unwrap(env, info[0], "codes"), absmax = TensorObject::unwrap(env, info[1], "absmax");
  TensorPtr absmax2 = optional_tensor(env, info[2], "absmax2"), offset = optional_tensor(env, info[3], "offset");
  return guarded(env, [&] {
    return TensorObject::wrap(env, ops::dequantize_nf4(codes, absmax, absmax2, offset,
                                                       static_cast<int64_t>(arg_number(info[4], "blockSize")),
                                                       arg_shape(info[5], "shape"), arg_dtype(info[6])));
  });
}

}  // namespace

void register_quant_bindings(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Value (*)(Info)> fns[] = {{"quantize", quantize},
                                                               {"dequantize", dequantize},
                                                               {"quantizeNf4", quantize_nf4},
                                                               {"dequantizeNf4", dequantize_nf4}};
  for (const auto& [name, fn] : fns) exports.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace germ::napi
