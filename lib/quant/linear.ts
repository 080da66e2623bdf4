// Quantized linear layers: y = x W^T (+ bias) (GELU) with W quantized by
// quantize() or quantizeNf4(), computed by fused GEMMs (cuda/qgemm/, and on
// the CPU cpp/cpu/qgemm*.cc). Which GEMM runs follows from the weight:
//
// - 8- or 6-bit symmetric, per channel (or per tensor): W8A8 (W6A6). x is
//   quantized per token on the fly (symmetric, actBits, default the weight's
//   bits) unless it already is a QuantizedTensor; int8 tensor cores, exact
//   int32 sums, then (sx[i] * sw[j]) * acc + bias, GELU, cast.
// - 4-bit (int4 per group / channel / tensor, symmetric or not) or NF4 (with
//   or without double quantization): weight-only (W4A16 / NF4-A16). x stays
//   f16 / bf16; the weight is dequantized inside the GEMM's main loop, so the
//   result is linear(x, W.dequantize(x.dtype), bias) up to f32 summation order.
// - 4-bit symmetric per channel (or per tensor) with 4-bit activations
//   (actBits: 4, or x a 4-bit per-token QuantizedTensor): W4A4, the integer
//   GEMM on packed nibbles.
//
// SmoothQuant (`smooth`): with a per-input-channel scale s, X W^T = (X
// diag(s)^-1)(W diag(s))^T. Quantize the weight once from W diag(s)
// (quantize(w.mul(s), ...)) and pass s here: the per-token activation
// quantizer divides x by s inside its one pass (no extra kernel, no extra
// copy of x), so a calibrated model needs nothing else.
import type { NativeQLinearOptions } from '../../types/native';
import { type DType, boolArg, checkDType, describeValue, optionsArg } from '../dtype';
import { GermError } from '../errors';
import { native } from '../native';
import { Tensor, handleOf, optionalHandle } from '../tensor';
import { Nf4Tensor } from './nf4';
import { QuantizedTensor, bitsArg } from './uniform';

export interface QuantizeActivationsOptions {
  bits?: 8 | 6 | 4;  // default 8; 4-bit codes are packed two per byte, like quantize()
  /** SmoothQuant's per-input-channel scale s (f32 [in]): x / s is quantized. */
  smooth?: Tensor;
}

/**
 * Per-token symmetric quantization of activations [..., in] (one scale per
 * row), in one kernel. Without `smooth` it equals quantize(x, { granularity:
 * 'token', bits }) bit for bit.
 */
export function quantizeActivations(x: Tensor, options?: QuantizeActivationsOptions): QuantizedTensor {
  const op = 'quantizeActivations', o = optionsArg(options, op);
  const bits = bitsArg(o.bits, op);
  const [q, scale] = native().quantizeTokens(handleOf(x, op, 'x'), optionalHandle(o.smooth, op, 'options.smooth'), bits);
  return new QuantizedTensor(new Tensor(q), new Tensor(scale), undefined, bits, true, 'token', 0, [...x.shape]);
}

export interface QuantizedLinearOptions {
  /** [out], any float dtype (applied in f32). */
  bias?: Tensor;
  /** Exact (erf) GELU after the bias. */
  gelu?: boolean;
  /**
   * f32, f16 or bf16; default x's dtype (f32 when x is a QuantizedTensor).
   * W8A8 also takes 'i32': the exact int32 sums of codes, with no scales, bias or GELU.
   */
  outDtype?: DType;
  /** Integer GEMMs only: SmoothQuant's per-input-channel scale (see above). */
  smooth?: Tensor;
  /**
   * Activation bits when x is quantized here: 8 or 6 with an 8- or 6-bit
   * weight (default: the weight's bits), 4 with a 4-bit weight (W4A4; without
   * it a 4-bit weight runs weight-only).
   */
  actBits?: 8 | 6 | 4;
}

const OP = 'quantizedLinear';

function fail(message: string, code: 'ERR_INVALID_ARGUMENT' | 'ERR_DTYPE' = 'ERR_INVALID_ARGUMENT'): never {
  throw new GermError(`quantizedLinear: ${message}`, code);
}

function epilogue(x: Tensor | QuantizedTensor, o: QuantizedLinearOptions): NativeQLinearOptions {
  const outDtype = checkDType(o.outDtype ?? (x instanceof Tensor ? x.dtype : 'f32'));
  return { bias: optionalHandle(o.bias, OP, 'options.bias'), gelu: boolArg(o.gelu, OP, 'gelu', false), outDtype };
}

/** W8A8 / W6A6 (8- or 6-bit codes in int8) or W4A4 (packed nibbles): one integer GEMM. */
function integer(x: Tensor | QuantizedTensor, w: QuantizedTensor, o: QuantizedLinearOptions): Tensor {
  const name = w.bits === 4 ? 'W4A4' : 'W8A8';
  if (!w.symmetric || (w.granularity !== 'channel' && w.granularity !== 'tensor'))
    fail(`an ${w.bits}-bit weight must be symmetric and per channel (or per tensor) for ${name}, ` +
      `got ${w.symmetric ? 'symmetric' : 'asymmetric'} per ${w.granularity}`);
  const wide = (bits: number) => bits !== 4;  // 8- and 6-bit codes share the int8 GEMM
  let xq: QuantizedTensor;
  if (x instanceof QuantizedTensor) {
    if (o.smooth || o.actBits) fail('x is already quantized: smooth and actBits apply when quantizedLinear quantizes x');
    if (!x.symmetric || x.granularity !== 'token' || wide(x.bits) !== wide(w.bits))
      fail(`quantized activations for ${name} must be symmetric ${w.bits === 4 ? '4' : '8- or 6'}-bit per token, got ` +
        `${x.bits}-bit ${x.symmetric ? 'symmetric' : 'asymmetric'} per ${x.granularity}`);
    xq = x;
  } else {
    const bits = o.actBits ?? w.bits;
    if (wide(bits) !== wide(w.bits)) fail(`actBits ${bits} does not pair with a ${w.bits}-bit weight`);
    xq = quantizeActivations(x, { bits, smooth: o.smooth });
  }
  const k = w.shape[w.shape.length - 1];
  try {
    return new Tensor(native().qlinearInt(handleOf(xq.q, OP, 'x.q'), handleOf(xq.scale, OP, 'x.scale'),
      handleOf(w.q, OP, 'w.q'), handleOf(w.scale, OP, 'w.scale'), wide(w.bits) ? 8 : 4,
      k, epilogue(x, o)));
  } finally {
    if (xq !== x) xq.dispose();  // safe: queued work keeps its inputs alive
  }
}

function weightOnly(x: Tensor | QuantizedTensor, w: QuantizedTensor | Nf4Tensor, o: QuantizedLinearOptions): Tensor {
  if (!(x instanceof Tensor)) fail('a 4-bit weight-only GEMM takes f16 / bf16 activations, not quantized ones');
  if (o.smooth || o.actBits) fail('smooth and actBits apply to the integer GEMMs (W8A8, W6A6, W4A4) only');
  const weight = w instanceof Nf4Tensor
    ? { format: 'nf4' as const, q: handleOf(w.codes, OP, 'w.codes'), scale: handleOf(w.absmax, OP, 'w.absmax'),
      absmax2: optionalHandle(w.absmax2, OP, 'w.absmax2'), offset: optionalHandle(w.offset, OP, 'w.offset'),
      groupSize: w.blockSize, shape: w.shape }
    : { format: 'int4' as const, q: handleOf(w.q, OP, 'w.q'), scale: handleOf(w.scale, OP, 'w.scale'),
      zero: optionalHandle(w.zero, OP, 'w.zero'), granularity: w.granularity, groupSize: w.groupSize, shape: w.shape };
  return new Tensor(native().qlinearW4(x.handle, weight, epilogue(x, o)));
}

/**
 * y = x W^T (+ bias) (GELU) for a quantized weight W [out, in] (nn.Linear
 * layout). x: [..., in] float (or a per-token QuantizedTensor for the integer GEMMs);
 * returns [..., out]. Runs on x's device, off the main thread.
 */
export function quantizedLinear(x: Tensor | QuantizedTensor, w: QuantizedTensor | Nf4Tensor,
  opts?: QuantizedLinearOptions): Tensor {
  const options = optionsArg(opts, OP);
  if (!(x instanceof Tensor) && !(x instanceof QuantizedTensor))
    fail(`x must be a Tensor or a QuantizedTensor, got ${describeValue(x)}`);
  if (options.actBits !== undefined) bitsArg(options.actBits, OP, 'actBits');
  if (w instanceof QuantizedTensor) {
    const a4 = options.actBits === 4 || (x instanceof QuantizedTensor && x.bits === 4);
    if (w.bits !== 4 || a4) return integer(x, w, options);
  }
  if (w instanceof Nf4Tensor || w instanceof QuantizedTensor) return weightOnly(x, w, options);
  return fail('the weight must be a QuantizedTensor (quantize()) or an Nf4Tensor (quantizeNf4())');
}
