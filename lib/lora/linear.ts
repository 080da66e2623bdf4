// LoraLinear: a frozen nn.Linear weight W [out, in] (+ bias) with a trainable
// LoRA adapter, y = x W^T + b + (alpha / r) (x A^T) B^T, llm.c style: forward
// keeps what its backward needs, backward returns dx and accumulates dA, dB.
//
// The forward reads x once: W and A are stacked into one [out + r, in] weight
// when the adapter is attached, and the native loraForward returns
// [x W^T + b + (alpha / r) (x A^T) B^T | x A^T] as [M, out + r]: on an H100 one
// fused kernel (cuda/gemm/gemm_lora_wgmma_sm90a.cu: x A^T rides along the main
// GEMM's loop, for r a multiple of 8 up to 32); elsewhere one GEMM over the
// stack and a second, small one (k = r) adding (alpha / r) (x A^T) B^T into the
// first `out` columns in place. y is that column slice (a view with row stride
// out + r) and x A^T, the other slice, is what the backward keeps. No copies
// besides the stack, which is built once.
//
// Backward (W frozen), with s = alpha / r and dyB = dy B [M, r]:
//   dB = s dy^T (x A^T)    dA = s dyB^T x    dx = dy W + s dyB A
// dA and dB accumulate over backward calls (one GEMM with beta = 1 each)
// until zeroGrad(). All tensors share one float dtype; gradients are kept in
// it too (accumulating many bf16 steps loses precision: pass f32 if that matters).
import { optionsArg } from '../dtype';
import { GermError } from '../errors';
import { matmul, zeros } from '../ops';
import { Tensor, tensorArg } from '../tensor';
import { LORA_MAX_RANK, checkAdapter } from './adapter';
import { catRows, loraForward, matmulInto } from './ops';

export interface LoraLinearOptions {
  /** [out, in], frozen. Copied into the stack: the caller may dispose its own. */
  weight: Tensor;
  /** [out], optional. */
  bias?: Tensor;
  /** [r, in]. Copied into the stack. */
  A: Tensor;
  /** [out, r]. Read in place (kept by reference). */
  B: Tensor;
  alpha: number;
  /** r; checked against A and B when given. */
  rank?: number;
}

export interface LoraGrads {
  /** Gradient of x, shaped like x; the caller owns it. */
  dx: Tensor;
  /** Accumulated gradient of A [r, in]; owned by the module (valid until zeroGrad / dispose). */
  dA: Tensor;
  /** Accumulated gradient of B [out, r]; owned by the module. */
  dB: Tensor;
}

interface Saved {
  /** x as [M, in]. */
  x: Tensor;
  /** x A^T [M, r]: a column slice of the forward's [M, out + r] buffer. */
  xa: Tensor;
  lead: number[];
}

const dims = (s: number[]) => `[${s.join(', ')}]`;
const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

export class LoraLinear {
  readonly outFeatures: number;
  readonly inFeatures: number;
  readonly dtype: string;
  readonly device: string;
  rank = 0;
  /** alpha / rank. */
  scale = 0;
  readonly alpha: number;
  /** [out + r, in]: W over A. */
  #stacked!: Tensor;
  #stackedBias: Tensor | null = null;
  #bias: Tensor | null;
  #B!: Tensor;
  #saved: Saved | null = null;
  #gradA: Tensor | null = null;
  #gradB: Tensor | null = null;

  constructor(options: LoraLinearOptions) {
    const opts = optionsArg(options, 'LoraLinear');
    const weight = tensorArg(opts.weight, 'LoraLinear', 'weight');
    const bias = opts.bias === undefined || opts.bias === null ? undefined : tensorArg(opts.bias, 'LoraLinear', 'bias');
    [this.outFeatures, this.inFeatures] = weight.ndim === 2 ? weight.shape : [0, 0];
    this.dtype = weight.dtype;
    this.device = weight.device;
    this.alpha = opts.alpha;
    if (bias) {
      if (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0])
        throw new GermError(`LoraLinear: bias must be [${weight.shape[0]}], got ${dims(bias.shape)}`, 'ERR_SHAPE');
      if (bias.dtype !== weight.dtype || bias.device !== weight.device)
        throw new GermError(`LoraLinear: bias must be ${weight.dtype} on ${weight.device}, got ${bias.dtype} on ` +
          `${bias.device}`, 'ERR_DTYPE');
    }
    this.#bias = bias ? bias.alias() : null;  // own handles: the caller may dispose its own
    this.#attach(weight, opts.A, opts.B, opts.rank);
  }

  /** W [out, in]: a view of the stack. */
  get weight(): Tensor {
    return this.#stacked.narrow(0, 0, this.outFeatures);
  }
  /** A [r, in]: a view of the stack. */
  get A(): Tensor {
    return this.#stacked.narrow(0, this.outFeatures, this.rank);
  }
  get B(): Tensor {
    return this.#B.alias();
  }

  /**
   * Replaces the adapter (e.g. after an optimizer step), rebuilding the stack;
   * the rank may change. Drops the saved forward and the gradients.
   */
  setAdapter(A: Tensor, B: Tensor, rank?: number): void {
    const weight = this.weight;
    try {
      this.#attach(weight, A, B, rank);
    } finally {
      weight.dispose();
    }
  }

  #attach(weight: Tensor, A: Tensor, B: Tensor, rank: number | undefined): void {
    const checked = checkAdapter('LoraLinear', weight, { A, B, alpha: this.alpha, rank });
    if (checked.rank > LORA_MAX_RANK)
      throw new GermError(`LoraLinear: rank ${checked.rank} is above the fused kernel's limit ${LORA_MAX_RANK} ` +
        '(merge such an adapter with loraMerge instead)', 'ERR_INVALID_ARGUMENT');
    const stacked = catRows([weight, A]);
    let stackedBias: Tensor | null = null;
    if (this.#bias) {
      using pad = zeros([checked.rank], { dtype: this.#bias.dtype, device: this.device });
      stackedBias = catRows([this.#bias, pad]);
    }
    this.#release();
    this.#stacked = stacked;
    this.#stackedBias = stackedBias;
    this.#B = B.alias();
    ({ rank: this.rank, scale: this.scale } = checked);
  }

  /** x [..., in] -> y [..., out]; keeps x and x A^T for backward. */
  forward(x: Tensor): Tensor {
    tensorArg(x, 'LoraLinear.forward', 'x');
    const { outFeatures: out, inFeatures: inF, rank: r } = this;
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF)
      throw new GermError(`LoraLinear.forward: x must be [..., ${inF}], got ${dims(x.shape)}`, 'ERR_SHAPE');
    if (x.dtype !== this.dtype || x.device !== this.device)
      throw new GermError(`LoraLinear.forward: x must be ${this.dtype} on ${this.device}, got ${x.dtype} on ${x.device}`,
        'ERR_DTYPE');
    const lead = x.shape.slice(0, -1), M = prod(lead);
    const x2 = x.reshape([M, inF]);
    using both = loraForward(x2, this.#stacked, this.#stackedBias, this.#B, r, this.scale);
    const xa = both.narrow(1, out, r);
    this.#dropSaved();
    this.#saved = { x: x2, xa, lead };
    // y: the first `out` columns, [M, out] at row stride out + r, as [...lead, out].
    using y = both.narrow(1, 0, out);
    return y.unflatten(0, lead);
  }

  /**
   * dy [..., out] (shaped like the last forward's y) -> dx; accumulates dA
   * and dB. One backward per forward: the saved activations are released.
   */
  backward(dy: Tensor): LoraGrads {
    tensorArg(dy, 'LoraLinear.backward', 'dy');
    const saved = this.#saved;
    if (!saved)
      throw new GermError('LoraLinear.backward: no saved forward (call forward first; each forward allows one backward)',
        'ERR_INVALID_ARGUMENT');
    const { outFeatures: out, inFeatures: inF, scale: s } = this;
    const want = [...saved.lead, out];
    if (dy.ndim !== want.length || dy.shape.some((d, i) => d !== want[i]))
      throw new GermError(`LoraLinear.backward: dy must be ${dims(want)} like y, got ${dims(dy.shape)}`, 'ERR_SHAPE');
    if (dy.dtype !== this.dtype || dy.device !== this.device)
      throw new GermError(`LoraLinear.backward: dy must be ${this.dtype} on ${this.device}, got ${dy.dtype} on ` +
        `${dy.device}`, 'ERR_DTYPE');
    const M = prod(saved.lead);
    using dy2 = dy.reshape([M, out]);
    using dyB = matmul(dy2, this.#B); // [M, r]
    if (this.#gradB) matmulInto(this.#gradB, dy2, saved.xa, { transA: true, alpha: s, beta: 1 });
    else this.#gradB = matmul(dy2, saved.xa, { transA: true, alpha: s });
    if (this.#gradA) matmulInto(this.#gradA, dyB, saved.x, { transA: true, alpha: s, beta: 1 });
    else this.#gradA = matmul(dyB, saved.x, { transA: true, alpha: s });
    using W = this.weight, A = this.A;
    using dx2 = matmul(dy2, W);
    matmulInto(dx2, dyB, A, { alpha: s, beta: 1 });
    this.#dropSaved();
    return { dx: dx2.reshape([...saved.lead, inF]), dA: this.#gradA, dB: this.#gradB };
  }

  /** Frees the accumulated dA and dB; the next backward starts from zero. */
  zeroGrad(): void {
    this.#gradA?.dispose();
    this.#gradB?.dispose();
    this.#gradA = this.#gradB = null;
  }

  #dropSaved(): void {
    if (!this.#saved) return;
    this.#saved.x.dispose();
    this.#saved.xa.dispose();
    this.#saved = null;
  }

  #release(): void {
    this.#dropSaved();
    this.zeroGrad();
    this.#stacked?.dispose();
    this.#stackedBias?.dispose();
    this.#B?.dispose();
  }

  dispose(): void {
    this.#release();
    this.#bias?.dispose();
    this.#bias = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
