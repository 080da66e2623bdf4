// ALiBi head slopes (Press et al. 2022), as DNABERT-2's bert_layers.py builds
// them. The formula lives once, natively (cpp/ops/attention_ops.cc
// alibi_slopes), where attention({ alibi: true }) also derives them.
import { describeValue } from './dtype';
import { GermError } from './errors';
import { native } from './native';

/**
 * The most attention heads ALiBi slopes are built for (and so the most heads
 * a config.json may declare): far above any model's count (DNABERT-2 has 12,
 * the largest LLMs 128), low enough that a corrupt shape or file fails at once
 * instead of building millions of slopes. The native limit (cpp/ops/ops.h
 * kAlibiMaxHeads) is the one enforced; this is its value, for config limits
 * read before any native code loads.
 */
export const ALIBI_MAX_HEADS = 4096;

/** [heads] f32 slopes; heads must be an integer in [1, ALIBI_MAX_HEADS] (else ERR_INVALID_ARGUMENT). */
export function alibiSlopes(heads: number): Float32Array {
  if (typeof heads !== 'number')
    throw new GermError(`alibiSlopes: heads must be an integer, got ${describeValue(heads)}`, 'ERR_INVALID_ARGUMENT');
  return native().alibiSlopes(heads);
}
