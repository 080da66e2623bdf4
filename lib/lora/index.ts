// LoRA: merge / unmerge in place, QLoRA export into a re-quantized weight, and
// the fused LoraLinear (forward + backward).
export { type CheckedAdapter, LORA_MAX_RANK, type LoraAdapter, checkAdapter } from './adapter';
export { type LoraGrads, type LoraLinearOptions, LoraLinear } from './linear';
export { loraMerge, loraUnmerge } from './merge';
export { loraMergeQuantized } from './merge_quantized';
export { type MatmulIntoOptions, catRows, matmulInto } from './ops';
