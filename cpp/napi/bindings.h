#pragma once
#include <napi.h>

namespace germ::napi {
void register_bindings(Napi::Env env, Napi::Object exports);
}
