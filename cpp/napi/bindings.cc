// The functions the addon exports (their types: types/native.d.ts). Each one
// parses its arguments, calls the op layer, and wraps the result; nothing
// here computes.
#include "bindings.h"
#include <algorithm>
#include <cmath>
#include <thread>
#include "../core/backend.h"
#include "../cpu/thread_pool.h"
#include "../ops/ops.h"
#include "addon_state.h"
#include "args.h"
#include "js_errors.h"
#include "tensor_object.h"

namespace germ::napi {

namespace {

using Info = const Napi::CallbackInfo&;

TensorPtr tensor_arg(Info info, size_t i, const char* what) { return TensorObject::unwrap(info.Env(), info[i], what); }

TensorPtr optional_tensor_arg(Info info, size_t i, const char* what) {
  if (info[i].IsUndefined() || info[i].IsNull()) return nullptr;
  return tensor_arg(info, i, what);
}

Napi::Value wrap3(Napi::Env env, const std::array<TensorPtr, 3>& ts) {
  Napi::Array a = Napi::Array::New(env, 3);
  for (uint32_t i = 0; i < 3; ++i) a.Set(i, TensorObject::wrap(env, ts[i]));
  return a;
}

// Every argument is parsed (running whatever JS the conversions run: a getter
// on `shape` may detach or shrink the buffer and trigger a GC) before the
// buffer's pointer and length are read; after that nothing runs JS until the
// bytes are copied. Bindings that take host buffers keep this order.
Napi::Value from_host(Info info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    if (!info[0].IsTypedArray() && !info[0].IsDataView())
      throw GermError(ErrorCode::InvalidArgument, "data must be a typed array");
    const Shape shape = arg_shape(info[1], "shape");
    const DType dtype = arg_dtype(info[2]);
    const Device device = arg_device(info[3]);
    const HostBytes host = host_bytes(info[0], "data");
    return TensorObject::wrap(env, ops::from_host(host.data, host.length, dtype, shape, device));
  });
}

Napi::Value full(Info info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    return TensorObject::wrap(env, ops::full(arg_shape(info[0], "shape"), arg_dtype(info[1]), arg_device(info[2]),
                                             arg_number(info[3], "value")));
  });
}

Napi::Value view(Info info) {
  Napi::Env env = info.Env();
  TensorPtr t = tensor_arg(info, 0, "tensor");
  return guarded(env, [&] {
    const Shape shape = arg_shape(info[1], "shape"), strides = arg_strides(info[2], "strides");
    const double off = arg_number(info[3], "offset");
    // Casting NaN, a fraction or 1e300 to int64 is undefined; 2^53 bounds every JS index.
    if (!(off >= 0 && off <= 9007199254740991.0 && off == std::floor(off)))
      throw GermError(ErrorCode::InvalidArgument, "view: offset must be a non-negative integer");
    return TensorObject::wrap(env, ops::view(t, shape, strides, static_cast<int64_t>(off)));
  });
}

Napi::Value contiguous(Info info) {
  TensorPtr t = tensor_arg(info, 0, "tensor");
  return guarded(info.Env(), [&] { return TensorObject::wrap(info.Env(), ops::contiguous(t)); });
}

Napi::Value cast(Info info) {
  TensorPtr t = tensor_arg(info, 0, "tensor");
  return guarded(info.Env(), [&] { return TensorObject::wrap(info.Env(), ops::cast(t, arg_dtype(info[1]))); });
}

Napi::Value to_device(Info info) {
  TensorPtr t = tensor_arg(info, 0, "tensor");
  return guarded(info.Env(), [&] { return TensorObject::wrap(info.Env(), ops::to_device(t, arg_device(info[1]))); });
}

Napi::Value unary(Info info) {
  TensorPtr x = tensor_arg(info, 1, "x");
  return guarded(info.Env(), [&] {
    const auto op = unary_op(arg_string(info[0], "op"));
    const float alpha = info[2].IsUndefined() ? 0.f : static_cast<float>(arg_number(info[2], "alpha"));
    const float beta = info[3].IsUndefined() ? 0.f : static_cast<float>(arg_number(info[3], "beta"));
    return TensorObject::wrap(info.Env(), ops::unary(op, x, alpha, beta));
  });
}

Napi::Value binary(Info info) {
  TensorPtr a = tensor_arg(info, 1, "a"), b = tensor_arg(info, 2, "b");
  return guarded(info.Env(), [&] {
    return TensorObject::wrap(info.Env(), ops::binary(binary_op(arg_string(info[0], "op")), a, b));
  });
}

Napi::Value reduce(Info info) {
  TensorPtr x = tensor_arg(info, 1, "x");
  return guarded(info.Env(), [&] {
    return TensorObject::wrap(info.Env(), ops::reduce(reduce_op(arg_string(info[0], "op")), x,
                                                      arg_optional_int(info[2], "axis"), arg_bool(info[3], "keepdim")));
  });
}

Napi::Value matmul(Info info) {
  TensorPtr a = tensor_arg(info, 0, "a"), b = tensor_arg(info, 1, "b");
  TensorPtr bias = optional_tensor_arg(info, 2, "bias");
  return guarded(info.Env(), [&] {
    ops::MatmulOptions o;
    o.trans_a = arg_bool(info[3], "transA");
    o.trans_b = arg_bool(info[4], "transB");
    o.alpha = info[5].IsUndefined() ? 1.f : static_cast<float>(arg_number(info[5], "alpha"));
    return TensorObject::wrap(info.Env(), ops::matmul(a, b, bias, o));
  });
}

// --- in-place GEMM and row concatenation (LoRA's building blocks)
Napi::Value matmul_into(Info info) {
  TensorPtr c = tensor_arg(info, 0, "out"), a = tensor_arg(info, 1, "a"), b = tensor_arg(info, 2, "b");
  guarded(info.Env(), [&] {
    ops::MatmulIntoOptions o;
    o.trans_a = arg_bool(info[3], "transA");
    o.trans_b = arg_bool(info[4], "transB");
    o.alpha = static_cast<float>(arg_number(info[5], "alpha"));
    o.beta = static_cast<float>(arg_number(info[6], "beta"));
    ops::matmul_into(c, a, b, o);
    return 0;
  });
  return info.Env().Undefined();
}

Napi::Value lora_merge(Info info) {
  TensorPtr w = tensor_arg(info, 0, "weight"), a = tensor_arg(info, 1, "A"), b = tensor_arg(info, 2, "B");
  guarded(info.Env(), [&] {
    ops::lora_merge(w, a, b, static_cast<float>(arg_number(info[3], "scale")));
    return 0;
  });
  return info.Env().Undefined();
}

Napi::Value cat_rows(Info info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray())
    throw Napi::Error(env, make_js_error(env, GermError(ErrorCode::InvalidArgument, "catRows: expects an array")));
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<TensorPtr> parts;
  for (uint32_t i = 0; i < arr.Length(); ++i) parts.push_back(TensorObject::unwrap(env, arr.Get(i), "tensor"));
  return guarded(env, [&] { return TensorObject::wrap(env, ops::concat_rows(parts)); });
}

Napi::Value layer_norm(Info info) {
  TensorPtr x = tensor_arg(info, 0, "x"), w = tensor_arg(info, 1, "weight"), b = tensor_arg(info, 2, "bias");
  return guarded(info.Env(), [&] {
    return wrap3(info.Env(), ops::layernorm_forward(x, nullptr, w, b, static_cast<float>(arg_number(info[3], "eps"))));
  });
}

Napi::Value add_layer_norm(Info info) {
  TensorPtr x = tensor_arg(info, 0, "x"), r = tensor_arg(info, 1, "residual");
  TensorPtr w = tensor_arg(info, 2, "weight"), b = tensor_arg(info, 3, "bias");
  return guarded(info.Env(), [&] {
    // A 6th argument `false` (inference): no saved statistics, the output alone.
    const bool stats = info.Length() < 6 || info[5].IsUndefined() || info[5].ToBoolean().Value();
    auto res = ops::layernorm_forward(x, r, w, b, static_cast<float>(arg_number(info[4], "eps")), stats);
    return stats ? wrap3(info.Env(), res) : Napi::Value(TensorObject::wrap(info.Env(), res[0]));
  });
}

// ids: a NativeTensor (i32, on the table's device), or host ids (Int32Array
// or number[]) that the op checks before uploading them.
Napi::Value embedding(Info info) {
  TensorPtr table = tensor_arg(info, 0, "table");
  const bool host = info[1].IsTypedArray() || info[1].IsArray();
  TensorPtr ids = host ? nullptr : tensor_arg(info, 1, "ids");
  return guarded(info.Env(), [&] {
    return TensorObject::wrap(info.Env(), host ? ops::embedding(table, arg_int32s(info[1], "ids"))
                                               : ops::embedding(table, ids));
  });
}

Napi::Value geglu(Info info) {
  TensorPtr x = tensor_arg(info, 0, "x"), bias = optional_tensor_arg(info, 1, "bias");
  return guarded(info.Env(), [&] { return TensorObject::wrap(info.Env(), ops::geglu(x, bias)); });
}

Napi::Value lora_forward(Info info) {
  TensorPtr x = tensor_arg(info, 0, "x"), stacked = tensor_arg(info, 1, "stacked");
  TensorPtr bias = optional_tensor_arg(info, 2, "bias"), b = tensor_arg(info, 3, "B");
  return guarded(info.Env(), [&] {
    return TensorObject::wrap(info.Env(), ops::lora_forward(x, stacked, bias, b,
                                                            static_cast<int64_t>(arg_number(info[4], "rank")),
                                                            static_cast<float>(arg_number(info[5], "scale"))));
  });
}

// layout: the code packGeglu returned with w, or undefined for a plain w (the
// blocked layout, as linearGeglu has always read it).
Napi::Value linear_geglu(Info info) {
  TensorPtr x = tensor_arg(info, 0, "x"), w = tensor_arg(info, 1, "w");
  return guarded(info.Env(), [&] {
    const double code = info[2].IsUndefined() ? double(ops::GegluLayout::Blocked) : arg_number(info[2], "layout");
    if (code != double(ops::GegluLayout::Halves) && code != double(ops::GegluLayout::Blocked))
      throw GermError(ErrorCode::InvalidArgument, "linearGeglu: unknown weight layout");
    return TensorObject::wrap(info.Env(), ops::linear_geglu_packed(x, w, static_cast<ops::GegluLayout>(code)));
  });
}

// -> [packed weight, layout code]
Napi::Value pack_geglu(Info info) {
  TensorPtr w = tensor_arg(info, 0, "w");
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    const ops::PackedGeglu p = ops::pack_geglu(w);
    Napi::Array a = Napi::Array::New(env, 2);
    a.Set(0u, TensorObject::wrap(env, p.w));
    a.Set(1u, Napi::Number::New(env, static_cast<double>(p.layout)));
    return a;
  });
}

Napi::Value alibi_slopes(Info info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    const std::vector<float> s = ops::alibi_slopes(arg_number(info[0], "heads"));
    Napi::Float32Array a = Napi::Float32Array::New(env, s.size());
    std::copy(s.begin(), s.end(), a.Data());
    return a;
  });
}

Napi::Value layer_norm_backward(Info info) {
  TensorPtr dout = tensor_arg(info, 0, "dout"), x = tensor_arg(info, 1, "x"), w = tensor_arg(info, 2, "weight");
  TensorPtr mean = tensor_arg(info, 3, "mean"), rstd = tensor_arg(info, 4, "rstd");
  return guarded(info.Env(), [&] { return wrap3(info.Env(), ops::layernorm_backward(dout, x, w, mean, rstd)); });
}

// {normalizer, scale, causal, alibi (true, or the slopes' tensor), alibiSymmetric,
//  clipZeta, clipGamma, dropout, seed, cuSeqlens, cuSeqlensK, lengths}. What is
// absent keeps ops::AttentionOptions' default.
ops::AttentionOptions attention_options(Napi::Env env, const Napi::Value& v) {
  ops::AttentionOptions o;
  const Napi::Object obj = arg_object(v, "attention options");
  auto has = [&](const char* key) { return arg_present(obj, key); };
  if (has("normalizer")) {
    const std::string n = arg_string(obj.Get("normalizer"), "normalizer");
    if (n == "softmax") o.normalizer = kernels::AttnNormalizer::Softmax;
    else if (n == "softmax1") o.normalizer = kernels::AttnNormalizer::Softmax1;
    else if (n == "clipped") o.normalizer = kernels::AttnNormalizer::Clipped;
    else throw GermError(ErrorCode::InvalidArgument, "normalizer must be 'softmax1', 'softmax' or 'clipped', got '" + n + "'");
  }
  if (has("scale")) o.scale = static_cast<float>(arg_number(obj.Get("scale"), "scale"));
  o.causal = arg_bool(obj.Get("causal"), "causal");
  if (has("alibi")) {
    const Napi::Value a = obj.Get("alibi");
    if (a.IsBoolean()) o.alibi_default = a.As<Napi::Boolean>().Value();
    else o.alibi_slopes = TensorObject::unwrap(env, a, "alibi");
  }
  if (has("alibiSymmetric")) o.alibi_symmetric = arg_bool(obj.Get("alibiSymmetric"), "alibiSymmetric");
  if (has("clipZeta")) o.clip_zeta = static_cast<float>(arg_number(obj.Get("clipZeta"), "clipZeta"));
  if (has("clipGamma")) o.clip_gamma = static_cast<float>(arg_number(obj.Get("clipGamma"), "clipGamma"));
  if (has("dropout")) o.dropout_p = static_cast<float>(arg_number(obj.Get("dropout"), "dropout"));
  if (has("seed")) o.seed = static_cast<uint64_t>(arg_number(obj.Get("seed"), "seed"));
  if (has("cuSeqlens")) o.cu_seqlens_q = arg_int32s(obj.Get("cuSeqlens"), "cuSeqlens");
  if (has("cuSeqlensK")) o.cu_seqlens_k = arg_int32s(obj.Get("cuSeqlensK"), "cuSeqlensK");
  if (has("lengths")) o.lengths = arg_int32s(obj.Get("lengths"), "lengths");
  return o;
}

Napi::Value attention_forward(Info info) {
  TensorPtr q = tensor_arg(info, 0, "q"), k = tensor_arg(info, 1, "k"), v = tensor_arg(info, 2, "v");
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    const auto r = ops::attention_forward(q, k, v, attention_options(env, info[3]));
    Napi::Array a = Napi::Array::New(env, 2);
    a.Set(0u, TensorObject::wrap(env, r[0]));
    a.Set(1u, TensorObject::wrap(env, r[1]));
    return a;
  });
}

Napi::Value attention_backward(Info info) {
  TensorPtr dout = tensor_arg(info, 0, "dout"), q = tensor_arg(info, 1, "q"), k = tensor_arg(info, 2, "k");
  TensorPtr v = tensor_arg(info, 3, "v"), out = tensor_arg(info, 4, "out"), lse = tensor_arg(info, 5, "lse");
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    return wrap3(env, ops::attention_backward(dout, q, k, v, out, lse, attention_options(env, info[6])));
  });
}

Napi::Value synchronize(Info info) {
  Napi::Env env = info.Env();
  Completions& done = *state(env).completions;
  Napi::Promise promise = Napi::Promise::Deferred::New(env).Promise();
  const Device device = guarded(env, [&] { return arg_device(info[0]); });
  auto pending = done.create(env, &promise);
  try {
    ops::synchronize(device, [&done, pending](std::shared_ptr<const GermError> e) { done.settle(pending, {}, e); });
  } catch (const GermError& e) {
    done.settle(pending, {}, std::make_shared<GermError>(e));
  }
  return promise;
}

Napi::Value memory_stats(Info info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    const MemoryStats s = backend_for(arg_device(info[0])).memory_stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("allocatedBytes", static_cast<double>(s.allocated_bytes));
    o.Set("reservedBytes", static_cast<double>(s.reserved_bytes));
    o.Set("peakAllocatedBytes", static_cast<double>(s.peak_allocated_bytes));
    o.Set("allocCalls", static_cast<double>(s.alloc_calls));
    o.Set("deviceAllocCalls", static_cast<double>(s.device_alloc_calls));
    return o;
  });
}

Napi::Value empty_cache(Info info) {
  guarded(info.Env(), [&] {
    backend_for(arg_device(info[0])).empty_cache();
    return 0;
  });
  return info.Env().Undefined();
}

Napi::Value set_num_threads(Info info) {
  guarded(info.Env(), [&] {
    const double n = arg_number(info[0], "threads");
    if (!(n >= 1 && n <= 1024)) throw GermError(ErrorCode::InvalidArgument, "threads must be between 1 and 1024");
    cpu::set_num_threads(static_cast<int>(n));
    return 0;
  });
  return info.Env().Undefined();
}

Napi::Value num_threads(Info info) { return Napi::Number::New(info.Env(), cpu::num_threads()); }

Napi::Value set_error_class(Info info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorClass expects a constructor");
  state(info.Env()).error_ctor = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

}  // namespace

void register_bindings(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Value (*)(Info)> fns[] = {
      {"fromHost", from_host},       {"full", full},
      {"view", view},                {"contiguous", contiguous},
      {"cast", cast},                {"toDevice", to_device},
      {"unary", unary},              {"binary", binary},
      {"reduce", reduce},            {"matmul", matmul},
      {"layerNorm", layer_norm},     {"layerNormBackward", layer_norm_backward},
      {"addLayerNorm", add_layer_norm}, {"embedding", embedding},
      {"geglu", geglu}, {"linearGeglu", linear_geglu}, {"packGeglu", pack_geglu},
      {"alibiSlopes", alibi_slopes},
      {"attentionForward", attention_forward}, {"attentionBackward", attention_backward},
      {"synchronize", synchronize},
      {"memoryStats", memory_stats}, {"emptyCache", empty_cache},
      {"setNumThreads", set_num_threads}, {"numThreads", num_threads},
      {"setErrorClass", set_error_class},
      {"matmulInto", matmul_into},   {"loraMerge", lora_merge},   {"loraForward", lora_forward},   {"catRows", cat_rows}};
  for (const auto& [name, fn] : fns) exports.Set(name, Napi::Function::New(env, fn, name));
  register_stats_bindings(env, exports);  // outlier statistics
  register_quant_bindings(env, exports);
  register_qgemm_bindings(env, exports);
  register_status_bindings(env, exports);  // devices, buildInfo, cudaDeviceReport
}

}  // namespace germ::napi
