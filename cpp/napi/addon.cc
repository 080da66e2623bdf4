// Module entry: per-environment state, the tensor class, the bindings, and a
// clean shutdown (queued device work drains before the environment goes).
#include <napi.h>
#include "../core/backend.h"
#include "addon_state.h"
#include "bindings.h"
#include "tensor_object.h"

namespace germ::napi {

AddonState& state(Napi::Env env) { return *env.GetInstanceData<AddonState>(); }

static void teardown(Napi::Env, AddonState* s) {
  // Let queued tasks finish while the memory they touch is still valid; their
  // completions find the environment closing and are dropped.
  for (Backend* b : live_backends()) b->executor().drain();
  if (s->completions) s->completions->close();
  delete s;
}

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* s = new AddonState();
  env.SetInstanceData<AddonState, teardown>(s);
  s->tensor_ctor = Napi::Persistent(TensorObject::define(env));
  s->completions = std::make_unique<Completions>(env);
  exports.Set("NativeTensor", s->tensor_ctor.Value());
  register_bindings(env, exports);
  return exports;
}

}  // namespace germ::napi

// The macro pastes its argument into identifiers: it needs an unqualified name.
static Napi::Object InitGerm(Napi::Env env, Napi::Object exports) { return germ::napi::init(env, exports); }
NODE_API_MODULE(germ, InitGerm)
