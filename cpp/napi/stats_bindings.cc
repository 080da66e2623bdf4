// Bindings of the outlier statistics (types: NativeAddon.outlierStats in
// types/native.d.ts). Kept apart from bindings.cc so the op family adds one
// registration call there and nothing else.
#include "../ops/ops.h"
#include "bindings.h"
#include "js_errors.h"
#include "tensor_object.h"

namespace germ::napi {

namespace {

// outlierStats(x, prev | null) -> [state, tokenKurtosis, tokenAbsMax, channelAbsMax]
Napi::Value outlier_stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TensorPtr x = TensorObject::unwrap(env, info[0], "x");
  TensorPtr prev = info[1].IsUndefined() || info[1].IsNull() ? nullptr : TensorObject::unwrap(env, info[1], "state");
  return guarded(env, [&] {
    const std::array<TensorPtr, 4> ts = ops::outlier_stats(x, prev);
    Napi::Array a = Napi::Array::New(env, ts.size());
    for (uint32_t i = 0; i < ts.size(); ++i) a.Set(i, TensorObject::wrap(env, ts[i]));
    return Napi::Value(a);
  });
}

}  // namespace

void register_stats_bindings(Napi::Env env, Napi::Object exports) {
  exports.Set("outlierStats", Napi::Function::New(env, outlier_stats, "outlierStats"));
}

}  // namespace germ::napi
