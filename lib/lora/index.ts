// LoRA: merge / unmerge in place and the fused LoraLinear (forward + backward).
// QLoRA export (merging into a re-quantized weight) waits for the quantization ops.
export { type CheckedAdapter, type LoraAdapter, checkAdapter } from './adapter';
export { type LoraGrads, type LoraLinearOptions, LoraLinear } from './linear';
export { loraMerge, loraUnmerge } from './merge';
export { type MatmulIntoOptions, catRows, matmulInto } from './ops';
