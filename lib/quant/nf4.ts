// NF4 (QLoRA, Dettmers et al. 2023): 4-bit NormalFloat codes in blocks with
// their absmax, and double quantization of the absmax values as bitsandbytes'
// quantize_4bit(compress_statistics=True) does it. Arithmetic, identical on
// the CPU and CUDA backends (cuda/quant/quant_math.h):
//   code  = nearest NF4 value to x * (1 / absmax)   (bitsandbytes' midpoint tree;
//           a value on a midpoint takes the lower code; an all-zero block maps to 0)
//   value = NF4[code] * absmax
// Double quantization: offset = mean(absmax) (f32), and per block of 256
// absmax values absmax2 = max|absmax - offset| with 8-bit codes of the nearest
// entry of bitsandbytes' signed dynamic map to (absmax - offset) / absmax2;
// absmax is read back as dyn[code] * absmax2 + offset.
import { type DType, boolArg, checkDType, describeValue, optionsArg } from '../dtype';
import { GermError } from '../errors';
import { native } from '../native';
import { Tensor, handleOf, optionalHandle } from '../tensor';

/** The 16 NF4 values, code 0..15 (QLoRA appendix / bitsandbytes). */
export const NF4_VALUES: readonly number[] = Object.freeze([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);

/** Values of absmax per second-level scale in double quantization (QLoRA: 256). */
export const NF4_DOUBLE_QUANT_BLOCK = 256;

export interface Nf4Options {
  blockSize?: number;     // default 64 (QLoRA); a positive even number
  doubleQuant?: boolean;  // default true
}

/**
 * An NF4-quantized tensor. Stored:
 * - codes: u8 [ceil(n / 2)] over the tensor flattened, element 2i in the low
 *   nibble of byte i (bitsandbytes puts it in the high nibble: swap on import);
 * - without double quantization: absmax f32 [ceil(n / blockSize)];
 * - with it: absmax u8 [nblocks] (dynamic-map codes), absmax2 f32
 *   [ceil(nblocks / 256)], offset f32 [1].
 */
export class Nf4Tensor {
  constructor(
    readonly codes: Tensor,
    readonly absmax: Tensor,
    readonly absmax2: Tensor | undefined,
    readonly offset: Tensor | undefined,
    readonly blockSize: number,
    readonly shape: number[],
  ) {}

  get doubleQuant(): boolean {
    return this.absmax2 !== undefined;
  }

  /** NF4[code] * absmax as a new tensor of `dtype` (f32, f16 or bf16; default f32), shaped like the input. */
  dequantize(dtype: DType = 'f32'): Tensor {
    const op = 'Nf4Tensor.dequantize';
    return new Tensor(native().dequantizeNf4(handleOf(this.codes, op, 'codes'), handleOf(this.absmax, op, 'absmax'),
      optionalHandle(this.absmax2, op, 'absmax2'), optionalHandle(this.offset, op, 'offset'), this.blockSize, this.shape,
      checkDType(dtype)));
  }

  dispose(): void {
    for (const t of [this.codes, this.absmax, this.absmax2, this.offset]) t?.dispose();
  }
}

/** NF4-quantizes a float tensor (any shape, flattened into blocks). */
export function quantizeNf4(w: Tensor, opts?: Nf4Options): Nf4Tensor {
  const options = optionsArg(opts, 'quantizeNf4');
  const hw = handleOf(w, 'quantizeNf4', 'w');
  const blockSize = options.blockSize ?? 64, doubleQuant = boolArg(options.doubleQuant, 'quantizeNf4', 'doubleQuant', true);
  if (!Number.isInteger(blockSize) || blockSize <= 0 || blockSize % 2 !== 0)
    throw new GermError(`quantizeNf4: blockSize must be a positive even integer, got ${describeValue(blockSize)}`,
      'ERR_INVALID_ARGUMENT');
  const [codes, absmax, absmax2, offset] = native().quantizeNf4(hw, blockSize, doubleQuant);
  return new Nf4Tensor(new Tensor(codes), new Tensor(absmax), absmax2 ? new Tensor(absmax2) : undefined,
    offset ? new Tensor(offset) : undefined, blockSize, [...w.shape]);
}
