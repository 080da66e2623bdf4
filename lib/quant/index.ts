// Quantization: uniform integer (W8 / W6 / W4, per tensor, channel, token or
// group) and NF4 with double quantization (QLoRA), and the quantized GEMMs.
export { type QuantBits, type QuantGranularity, type QuantizeOptions, QuantizedTensor, quantize } from './uniform';
export { NF4_DOUBLE_QUANT_BLOCK, NF4_VALUES, type Nf4Options, Nf4Tensor, quantizeNf4 } from './nf4';
export {
  type QuantizeActivationsOptions,
  type QuantizedLinearOptions,
  quantizeActivations,
  quantizedLinear,
} from './linear';
export { smoothQuantScales } from './smooth';
