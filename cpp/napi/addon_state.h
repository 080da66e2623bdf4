// Per-environment state (main thread and each worker thread have their own).
#pragma once
#include <napi.h>
#include <cstdint>
#include <functional>
#include <memory>
#include "../core/error.h"

namespace germ::napi {

// Settles Promises from executor threads. One thread-safe function per
// environment carries every completion to the JS thread; it keeps the event
// loop alive only while some promise is pending, so an idle process exits.
class Completions {
 public:
  struct Pending;
  using MakeValue = std::function<Napi::Value(Napi::Env)>;

  explicit Completions(Napi::Env env);
  void close();
  // JS thread: a new pending promise and the handle that settles it.
  std::shared_ptr<Pending> create(Napi::Env env, Napi::Promise* promise);
  // Any thread: resolve with make_value(env), or reject with `error`.
  void settle(const std::shared_ptr<Pending>& p, MakeValue make_value, std::shared_ptr<const GermError> error);

 private:
  static void deliver(Napi::Env env, Napi::Function, void* job);
  Napi::ThreadSafeFunction tsfn_;
  int64_t pending_ = 0;  // touched on the JS thread only
  bool closed_ = false;
};

struct AddonState {
  Napi::FunctionReference tensor_ctor;
  Napi::FunctionReference error_ctor;
  std::unique_ptr<Completions> completions;
};

AddonState& state(Napi::Env env);

}  // namespace germ::napi
