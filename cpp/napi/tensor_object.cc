#include "tensor_object.h"
#include "../ops/ops.h"
#include "addon_state.h"
#include "js_errors.h"

namespace germ::napi {

Napi::Function TensorObject::define(Napi::Env env) {
  return DefineClass(env, "NativeTensor",
                     {InstanceAccessor<&TensorObject::shape>("shape"),
                      InstanceAccessor<&TensorObject::strides>("strides"),
                      InstanceAccessor<&TensorObject::offset>("offset"),
                      InstanceAccessor<&TensorObject::dtype>("dtype"),
                      InstanceAccessor<&TensorObject::device>("device"),
                      InstanceAccessor<&TensorObject::disposed>("disposed"),
                      InstanceMethod<&TensorObject::dispose>("dispose"),
                      InstanceMethod<&TensorObject::read>("read")});
}

TensorObject::TensorObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorObject>(info) {
  if (info.Length() != 1 || !info[0].IsExternal())
    throw Napi::TypeError::New(info.Env(), "NativeTensor cannot be constructed from JavaScript");
  impl_ = *info[0].As<Napi::External<TensorPtr>>().Data();
}

Napi::Object TensorObject::wrap(Napi::Env env, TensorPtr t) {
  TensorPtr holder = std::move(t);
  return state(env).tensor_ctor.New({Napi::External<TensorPtr>::New(env, &holder)});
}

TensorPtr TensorObject::unwrap(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(state(env).tensor_ctor.Value()))
    throw Napi::Error(env, make_js_error(env, GermError(ErrorCode::InvalidArgument,
                                                        std::string(what) + " must be a germ tensor")));
  return Unwrap(v.As<Napi::Object>())->live(env);
}

const TensorPtr& TensorObject::live(Napi::Env env) const {
  if (!impl_)
    throw Napi::Error(env, make_js_error(env, GermError(ErrorCode::Disposed, "tensor used after dispose()")));
  return impl_;
}

Napi::Array shape_to_js(Napi::Env env, const Shape& s) {
  Napi::Array a = Napi::Array::New(env, s.size());
  for (size_t i = 0; i < s.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(s[i])));
  return a;
}

Napi::Value TensorObject::shape(const Napi::CallbackInfo& info) { return shape_to_js(info.Env(), live(info.Env())->shape); }
Napi::Value TensorObject::strides(const Napi::CallbackInfo& info) {
  return shape_to_js(info.Env(), live(info.Env())->strides);
}
Napi::Value TensorObject::offset(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env())->offset));
}
Napi::Value TensorObject::dtype(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtype_name(live(info.Env())->dtype));
}
Napi::Value TensorObject::device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), live(info.Env())->device().str());
}
Napi::Value TensorObject::disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !impl_); }

Napi::Value TensorObject::dispose(const Napi::CallbackInfo& info) {
  impl_.reset();
  return info.Env().Undefined();
}

// read(): Promise<ArrayBuffer> with the elements in the tensor's own dtype.
Napi::Value TensorObject::read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const TensorPtr t = live(env);
  Napi::Promise promise = Napi::Promise::Deferred::New(env).Promise();
  Completions& done = *state(env).completions;
  auto pending = done.create(env, &promise);
  // A synchronous failure (say, no memory for a contiguous copy) still settles
  // the promise, so a pending count never leaks and the loop never hangs.
  try {
    ops::read_bytes(t, [&done, pending](std::shared_ptr<std::vector<uint8_t>> bytes,
                                        std::shared_ptr<const GermError> error) {
      done.settle(
          pending,
          [bytes](Napi::Env e) -> Napi::Value {
            // Hand the bytes to JS without a copy; the vector dies with the buffer.
            auto* keep = new std::shared_ptr<std::vector<uint8_t>>(bytes);
            if (bytes->empty()) {
              delete keep;
              return Napi::ArrayBuffer::New(e, 0);
            }
            return Napi::ArrayBuffer::New(e, bytes->data(), bytes->size(),
                                          [](Napi::Env, void*, std::shared_ptr<std::vector<uint8_t>>* k) { delete k; },
                                          keep);
          },
          std::move(error));
    });
  } catch (const GermError& e) {
    done.settle(pending, {}, std::make_shared<GermError>(e));
  }
  return promise;
}

}  // namespace germ::napi
