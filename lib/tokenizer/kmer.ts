// k-mer tokenizer (DNABERT-1 style): ids 0..4 are the special tokens
// [UNK] [CLS] [SEP] [PAD] [MASK], then the 4^k k-mers over A C G T in
// lexicographic order (id = 5 + the k-mer read as a base-4 number, A=0 C=1 G=2
// T=3), so ids are computed, never looked up, and k = 12 needs no 16M-entry table.
// A k-mer containing N is [UNK].
//
// stride 1 gives overlapping k-mers (DNABERT-1), stride k non-overlapping ones.
// Bases after the last whole k-mer are dropped (a 10-base sequence in 3-mers with
// stride 3 keeps 9); decode() therefore returns the covered prefix. Strides above
// k would skip bases outright, so they are refused.
import { describeValue, optionsArg } from '../dtype';
import { GermError } from '../errors';
import type { BatchSpec } from './batch';
import { type DecodeOptions, DnaTokenizer, decodeArgs } from './tokenizer';
import { DEFAULT_SPECIAL_TOKENS } from './bpe';
import { type DnaOptions, normalizeDna } from './dna';

export interface KmerOptions {
  /** k-mer length, 1..12. */
  k: number;
  /** Bases between consecutive k-mer starts, 1..k. Overrides `overlapping`. */
  stride?: number;
  /** true (default): stride 1; false: stride k. */
  overlapping?: boolean;
}

const SPECIALS = DEFAULT_SPECIAL_TOKENS;
const UNK = 0, CLS = 1, SEP = 2, PAD = 3;
const FIRST = SPECIALS.length;
const BASES = 'ACGT';
const CODE = new Int8Array(128).fill(-1);
for (let i = 0; i < 4; i++) CODE[BASES.charCodeAt(i)] = i;

export class KmerTokenizer extends DnaTokenizer {
  readonly k: number;
  readonly stride: number;
  readonly unkId = UNK;
  readonly padId = PAD;
  protected readonly batchSpec: BatchSpec;

  constructor(options: KmerOptions) {
    super();
    const { k, stride: given, overlapping } = optionsArg(options, 'KmerTokenizer');
    if (!Number.isSafeInteger(k) || k < 1 || k > 12) throw new GermError(`KmerTokenizer: k must be an integer in [1, 12], got ${describeValue(k)}`, 'ERR_INVALID_ARGUMENT');
    const stride = given ?? (overlapping === false ? k : 1);
    if (!Number.isSafeInteger(stride) || stride < 1 || stride > k)
      throw new GermError(`KmerTokenizer: stride must be an integer in [1, k = ${k}], got ${describeValue(stride)}`, 'ERR_INVALID_ARGUMENT');
    this.k = k;
    this.stride = stride;
    this.batchSpec = { prefix: [CLS], suffix: [SEP], pad: PAD, content: (s, o) => this.encodeContent(s, o) };
  }

  /** Special tokens plus 4^k k-mers. */
  get vocabSize(): number {
    return FIRST + 4 ** this.k;
  }

  tokenId(token: string): number | undefined {
    const s = SPECIALS.indexOf(token as (typeof SPECIALS)[number]);
    if (s >= 0) return s;
    if (typeof token !== 'string' || token.length !== this.k) return undefined;
    let v = 0;
    for (let i = 0; i < token.length; i++) {
      const c = token.charCodeAt(i);
      const d = c < 128 ? CODE[c] : -1;
      if (d < 0) return undefined;
      v = v * 4 + d;
    }
    return FIRST + v;
  }

  idToken(id: number): string | undefined {
    if (!Number.isSafeInteger(id) || id < 0 || id >= this.vocabSize) return undefined;
    if (id < FIRST) return SPECIALS[id];
    let v = id - FIRST, s = '';
    for (let i = 0; i < this.k; i++, v = Math.floor(v / 4)) s = BASES[v % 4] + s;
    return s;
  }

  private encodeContent(seq: string, options: DnaOptions): Int32Array {
    const s = normalizeDna(seq, options);
    const { k, stride } = this;
    if (s.length < k) throw new GermError(`KmerTokenizer: a ${s.length}-base sequence is shorter than k = ${k}`, 'ERR_INVALID_ARGUMENT');
    const out = new Int32Array(Math.floor((s.length - k) / stride) + 1);
    for (let t = 0, start = 0; t < out.length; t++, start += stride) {
      let v = 0;
      for (let i = 0; i < k; i++) {
        const d = CODE[s.charCodeAt(start + i)];
        if (d < 0) { v = -1; break; } // N
        v = v * 4 + d;
      }
      out[t] = v < 0 ? UNK : FIRST + v;
    }
    return out;
  }


  /**
   * The DNA the k-mers cover: the first k-mer whole, then the last `stride`
   * bases of each next one. [UNK] stands for an N-containing k-mer, so it
   * decodes to N's (it is data, not markup); the other special tokens are
   * skipped, or written by name with skipSpecialTokens: false.
   */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string {
    const skip = decodeArgs(ids, options);
    let out = '', first = true;
    for (let i = 0; i < ids.length; i++) {
      const t = this.tokenAt(ids, i);
      if (ids[i] !== UNK && ids[i] < FIRST) {
        if (!skip) out += t;
        continue;
      }
      const kmer = ids[i] === UNK ? 'N'.repeat(this.k) : t;
      out += first ? kmer : kmer.slice(this.k - this.stride);
      first = false;
    }
    return out;
  }
}
