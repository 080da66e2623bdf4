// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11), host and device. Attention dropout draws its mask from here on both
// backends, so a CPU run and a GPU run with the same seed drop the same
// probabilities, and the backward regenerates the forward's mask exactly.
#pragma once
#include <cstdint>
#include "host_device.h"

namespace germ::kernels {

struct Philox4 {
  uint32_t x, y, z, w;
};

GERM_HD uint32_t philox_mulhi(uint32_t a, uint32_t b) {
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
}

GERM_HD Philox4 philox4x32_10(Philox4 c, uint32_t k0, uint32_t k1) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint32_t hi0 = philox_mulhi(kM0, c.x), lo0 = kM0 * c.x;
    const uint32_t hi1 = philox_mulhi(kM1, c.z), lo1 = kM1 * c.z;
    c = Philox4{hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0};
    k0 += kW0;
    k1 += kW1;
  }
  return c;
}

// The dropout draws of attention row `row` (the query's global row, head *
// total_q + token) for the 4 key columns 4*group .. 4*group + 3 (key indices
// within the sequence): one Philox call per group.
GERM_HD Philox4 dropout_draws(uint64_t seed, uint64_t offset, uint64_t row, uint64_t group) {
  return philox4x32_10(Philox4{static_cast<uint32_t>(group), static_cast<uint32_t>(row),
                               static_cast<uint32_t>(row >> 32), static_cast<uint32_t>(offset)},
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Whether attention dropout keeps probability (row, col): keep iff the draw is
// below keep_threshold = round((1 - p) * 2^32) (saturated to 2^32 - 1).
GERM_HD bool dropout_keep(uint64_t seed, uint64_t offset, uint64_t row, uint64_t col, uint32_t keep_threshold) {
  const Philox4 r = dropout_draws(seed, offset, row, col >> 2);
  const uint32_t pick[4] = {r.x, r.y, r.z, r.w};
  return pick[col & 3] < keep_threshold;
}

}  // namespace germ::kernels
