// Module entry: per-environment state, the tensor class, the bindings, and a
// clean shutdown (queued device work drains before the environment goes).
#include <napi.h>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include "../core/backend.h"
#include "addon_state.h"
#include "bindings.h"
#include "tensor_object.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace germ::napi {

// glibc malloc arenas. glibc gives threads that contend on malloc arenas of
// their own, up to 8 per core. germ's executor and intra-op pool threads free
// and allocate tensor-sized blocks (below the mmap threshold, which glibc
// raises up to 32 MB after large frees) on different threads, so blocks spread
// over many arenas whose free pages are rarely given back: RSS grew ~60 MB per
// round of 2,000 concurrent embeds while germ's own allocated bytes stayed
// flat, and stayed flat with MALLOC_ARENA_MAX=1. So at load the addon sets
// that measured value, kMallocArenas, unless the user chose one
// (MALLOC_ARENA_MAX, or glibc.malloc.arena_max in GLIBC_TUNABLES), which wins.
// The cap only stops new arenas (threads beyond it share the existing ones).
// Its cost, one arena lock, is small here: germ's threads malloc per task (a
// workspace), not per element, and tensors bigger than the threshold are
// mmapped. No malloc_trim after frees: it walks every arena (milliseconds on a
// large heap) on the hot path, and the cap already removes the growth. mallopt
// is GLIBC_2.2.5, far below the 2.28 floor of the prebuilt binary.
constexpr int kMallocArenas = 1;

static void limit_malloc_arenas() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (std::getenv("MALLOC_ARENA_MAX") || (tunables && std::strstr(tunables, "arena_max"))) return;
    mallopt(M_ARENA_MAX, kMallocArenas);
  });
#endif
}

AddonState& state(Napi::Env env) { return *env.GetInstanceData<AddonState>(); }

static void teardown(Napi::Env, AddonState* s) {
  // Let queued tasks finish while the memory they touch is still valid; their
  // completions find the environment closing and are dropped.
  for (Backend* b : live_backends()) b->executor().drain();
  if (s->completions) s->completions->close();
  delete s;
}

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  limit_malloc_arenas();
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
