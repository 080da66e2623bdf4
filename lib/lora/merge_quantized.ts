// QLoRA export: fold a trained adapter into a quantized base weight and
// quantize the result again, the way a QLoRA model is shipped for quantized
// inference (the adapter's f32 update would otherwise have to stay beside the
// 4-bit weight and cost a second GEMM per layer).
//
//   W' = Q( deq(Wq) + (alpha / r) B A )
//
// with Q the base weight's own quantizer: the same bits, symmetry,
// granularity and group size for a QuantizedTensor, the same block size and
// double quantization for an Nf4Tensor. deq(Wq) and the merge run in f32 (one
// rounding at the end, inside Q), on the weight's device. A clipping ratio the
// base was quantized with is not stored with it and so is not reapplied: pass
// the re-quantized weight through quantize() yourself if you need one.
import { describeValue, optionsArg } from '../dtype';
import { GermError } from '../errors';
import { type Tensor, tensorArg } from '../tensor';
import { Nf4Tensor, quantizeNf4 } from '../quant/nf4';
import { QuantizedTensor, quantize } from '../quant/uniform';
import type { LoraAdapter } from './adapter';
import { loraMerge } from './merge';

/** A new quantized weight holding deq(weight) + (alpha / r) B A; `weight` is left as it was. */
export function loraMergeQuantized<Q extends QuantizedTensor | Nf4Tensor>(weight: Q, adapter: LoraAdapter): Q {
  const op = 'loraMergeQuantized';
  if (!(weight instanceof QuantizedTensor) && !(weight instanceof Nf4Tensor))
    throw new GermError(`${op}: weight must be a QuantizedTensor or an Nf4Tensor, got ${describeValue(weight)}`,
      'ERR_INVALID_ARGUMENT');
  const ad = optionsArg(adapter, op, 'adapter');
  tensorArg(ad.A, op, 'A');
  tensorArg(ad.B, op, 'B');
  const dense: Tensor = weight.dequantize('f32');
  try {
    // The adapter may be f16 / bf16; the merge GEMM wants one dtype.
    const A = adapter.A.dtype === 'f32' ? adapter.A : adapter.A.cast('f32');
    const B = adapter.B.dtype === 'f32' ? adapter.B : adapter.B.cast('f32');
    try {
      loraMerge(dense, { ...adapter, A, B });
    } finally {
      if (A !== adapter.A) A.dispose();
      if (B !== adapter.B) B.dispose();
    }
    if (weight instanceof Nf4Tensor)
      return quantizeNf4(dense, { blockSize: weight.blockSize, doubleQuant: weight.doubleQuant }) as Q;
    const w = weight as QuantizedTensor;
    return quantize(dense, { bits: w.bits, symmetric: w.symmetric, granularity: w.granularity, groupSize: w.groupSize }) as Q;
  } finally {
    dense.dispose();
  }
}
