// A LoRA adapter's factors and their checks: W [out, in] is adapted by
// W + (alpha / r) B A with A [r, in] and B [out, r].
import { describeValue, optionsArg } from '../dtype';
import { GermError } from '../errors';
import { type Tensor, tensorArg } from '../tensor';

/**
 * The largest rank of the fused LoRA kernels (the in-place merge and
 * LoraLinear's forward): kernels::kLoraMaxRank in cuda/lora/lora_args.h, which
 * the addon does not export, so it is restated here, once. loraMerge takes a
 * larger rank through the GEMM; LoraLinear does not.
 */
export const LORA_MAX_RANK = 128;

export interface LoraAdapter {
  /** [r, in], the down projection. */
  A: Tensor;
  /** [out, r], the up projection. */
  B: Tensor;
  /** The LoRA alpha: the update is scaled by alpha / r. */
  alpha: number;
  /** r; if given it must equal A's rows and B's columns. */
  rank?: number;
}

export interface CheckedAdapter {
  rank: number;
  /** alpha / rank. */
  scale: number;
}

const dims = (t: Tensor) => `[${t.shape.join(', ')}]`;

/** Validates an adapter against a weight [out, in]: shapes, rank, dtype, device, alpha. */
export function checkAdapter(op: string, weight: Tensor, adapter: LoraAdapter): CheckedAdapter {
  tensorArg(weight, op, 'weight');
  const ad = optionsArg(adapter, op, 'adapter');
  const A = tensorArg(ad.A, op, 'A'), B = tensorArg(ad.B, op, 'B'), alpha = ad.alpha;
  const what = `W ${dims(weight)}, A ${dims(A)}, B ${dims(B)}`;
  if (weight.ndim !== 2 || A.ndim !== 2 || B.ndim !== 2)
    throw new GermError(`${op}: W, A and B must be 2-D, got ${what}`, 'ERR_SHAPE');
  const [out, inF] = weight.shape, r = A.shape[0];
  if (A.shape[1] !== inF || B.shape[0] !== out || B.shape[1] !== r)
    throw new GermError(`${op}: expected A [r, ${inF}] and B [${out}, r] for W ${dims(weight)}, got ${what}`, 'ERR_SHAPE');
  if (r < 1 || (ad.rank !== undefined && ad.rank !== r))
    throw new GermError(`${op}: rank ${ad.rank ?? r} does not match A's ${r} rows (${what})`, 'ERR_SHAPE');
  if (A.dtype !== weight.dtype || B.dtype !== weight.dtype)
    throw new GermError(`${op}: W, A and B must share a dtype, got ${weight.dtype}, ${A.dtype}, ${B.dtype}`, 'ERR_DTYPE');
  if (A.device !== weight.device || B.device !== weight.device)
    throw new GermError(`${op}: W, A and B must be on one device, got ${weight.device}, ${A.device}, ${B.device}`,
      'ERR_DEVICE');
  if (typeof alpha !== 'number' || !Number.isFinite(alpha))
    throw new GermError(`${op}: alpha must be a finite number, got ${describeValue(alpha)}`, 'ERR_INVALID_ARGUMENT');
  return { rank: r, scale: alpha / r };
}
