// Single-base tokenizer for causal DNA language models (HyenaDNA / Evo style,
// one token per nucleotide): ids 0..4 are [UNK] [CLS] [SEP] [PAD] [MASK], then
// A C G T N are 5..9. Every valid input base has its own id, so encoding is a
// table lookup and decoding is exact.
import type { BatchSpec } from './batch';
import { DEFAULT_SPECIAL_TOKENS } from './bpe';
import { type DecodeOptions, DnaTokenizer } from './tokenizer';
import { DNA_ALPHABET, type DnaOptions, normalizeDna } from './dna';

const TOKENS: readonly string[] = [...DEFAULT_SPECIAL_TOKENS, ...DNA_ALPHABET];
const FIRST = DEFAULT_SPECIAL_TOKENS.length;
const ID = new Int32Array(128);
DNA_ALPHABET.forEach((c, i) => (ID[c.charCodeAt(0)] = FIRST + i));

export class BaseTokenizer extends DnaTokenizer {
  readonly vocabSize = TOKENS.length;
  readonly unkId = 0;
  readonly padId = 3;
  protected readonly batchSpec: BatchSpec = { prefix: [1], suffix: [2], pad: 3, content: (s, o) => this.encodeContent(s, o) };

  tokenId(token: string): number | undefined {
    const i = TOKENS.indexOf(token);
    return i >= 0 ? i : undefined;
  }

  idToken(id: number): string | undefined {
    return Number.isSafeInteger(id) ? TOKENS[id] : undefined;
  }

  private encodeContent(seq: string, options: DnaOptions): Int32Array {
    const s = normalizeDna(seq, options);
    const out = new Int32Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = ID[s.charCodeAt(i)];
    return out;
  }

  decode(ids: ArrayLike<number>, options?: DecodeOptions): string {
    return this.joinTokens(ids, options, (id) => id < FIRST);
  }
}
