// Overflow-checked size arithmetic for shapes, strides, offsets and byte
// counts. Every bounds or allocation check goes through these: a product that
// wraps around int64 would otherwise pass a check and address memory far
// outside the storage. Failures are ERR_SHAPE naming `what`.
#pragma once
#include <cstdint>
#include <string>
#include "error.h"

namespace germ {

[[noreturn]] inline void size_overflow(const char* what) {
  throw GermError(ErrorCode::Shape, std::string(what) + ": size does not fit in 64 bits");
}

inline int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) size_overflow(what);
  return r;
}

inline int64_t checked_add(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) size_overflow(what);
  return r;
}

}  // namespace germ
