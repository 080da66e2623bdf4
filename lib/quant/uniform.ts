// Uniform (integer) quantization: symmetric or asymmetric, per tensor,
// channel, token or group, 8, 6 or 4 bits. The arithmetic, identical on the
// CPU and CUDA backends (cuda/quant/quant_math.h), for a group of values with
// clipping ratio c and b bits:
//   symmetric:  scale = c * max|x| / (2^(b-1) - 1), q = clamp(rne(x / scale), -2^(b-1), 2^(b-1) - 1)
//   asymmetric: lo = c * min(min x, 0), hi = c * max(max x, 0), scale = (hi - lo) / (2^b - 1),
//               zero = rne(-lo / scale), q = clamp(rne(x / scale) + zero, 0, 2^b - 1)
// rne is round-half-to-even; every step is one f32 operation. A group whose
// scale would be 0 (all zeros) gets scale 1. NaN quantizes to the zero point.
// dequantize: (q - zero) * scale, rounded once into the requested dtype.
import type { NativeTensor } from '../../types/native';
import { type DType, checkDType, describeValue, optionsArg } from '../dtype';
import { GermError } from '../errors';
import { native } from '../native';
import { Tensor, handleOf, optionalHandle } from '../tensor';

export type QuantBits = 8 | 6 | 4;

/** bits checked: 8, 6 or 4 (undefined gives 8). */
export function bitsArg(bits: unknown, op: string, name = 'bits'): QuantBits {
  if (bits === undefined) return 8;
  if (bits !== 8 && bits !== 6 && bits !== 4)
    throw new GermError(`${op}: ${name} must be 8, 6 or 4, got ${describeValue(bits)}`, 'ERR_INVALID_ARGUMENT');
  return bits;
}
/**
 * Which values share a scale: 'tensor' one; 'channel' each row of a weight
 * [out, in]; 'token' each row of activations [..., hidden] (computed on the
 * fly); 'group' each run of groupSize values along the last dim (weights;
 * groupSize must divide it, else ERR_SHAPE).
 */
export type QuantGranularity = 'tensor' | 'channel' | 'token' | 'group';

export interface QuantizeOptions {
  bits?: QuantBits;                // default 8
  symmetric?: boolean;             // default true
  granularity?: QuantGranularity;  // default 'channel'
  groupSize?: number;              // for 'group': default 128 (64 and 128 are the usual)
  /**
   * Clipping ratio in (0, 1] multiplying max|x| (or min and max) before the
   * scale is computed (OmniQuant's learnable weight clipping): a number for
   * every scale, or an f32 Tensor shaped like the scales on x's device (its
   * values are not checked: they live on the device).
   */
  clip?: number | Tensor;
}

/**
 * A quantized tensor. Layout of `q`:
 * - 8 and 6 bits: the codes, shaped like the input; i8 when symmetric
 *   (6-bit codes in [-32, 31]), u8 when asymmetric (6-bit codes in [0, 63]).
 * - 4 bits: u8 [..., ceil(last / 2)], two codes per byte, element 2j in the
 *   low nibble and 2j + 1 in the high one (a two's complement nibble when
 *   symmetric); an odd row's last high nibble is 0.
 * `scale` (and `zero`, asymmetric only; integer values stored as f32) are
 * f32: [1] per tensor, [out] per channel, [...leading] per token, [...leading,
 * last / groupSize] per group.
 */
export class QuantizedTensor {
  constructor(
    readonly q: Tensor,
    readonly scale: Tensor,
    readonly zero: Tensor | undefined,
    readonly bits: QuantBits,
    readonly symmetric: boolean,
    readonly granularity: QuantGranularity,
    readonly groupSize: number,
    /** Shape of the tensor that was quantized. */
    readonly shape: number[],
  ) {}

  /** (q - zero) * scale as a new tensor of `dtype` (a float; default f32). */
  dequantize(dtype: DType = 'f32'): Tensor {
    const op = 'QuantizedTensor.dequantize';
    return new Tensor(native().dequantize(handleOf(this.q, op, 'q'), handleOf(this.scale, op, 'scale'),
      optionalHandle(this.zero, op, 'zero'), {
      bits: this.bits, symmetric: this.symmetric, granularity: this.granularity, groupSize: this.groupSize,
      shape: this.shape, dtype: checkDType(dtype),
    }));
  }

  dispose(): void {
    this.q.dispose();
    this.scale.dispose();
    this.zero?.dispose();
  }
}

const GRANULARITIES: readonly string[] = ['tensor', 'channel', 'token', 'group'];

/** Quantizes a float tensor (see QuantizedTensor for the layout). Throws GermError on bad options. */
export function quantize(x: Tensor, opts?: QuantizeOptions): QuantizedTensor {
  const options = optionsArg(opts, 'quantize');
  const hx = handleOf(x, 'quantize', 'x');
  const bits = bitsArg(options.bits, 'quantize'), symmetric = options.symmetric ?? true;
  const granularity = options.granularity ?? 'channel', groupSize = options.groupSize ?? 128;
  if (typeof symmetric !== 'boolean')
    throw new GermError(`quantize: symmetric must be true or false, got ${describeValue(symmetric)}`, 'ERR_INVALID_ARGUMENT');
  if (!GRANULARITIES.includes(granularity))
    throw new GermError(`quantize: granularity must be one of ${GRANULARITIES.join(', ')}, got ${describeValue(granularity)}`,
      'ERR_INVALID_ARGUMENT');
  if (!Number.isInteger(groupSize))
    throw new GermError(`quantize: groupSize must be an integer, got ${describeValue(groupSize)}`, 'ERR_INVALID_ARGUMENT');
  const c = options.clip ?? 1;
  if (!(c instanceof Tensor) && typeof c !== 'number')  // the range is checked natively
    throw new GermError(`quantize: clip must be a number in (0, 1] or an f32 Tensor, got ${describeValue(c)}`,
      'ERR_INVALID_ARGUMENT');
  const clip: number | NativeTensor = c instanceof Tensor ? c.handle : c;
  const [q, scale, zero] = native().quantize(hx, { bits, symmetric, granularity, groupSize, clip });
  return new QuantizedTensor(new Tensor(q), new Tensor(scale), zero ? new Tensor(zero) : undefined, bits, symmetric,
    granularity, groupSize, [...x.shape]);
}
