// ALiBi head slopes (Press et al. 2022), as DNABERT-2's bert_layers.py builds
// them: a geometric sequence starting at 2^(-8/n) for n a power of two; for
// other head counts, the slopes of the nearest lower power of two followed by
// every other slope of twice that count (one level: twice a power of two is
// one, so no recursion is needed).
import { describeValue } from './dtype';
import { GermError } from './errors';

/**
 * The most attention heads ALiBi slopes are built for (and so the most heads
 * a config.json may declare): far above any model's count (DNABERT-2 has 12,
 * the largest LLMs 128), low enough that a corrupt shape or file fails at once
 * instead of building millions of slopes.
 */
export const ALIBI_MAX_HEADS = 4096;

/** The slopes of n heads, n a power of two: start^1 .. start^n with start = 2^(-8/n). */
function powerOfTwoSlopes(n: number): number[] {
  const start = 2 ** (-(2 ** -(Math.log2(n) - 3)));
  return Array.from({ length: n }, (_, i) => start * start ** i);
}

/** [heads] f32 slopes; heads must be an integer in [1, ALIBI_MAX_HEADS] (else ERR_INVALID_ARGUMENT). */
export function alibiSlopes(heads: number): Float32Array {
  if (typeof heads !== 'number' || !Number.isInteger(heads) || heads < 1 || heads > ALIBI_MAX_HEADS)
    throw new GermError(`alibiSlopes: heads must be an integer in [1, ${ALIBI_MAX_HEADS}], got ${describeValue(heads)}`,
      'ERR_INVALID_ARGUMENT');
  const closest = 2 ** Math.floor(Math.log2(heads));
  if (closest === heads) return Float32Array.from(powerOfTwoSlopes(heads));
  const extra = powerOfTwoSlopes(2 * closest).filter((_, i) => i % 2 === 0).slice(0, heads - closest);
  return Float32Array.from([...powerOfTwoSlopes(closest), ...extra]);
}
