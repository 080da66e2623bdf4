#include "dtype.h"
#include "error.h"

namespace germ {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::I8: return "i8";
    case DType::I32: return "i32";
    case DType::U8: return "u8";
  }
  return "?";
}

DType parse_dtype(const std::string& name) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I8, DType::I32, DType::U8})
    if (name == dtype_name(t)) return t;
  throw GermError(ErrorCode::Dtype, "unknown dtype '" + name + "' (expected f32, f16, bf16, i8, i32 or u8)");
}

}  // namespace germ
