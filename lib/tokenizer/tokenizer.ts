// What every germ tokenizer shares: special tokens around the content ids,
// padded batches, and decoding by concatenation. A subclass says how DNA
// becomes content ids (its BatchSpec) and what each id spells.
import { describeValue, optionsArg } from '../dtype';
import { GermError } from '../errors';
import { type BatchOptions, type BatchSpec, type EncodeOptions, type EncodedBatch, type Encoding,
  encodeBatch, withSpecials } from './batch';

export interface DecodeOptions {
  /** Leave out special tokens ([CLS], [SEP], [PAD] ...). Default true. */
  skipSpecialTokens?: boolean;
}

export abstract class DnaTokenizer {
  protected abstract readonly batchSpec: BatchSpec;

  /** The token an id stands for, or undefined outside the vocabulary. */
  abstract idToken(id: number): string | undefined;

  /** Token ids (and token strings) of one DNA sequence, with [CLS] / [SEP] unless addSpecialTokens is false. */
  encode(seq: string, options?: EncodeOptions): Encoding {
    const o = optionsArg(options, 'encode');
    const ids = withSpecials(this.batchSpec, this.batchSpec.content(seq, o), o.addSpecialTokens ?? true);
    return { ids, tokens: Array.from(ids, (id) => this.idToken(id)!) };
  }

  /** A padded [B, L] batch; see BatchOptions. */
  encodeBatch(seqs: readonly string[], options?: BatchOptions): EncodedBatch {
    return encodeBatch(this.batchSpec, seqs, options);
  }

  abstract decode(ids: ArrayLike<number>, options?: DecodeOptions): string;

  /** decode() for tokenizers whose tokens simply concatenate. */
  protected joinTokens(ids: ArrayLike<number>, options: DecodeOptions | undefined, isSpecial: (id: number) => boolean): string {
    const skip = decodeArgs(ids, options);
    const parts: string[] = [];
    for (let i = 0; i < ids.length; i++) parts.push(this.tokenAt(ids, i));
    return parts.filter((_, i) => !(skip && isSpecial(ids[i]))).join('');
  }

  /** The token of ids[i]; an id outside the vocabulary is an error naming its position. */
  protected tokenAt(ids: ArrayLike<number>, i: number): string {
    const t = this.idToken(ids[i]);
    if (t === undefined) throw new GermError(`decode: id ${ids[i]} at position ${i} is not in the vocabulary`, 'ERR_INVALID_ARGUMENT');
    return t;
  }
}

/** decode()'s arguments checked: ids an array or typed array; returns skipSpecialTokens. */
export function decodeArgs(ids: unknown, options: DecodeOptions | undefined): boolean {
  if (!Array.isArray(ids) && !(ArrayBuffer.isView(ids) && !(ids instanceof DataView)))
    throw new GermError(`decode: ids must be an array or a typed array of ids, got ${describeValue(ids)}`, 'ERR_INVALID_ARGUMENT');
  return optionsArg(options, 'decode').skipSpecialTokens ?? true;
}
