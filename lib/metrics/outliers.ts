// Outlier statistics of activations, as the GERM paper measures them:
// kurtosis per tensor (its appendix), mean per-token kurtosis (its evaluation
// code) and max |x| per tensor, channel and token. One native op computes all
// of them in one read of x and merges them into a running state of exact
// partial moments (f64 count, mean, M2, M3, M4), so statistics streamed over
// many calibration batches equal those of the concatenated activations.
import { describeValue } from '../dtype';
import { native } from '../native';
import { max } from '../ops';
import { GermError } from '../errors';
import { Tensor, handleOf, tensorArg } from '../tensor';

export type AbsMaxOver = 'tensor' | 'channel' | 'token';

export interface OutlierStatsResult {
  /** Elements seen. */
  count: number;
  /** Token rows seen (leading dims flattened; a 1-D batch is one token). */
  tokens: number;
  mean: number;
  /**
   * n * sum (x - mean)^4 / (sum (x - mean)^2)^2 over every element seen (not
   * excess: 3 for a Gaussian). NaN when all values are equal.
   */
  kurtosis: number;
  /**
   * Mean over token rows of mean((x - mean)^4) / (std^4 + 1e-6), std unbiased
   * (n - 1), not excess. A row of one value gives NaN, as torch.std does.
   */
  tokenKurtosis: number;
  /** max |x| over everything seen (NaN if any value was NaN). */
  absMax: number;
  /** max |x| per channel (the last dim). */
  channelAbsMax: Float32Array;
}

interface StepOut {
  state: Tensor;
  tokenKurtosis: Tensor;
  tokenAbsMax: Tensor;
  channelAbsMax: Tensor;
}

function step(op: string, x: Tensor, prev: Tensor | null): StepOut {
  const [state, k, rowMax, colMax] = native().outlierStats(handleOf(x, op, 'x'), prev?.handle ?? null);
  return { state: new Tensor(state), tokenKurtosis: new Tensor(k), tokenAbsMax: new Tensor(rowMax),
    channelAbsMax: new Tensor(colMax) };
}

/** The state's 8 doubles (kernels::StatsState). */
async function readState(state: Tensor): Promise<Omit<OutlierStatsResult, 'channelAbsMax'>> {
  const bytes = await state.bytes();
  const [n, mean, m2, , m4, rows, kurtSum, absMax] = new Float64Array(bytes.slice().buffer, 0, 8);
  return { count: n, tokens: rows, mean, kurtosis: (n * m4) / (m2 * m2), tokenKurtosis: kurtSum / rows, absMax };
}

function disposeAll(...ts: (Tensor | null)[]): void {
  for (const t of ts) t?.dispose();
}

/**
 * Streaming outlier statistics: update() with each batch of activations
 * ([tokens, hidden], or [..., hidden]: leading dims are tokens), then
 * result(). Nothing is concatenated: each update merges the batch's exact
 * partial moments into a 64-byte state on the device, and the channel max
 * |x| into a [hidden] vector. update() queues work and returns at once.
 *
 *   const acc = new OutlierStats('cuda:0');
 *   for (const h of hiddenStates) acc.update(h);
 *   const { kurtosis, tokenKurtosis, absMax } = await acc.result();
 */
export class OutlierStats {
  #device: string | undefined;
  #state: Tensor | null = null;
  #channels: Tensor | null = null;

  /** device: where the batches live; by default, the first batch's device. */
  constructor(device?: string) {
    if (device !== undefined && typeof device !== 'string')
      throw new GermError(`OutlierStats: device must be a string ('cpu', 'cuda:0' ...), got ${describeValue(device)}`,
        'ERR_INVALID_ARGUMENT');
    this.#device = device === 'cuda' ? 'cuda:0' : device;
  }

  update(x: Tensor): void {
    tensorArg(x, 'OutlierStats.update', 'x');
    if (this.#device !== undefined && x.device !== this.#device)
      throw new GermError(`OutlierStats.update: batch on ${x.device}, the accumulator is on ${this.#device}`,
        'ERR_DEVICE');
    const hidden = x.shape[x.ndim - 1];
    if (this.#channels && x.ndim > 0 && hidden !== this.#channels.shape[0])
      throw new GermError(`OutlierStats.update: batch [${x.shape}] has ${hidden} channels, earlier batches had ` +
        `${this.#channels.shape[0]}`, 'ERR_SHAPE');
    const out = step('OutlierStats.update', x, this.#state);
    this.#device = x.device;
    disposeAll(out.tokenKurtosis, out.tokenAbsMax, this.#state);
    this.#state = out.state;
    if (this.#channels) {
      const merged = new Tensor(native().binary('maximum', this.#channels.handle, out.channelAbsMax.handle));
      disposeAll(this.#channels, out.channelAbsMax);
      this.#channels = merged;
    } else {
      this.#channels = out.channelAbsMax;
    }
  }

  /** The statistics of every batch so far (ERR_INVALID_ARGUMENT before the first). */
  async result(): Promise<OutlierStatsResult> {
    if (!this.#state || !this.#channels)
      throw new GermError('OutlierStats.result: no batch seen yet; call update(x) first', 'ERR_INVALID_ARGUMENT');
    const [scalars, channelAbsMax] = await Promise.all([readState(this.#state), this.#channels.data<'f32'>()]);
    return { ...scalars, channelAbsMax };
  }

  /** Starts over (the device stays). */
  reset(): void {
    disposeAll(this.#state, this.#channels);
    this.#state = this.#channels = null;
  }

  dispose(): void {
    this.reset();
  }
}

/** Kurtosis of all of x as the GERM appendix defines it: n sum (x - mean)^4 / (sum (x - mean)^2)^2. */
export async function kurtosis(x: Tensor): Promise<number> {
  const out = step('kurtosis', x, null);
  disposeAll(out.tokenKurtosis, out.tokenAbsMax, out.channelAbsMax);
  try {
    return (await readState(out.state)).kurtosis;
  } finally {
    out.state.dispose();
  }
}

/**
 * Token kurtosis as GERM's evaluation code computes it: per row of x
 * ([..., hidden]), mean((x - mean)^4) / (std^4 + 1e-6) with the unbiased
 * std; perToken has x's leading shape flattened, mean is their average (f64).
 */
export async function tokenKurtosis(x: Tensor): Promise<{ perToken: Float32Array; mean: number }> {
  const out = step('tokenKurtosis', x, null);
  disposeAll(out.tokenAbsMax, out.channelAbsMax);
  try {
    const [perToken, state] = await Promise.all([out.tokenKurtosis.data<'f32'>(), readState(out.state)]);
    return { perToken, mean: state.tokenKurtosis };
  } finally {
    disposeAll(out.state, out.tokenKurtosis);
  }
}

/**
 * max |x| as an f32 tensor on x's device: over 'tensor' (shape []), per
 * 'channel' (the last dim: [hidden]) or per 'token' (x's leading shape).
 * NaN in x shows as NaN.
 */
export function absMax(x: Tensor, over: AbsMaxOver): Tensor {
  if (over !== 'tensor' && over !== 'channel' && over !== 'token')
    throw new GermError(`absMax: over must be 'tensor', 'channel' or 'token', got ${describeValue(over)}`,
      'ERR_INVALID_ARGUMENT');
  const out = step('absMax', x, null);
  disposeAll(out.state, out.tokenKurtosis);
  if (over === 'token') {
    out.channelAbsMax.dispose();
    return out.tokenAbsMax;
  }
  out.tokenAbsMax.dispose();
  if (over === 'channel') return out.channelAbsMax;
  try {
    return max(out.channelAbsMax);
  } finally {
    out.channelAbsMax.dispose();
  }
}
