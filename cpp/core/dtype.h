// Element types of a tensor, their sizes and names.
#pragma once
#include <cstdint>
#include <string>
#include "../../contract/kernel_types.h"

namespace germ {

// U8 doubles as the container of packed 4-bit values (two per byte).
enum class DType : int32_t { F32 = 0, F16 = 1, BF16 = 2, I8 = 3, I32 = 4, U8 = 5 };

// The kernels see the same numbering, so DType -> KDType is a plain cast.
static_assert(static_cast<int>(DType::U8) == static_cast<int>(kernels::KDType::U8));
static_assert(static_cast<int>(DType::BF16) == static_cast<int>(kernels::KDType::BF16));
inline kernels::KDType kd(DType t) { return static_cast<kernels::KDType>(t); }

inline int64_t dtype_size(DType t) { return kernels::kdtype_size(kd(t)); }
inline bool dtype_is_float(DType t) { return kernels::is_float(kd(t)); }

const char* dtype_name(DType t);
DType parse_dtype(const std::string& name);  // throws GermError ERR_DTYPE

}  // namespace germ
