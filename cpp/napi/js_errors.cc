#include "js_errors.h"
#include "addon_state.h"

namespace germ::napi {

Napi::Value make_js_error(Napi::Env env, const GermError& e) {
  const char* code = error_code_name(e.code());
  AddonState& s = state(env);
  if (!s.error_ctor.IsEmpty())
    return s.error_ctor.New({Napi::String::New(env, e.what()), Napi::String::New(env, code)});
  // Before lib/ registered its class (only in direct addon use): a plain Error.
  Napi::Error err = Napi::Error::New(env, e.what());
  err.Set("code", Napi::String::New(env, code));
  return err.Value();
}

}  // namespace germ::napi
