// The arithmetic of the quantized GEMMs that both backends share (compiled
// by nvcc for the kernels and by the host compiler for cpp/cpu/qgemm*.cc):
// the integer GEMMs' rescale and the 4-bit weight values. Each is the same sequence of
// single f32 operations as quant_math.h's dequantization, so a 4-bit weight
// inside the GEMM is bit for bit the value dequantize() / NF4 dequantize
// produce, and CPU and CUDA agree up to the order of the f32 sums.
#pragma once
#include <cstdint>
#include "host_device.h"
#include "quant_math.h"
#include "qgemm_args.h"

namespace germ::kernels {

// float(acc) * (sx * sw): the per-token x per-channel rescale of W8A8 / W4A4.
// int -> f32 rounds to nearest even on both (cvt.rn / the FPU default).
GERM_HD float int_rescale(int32_t acc, float sx, float sw) { return mul_rn(static_cast<float>(acc), mul_rn(sx, sw)); }

// Scale (and zero point) of 4-bit weight group si; `dyn` is the 8-bit dynamic
// map (make_dynamic_map) that double-quantized NF4 absmax codes index.
GERM_HD QParams w4_group_params(const W4Args& a, int64_t si, const float* dyn) {
  if (a.codes == W4Codes::Nf4) {
    if (a.qabsmax == nullptr) return {a.scale[si], 0.f};
    return {add_rn(mul_rn(dyn[a.qabsmax[si]], a.absmax2[si / kDoubleQuantBlock]), a.offset[0]), 0.f};
  }
  return {a.scale[si], a.zero ? a.zero[si] : 0.f};
}

// The f32 value of 4-bit code `nib` (0..15) under group parameters p.
GERM_HD float w4_value(W4Codes codes, int nib, QParams p) {
  if (codes == W4Codes::Nf4) return mul_rn(nf4_value(nib), p.scale);
  const int code = codes == W4Codes::Int4Sym ? (nib ^ 8) - 8 : nib;
  return dequant_value(code, p);
}

// Two 4-bit codes in one byte, the even element in the low nibble.
GERM_HD uint8_t pack_nibbles(int lo, int hi) { return static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4)); }

// Code c of a row of integer-GEMM codes (bits 8: int8; bits 4: packed
// signed nibbles, element 2j in the low nibble of byte j).
GERM_HD int int_code(const int8_t* row, int64_t c, int bits) {
  if (bits != 4) return row[c];
  return unpack_nibble(static_cast<uint8_t>(row[c / 2]), int(c & 1), true);
}

}  // namespace germ::kernels
