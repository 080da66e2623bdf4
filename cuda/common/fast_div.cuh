// Division by a divisor fixed for a whole launch, as a multiply-high and a
// shift (Granlund & Montgomery): a kernel's per-element `i / d` with d known
// only at run time would otherwise cost a ~20-instruction integer division.
//
// For 2 <= d < 2^31 and L = ceil(log2 d), mul = ceil(2^(31+L) / d) fits in 32
// bits and floor(n * mul / 2^(31+L)) == floor(n / d) for every 0 <= n < 2^31:
// the error term n * (mul * d - 2^(31+L)) / (d 2^(31+L)) is below 1/d because
// mul * d - 2^(31+L) < d <= 2^L and n < 2^31, and n / d's fraction is at
// most (d - 1) / d.
#pragma once
#include <cstdint>
#include <cuda_runtime_api.h>

namespace germ::kernels {

// d == 1 has no such multiplier (mul would need 33 bits); callers divide by
// at least 2 (the GEMV's groups are multiples of 32).
struct FastDiv {
  uint32_t mul = 0;
  uint32_t shift = 0;

  FastDiv() = default;
  // d in [2, 2^31)
  __host__ explicit FastDiv(uint32_t d) {
    uint32_t l = 1;
    while ((uint64_t(1) << l) < d) ++l;
    mul = static_cast<uint32_t>(((uint64_t(1) << (31 + l)) + d - 1) / d);
    shift = l - 1;
  }
  // n / d for 0 <= n < 2^31.
  __host__ __device__ __forceinline__ uint32_t div(uint32_t n) const {
#ifdef __CUDA_ARCH__
    return __umulhi(n, mul) >> shift;
#else
    return static_cast<uint32_t>((uint64_t(n) * mul) >> 32) >> shift;
#endif
  }
};

}  // namespace germ::kernels
