#include "addon_state.h"
#include "js_errors.h"

namespace germ::napi {

struct Completions::Pending {
  Napi::Promise::Deferred deferred;
  Completions* owner;
  MakeValue make_value;
  std::shared_ptr<const GermError> error;
};

namespace {
struct Job {
  std::shared_ptr<Completions::Pending> pending;
};
}  // namespace

Completions::Completions(Napi::Env env) {
  tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                        "germ-completions", 0, 1);
  tsfn_.Unref(env);
}

void Completions::close() {
  if (closed_) return;
  closed_ = true;
  tsfn_.Release();
}

std::shared_ptr<Completions::Pending> Completions::create(Napi::Env env, Napi::Promise* promise) {
  auto p = std::make_shared<Pending>(Pending{Napi::Promise::Deferred::New(env), this, {}, nullptr});
  *promise = p->deferred.Promise();
  if (pending_++ == 0) tsfn_.Ref(env);
  return p;
}

void Completions::settle(const std::shared_ptr<Pending>& p, MakeValue make_value,
                         std::shared_ptr<const GermError> error) {
  p->make_value = std::move(make_value);
  p->error = std::move(error);
  auto* job = new Job{p};
  // Fails only while the environment is being torn down; then nobody waits.
  if (tsfn_.NonBlockingCall(job, [](Napi::Env env, Napi::Function fn, Job* j) { deliver(env, fn, j); }) != napi_ok)
    delete job;
}

void Completions::deliver(Napi::Env env, Napi::Function, void* raw) {
  std::unique_ptr<Job> job(static_cast<Job*>(raw));
  if (!env) return;  // environment gone
  Pending& p = *job->pending;
  Napi::HandleScope scope(env);
  if (p.error) {
    p.deferred.Reject(make_js_error(env, *p.error));
  } else {
    try {
      p.deferred.Resolve(p.make_value ? p.make_value(env) : env.Undefined());
    } catch (const Napi::Error& e) {
      p.deferred.Reject(e.Value());
    }
  }
  Completions* self = p.owner;
  if (--self->pending_ == 0) self->tsfn_.Unref(env);
}

}  // namespace germ::napi
