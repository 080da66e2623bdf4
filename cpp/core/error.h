// The addon's one error type. Every failure that can reach JavaScript is a
// GermError with a stable code; the N-API layer turns it into the JS GermError
// class (lib/errors.ts) with the same `code`, so callers can branch on it.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>
#include <cstdint>

namespace germ {

enum class ErrorCode {
  InvalidArgument,  // ERR_INVALID_ARGUMENT: a bad option or value
  Shape,            // ERR_SHAPE: shapes that do not fit the op
  Dtype,            // ERR_DTYPE: a dtype the op does not take
  Device,           // ERR_DEVICE: tensors on different devices, unknown device
  OutOfMemory,      // ERR_OUT_OF_MEMORY: host or device allocation failed
  Cuda,             // ERR_CUDA: a CUDA runtime error (message carries its name)
  Disposed,         // ERR_DISPOSED: use of a tensor after dispose()
  Internal,         // ERR_INTERNAL: a bug in germ; please report it
};

const char* error_code_name(ErrorCode code);

class GermError : public std::runtime_error {
 public:
  GermError(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// "[2, 3]" for messages that name shapes.
std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace germ
