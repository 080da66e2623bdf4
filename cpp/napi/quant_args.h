// Argument parsing the quantization bindings share (quant_bindings.cc defines
// them; qgemm_bindings.cc reads the same weight descriptions).
#pragma once
#include <napi.h>
#include "../ops/ops.h"

namespace germ::napi {

// null / undefined -> nullptr, else the tensor (ERR_INVALID_ARGUMENT naming `what`).
TensorPtr optional_tensor(Napi::Env env, const Napi::Value& v, const char* what);
// 'tensor' | 'channel' | 'token' | 'group'
ops::QuantGranularity arg_granularity(const Napi::Value& v);

}  // namespace germ::napi
