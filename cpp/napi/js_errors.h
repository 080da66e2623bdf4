// GermError -> the JS GermError class (registered from lib/errors.ts at load),
// so JS callers get `err instanceof GermError` and a stable `err.code`.
#pragma once
#include <napi.h>
#include "../core/error.h"

namespace germ::napi {

Napi::Value make_js_error(Napi::Env env, const GermError& e);

// Runs fn and rethrows a GermError (or std::bad_alloc) as the JS error.
template <class F>
auto guarded(Napi::Env env, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const GermError& e) {
    throw Napi::Error(env, make_js_error(env, e));
  } catch (const std::bad_alloc&) {
    throw Napi::Error(env, make_js_error(env, GermError(ErrorCode::OutOfMemory, "out of host memory")));
  }
}

}  // namespace germ::napi
