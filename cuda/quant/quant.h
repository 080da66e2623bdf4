// Host launchers for quantization (cuda/quant/*.cu). The argument structs and
// the arithmetic they share with the CPU backend: quant_math.h.
#pragma once
#include <cuda_runtime_api.h>
#include "../../contract/quant_math.h"

namespace germ::kernels {

// Uniform quantize (QuantArgs). Row and Group grains run one fused kernel (a
// warp per scale group: min/max, scale, codes); Tensor first reduces the
// whole tensor's min/max into scale[0] / zero[0] (with `zero` null,
// symmetric, max|x| alone), then writes codes.
cudaError_t quantize(const QuantArgs& a, cudaStream_t stream);
cudaError_t dequantize(const DequantArgs& a, cudaStream_t stream);

// NF4 blockwise quantize, with double quantization of the absmax values when
// a.qabsmax is set (then a.absmax is scratch of nblocks floats).
cudaError_t nf4_quantize(const Nf4Args& a, cudaStream_t stream);
// Reads a.absmax, or with a.qabsmax set the double-quantized form.
cudaError_t nf4_dequantize(const Nf4Args& a, cudaStream_t stream);

}  // namespace germ::kernels
