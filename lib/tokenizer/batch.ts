// Batching shared by every germ tokenizer: each tokenizer turns one sequence
// into its content ids (no special tokens); this module adds the template's
// special tokens, truncates, pads, and lays the batch out row-major as the
// encoder's [B, L] input, with per-row attention lengths rather than a mask
// (germ's attention takes lengths, and a mask is derivable from them).
import { describeValue, optionsArg } from '../dtype';
import { GermError, invalidArgument } from '../errors';
import type { DnaOptions } from './dna';

export interface Encoding {
  ids: Int32Array;
  tokens: string[];
}

export interface EncodeOptions extends DnaOptions {
  /** Add the template's special tokens ([CLS] ... [SEP]). Default true. */
  addSpecialTokens?: boolean;
}

export interface BatchOptions extends EncodeOptions {
  /** The longest row allowed, special tokens included. */
  maxLength?: number;
  /** 'longest' (default) pads to the batch's longest row, 'max_length' to maxLength, false requires equal lengths. */
  padding?: 'longest' | 'max_length' | false;
  /** Cut rows longer than maxLength, keeping the special tokens at both ends. Default false. */
  truncation?: boolean;
}

export interface EncodedBatch {
  /** Row-major [B, L] token ids, padded with the [PAD] id. */
  ids: Int32Array;
  /** Tokens per row before padding (the attention lengths). */
  lengths: Int32Array;
  shape: [number, number];
}

/** What a tokenizer tells the batcher about itself. */
export interface BatchSpec {
  /** Ids put before and after the content (from the post-processing template). */
  prefix: readonly number[];
  suffix: readonly number[];
  /** The [PAD] id, or null when the vocabulary has none (then only unpadded batches work). */
  pad: number | null;
  /** One sequence's content ids, DNA rules applied. */
  content: (seq: string, options: DnaOptions) => Int32Array;
}

/** Content ids with the template's special tokens around them. */
export function withSpecials(spec: Pick<BatchSpec, 'prefix' | 'suffix'>, content: Int32Array, add: boolean): Int32Array {
  if (!add) return content;
  const out = new Int32Array(spec.prefix.length + content.length + spec.suffix.length);
  out.set(spec.prefix, 0);
  out.set(content, spec.prefix.length);
  out.set(spec.suffix, spec.prefix.length + content.length);
  return out;
}

export function encodeBatch(spec: BatchSpec, seqs: readonly string[], opts?: BatchOptions): EncodedBatch {
  if (!Array.isArray(seqs)) throw invalidArgument('encodeBatch: sequences must be an array of strings');
  const options = optionsArg(opts, 'encodeBatch');
  const { maxLength, truncation = false } = options;
  const padding = options.padding === undefined ? 'longest' : options.padding;
  if (padding !== 'longest' && padding !== 'max_length' && padding !== false)
    throw invalidArgument(`encodeBatch: padding must be 'longest', 'max_length' or false, got ${JSON.stringify(padding)}`);
  const add = options.addSpecialTokens ?? true;
  const specials = add ? spec.prefix.length + spec.suffix.length : 0;
  if (maxLength !== undefined && (!Number.isSafeInteger(maxLength) || maxLength <= specials))
    throw invalidArgument(`encodeBatch: maxLength must be an integer above the ${specials} special tokens, got ${describeValue(maxLength)}`);
  if ((truncation || padding === 'max_length') && maxLength === undefined)
    throw invalidArgument(`encodeBatch: ${truncation ? 'truncation' : "padding: 'max_length'"} needs maxLength`);

  const rows: Int32Array[] = [];
  for (let b = 0; b < seqs.length; b++) {
    let content: Int32Array;
    try {
      content = spec.content(seqs[b], options);
    } catch (e) {
      // Name the row: "position 17" alone is useless in a batch of 10,000.
      if (e instanceof GermError) throw new GermError(`sequence ${b}: ${e.message}`, e.code);
      throw e;
    }
    if (maxLength !== undefined && content.length + specials > maxLength) {
      if (!truncation)
        throw invalidArgument(`encodeBatch: sequence ${b} has ${content.length + specials} tokens, more than maxLength ${maxLength} (pass truncation: true to cut it)`);
      content = content.subarray(0, maxLength - specials);
    }
    rows.push(withSpecials(spec, content, add));
  }

  const longest = rows.reduce((m, r) => Math.max(m, r.length), 0);
  const L = padding === 'max_length' ? maxLength! : longest;
  if (padding === false) {
    const odd = rows.findIndex((r) => r.length !== longest);
    if (odd >= 0) throw invalidArgument(`encodeBatch: with padding: false every row needs the same length, but sequence ${odd} has ${rows[odd].length} tokens and another ${longest}`);
  }
  const lengths = Int32Array.from(rows, (r) => r.length);
  const needsPad = rows.some((r) => r.length < L);
  if (needsPad && spec.pad === null) throw invalidArgument('encodeBatch: the vocabulary has no [PAD] token, so rows cannot be padded');
  const ids = new Int32Array(rows.length * L).fill(spec.pad ?? 0);
  rows.forEach((r, b) => ids.set(r, b * L));
  return { ids, lengths, shape: [rows.length, L] };
}
