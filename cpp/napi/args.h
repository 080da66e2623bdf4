// Argument parsing for the bindings. Every failure is a GermError
// (ERR_INVALID_ARGUMENT, ERR_SHAPE, ERR_DTYPE, ERR_DEVICE) naming the argument.
#pragma once
#include <napi.h>
#include <optional>
#include <string>
#include <vector>
#include "../core/device.h"
#include "../core/dtype.h"
#include "../core/tensor.h"

namespace germ::napi {

Shape arg_shape(const Napi::Value& v, const char* what);
// Like arg_shape, without the element-count limit (a product of strides means nothing).
Shape arg_strides(const Napi::Value& v, const char* what);
DType arg_dtype(const Napi::Value& v);
Device arg_device(const Napi::Value& v);
double arg_number(const Napi::Value& v, const char* what);
bool arg_bool(const Napi::Value& v, const char* what);
std::string arg_string(const Napi::Value& v, const char* what);
std::vector<int32_t> arg_int32s(const Napi::Value& v, const char* what);  // Int32Array or number[]
std::optional<int64_t> arg_optional_int(const Napi::Value& v, const char* what);
// The bytes of a typed array or DataView, read at the call: take them only
// after every other argument is parsed (no JS may run between this and the
// copy). A detached buffer is ERR_INVALID_ARGUMENT.
struct HostBytes {
  const void* data = nullptr;
  size_t length = 0;
};
HostBytes host_bytes(const Napi::Value& v, const char* what);
// An options object ("<what> must be an object" otherwise).
Napi::Object arg_object(const Napi::Value& v, const std::string& what);
// Whether an options object sets `key` (undefined and null count as unset).
bool arg_present(const Napi::Object& o, const char* key);

kernels::UnaryOp unary_op(const std::string& name);
kernels::BinaryOp binary_op(const std::string& name);
kernels::ReduceOp reduce_op(const std::string& name);

}  // namespace germ::napi
