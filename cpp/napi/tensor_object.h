// NativeTensor: the JS object that owns one reference to a TensorImpl.
// dispose() drops the reference at once; the storage is freed when the last
// tensor viewing it and the last queued task using it let go. If JS forgets to
// dispose, the wrapper's finalizer drops it at GC (lib/tensor.ts adds a
// FinalizationRegistry on top to count such leaks).
#pragma once
#include <napi.h>
#include "../core/tensor.h"

namespace germ::napi {

class TensorObject : public Napi::ObjectWrap<TensorObject> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, TensorPtr t);
  // The tensor behind a JS value; throws ERR_INVALID_ARGUMENT / ERR_DISPOSED.
  static TensorPtr unwrap(Napi::Env env, const Napi::Value& v, const char* what);

  explicit TensorObject(const Napi::CallbackInfo& info);

 private:
  const TensorPtr& live(Napi::Env env) const;
  Napi::Value shape(const Napi::CallbackInfo& info);
  Napi::Value strides(const Napi::CallbackInfo& info);
  Napi::Value offset(const Napi::CallbackInfo& info);
  Napi::Value dtype(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value read(const Napi::CallbackInfo& info);

  TensorPtr impl_;
};

Napi::Array shape_to_js(Napi::Env env, const Shape& s);

}  // namespace germ::napi
