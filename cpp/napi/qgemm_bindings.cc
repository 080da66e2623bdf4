// Bindings of the quantized GEMMs (types: types/native.d.ts): option objects
// parsed into the op layer's structs; nothing here computes.
#include "../ops/ops.h"
#include "args.h"
#include "bindings.h"
#include "js_errors.h"
#include "quant_args.h"
#include "tensor_object.h"

namespace germ::napi {

namespace {

using Info = const Napi::CallbackInfo&;

// {bias?, gelu?, outDtype}
ops::QLinearOptions linear_options(Napi::Env env, const Napi::Value& v) {
  const Napi::Object o = arg_object(v, "quantizedLinear: options");
  ops::QLinearOptions r;
  r.bias = optional_tensor(env, o.Get("bias"), "bias");
  if (arg_present(o, "gelu")) r.gelu = arg_bool(o.Get("gelu"), "gelu");
  r.out_dtype = arg_dtype(o.Get("outDtype"));
  return r;
}

// quantizeTokens(x, smooth | null, bits) -> [q, scale]
Napi::Value quantize_tokens(Info info) {
  Napi::Env env = info.Env();
  TensorPtr x = TensorObject::unwrap(env, info[0], "x");
  TensorPtr smooth = optional_tensor(env, info[1], "smooth");
  return guarded(env, [&] {
    const auto r = ops::quantize_tokens(x, smooth, static_cast<int>(arg_number(info[2], "bits")));
    Napi::Array a = Napi::Array::New(env, 2);
    a.Set(0u, TensorObject::wrap(env, r[0]));
    a.Set(1u, TensorObject::wrap(env, r[1]));
    return Napi::Value(a);
  });
}

// qlinearInt(xq, sx, wq, sw, bits, k, {bias, gelu, outDtype})
Napi::Value qlinear_int(Info info) {
  Napi::Env env = info.Env();
  TensorPtr xq = TensorObject::unwrap(env, info[0], "xq"), sx = TensorObject::unwrap(env, info[1], "sx");
  TensorPtr wq = TensorObject::unwrap(env, info[2], "wq"), sw = TensorObject::unwrap(env, info[3], "sw");
  return guarded(env, [&] {
    return TensorObject::wrap(env, ops::qlinear_int(xq, sx, wq, sw, static_cast<int>(arg_number(info[4], "bits")),
                                                    static_cast<int64_t>(arg_number(info[5], "k")),
                                                    linear_options(env, info[6])));
  });
}

// qlinearW4(x, {format: 'int4' | 'nf4', q, scale, zero?, absmax2?, offset?, granularity?, groupSize, shape},
//           {bias, gelu, outDtype})
Napi::Value qlinear_w4(Info info) {
  Napi::Env env = info.Env();
  TensorPtr x = TensorObject::unwrap(env, info[0], "x");
  return guarded(env, [&] {
    const Napi::Object o = arg_object(info[1], "quantizedLinear: the weight");
    ops::W4Weight w;
    const std::string format = arg_string(o.Get("format"), "format");
    if (format == "nf4") w.codes = kernels::W4Codes::Nf4;
    else if (format != "int4")
      throw GermError(ErrorCode::InvalidArgument, "quantizedLinear: format must be 'int4' or 'nf4', got '" + format + "'");
    w.q = TensorObject::unwrap(env, o.Get("q"), "q");
    w.scale = TensorObject::unwrap(env, o.Get("scale"), "scale");
    w.zero = optional_tensor(env, o.Get("zero"), "zero");
    w.absmax2 = optional_tensor(env, o.Get("absmax2"), "absmax2");
    w.offset = optional_tensor(env, o.Get("offset"), "offset");
    if (arg_present(o, "granularity")) w.granularity = arg_granularity(o.Get("granularity"));
    w.group = static_cast<int64_t>(arg_number(o.Get("groupSize"), "groupSize"));
    w.shape = arg_shape(o.Get("shape"), "shape");
    return TensorObject::wrap(env, ops::qlinear_w4(x, w, linear_options(env, info[2])));
  });
}

}  // namespace

void register_qgemm_bindings(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Value (*)(Info)> fns[] = {
      {"quantizeTokens", quantize_tokens}, {"qlinearInt", qlinear_int}, {"qlinearW4", qlinear_w4}};
  for (const auto& [name, fn] : fns) exports.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace germ::napi
