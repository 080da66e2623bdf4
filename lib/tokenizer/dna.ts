// Input rules for DNA text, shared by every germ tokenizer.
//
// A, C, G, T and N are the alphabet; lower case is folded to upper (soft-masked
// repeats in FASTA files are lower case, and the mask means nothing to a
// tokenizer). The other IUPAC ambiguity codes (R Y S W K M B D H V) are refused
// by default rather than silently mapped, because a model trained on ACGTN never
// saw them and a caller feeding them in has usually read the wrong file; with
// { mapUnknownToN: true } they become N, as a genome pipeline would. Anything
// else (digits, spaces, '-', U) is always an error: no DNA tokenizer can mean it.
import { optionsArg } from '../dtype';
import { GermError } from '../errors';

export interface DnaOptions {
  /** Map IUPAC ambiguity codes (R Y S W K M B D H V) to N instead of refusing them. Default false. */
  mapUnknownToN?: boolean;
}

/** The alphabet, in id order after the special tokens. */
export const DNA_ALPHABET = ['A', 'C', 'G', 'T', 'N'] as const;

// Char code -> upper-case base code (0 = refused, -1 = IUPAC ambiguity code).
const TABLE = new Int16Array(128);
for (const c of 'ACGTN') {
  TABLE[c.charCodeAt(0)] = c.charCodeAt(0);
  TABLE[c.toLowerCase().charCodeAt(0)] = c.charCodeAt(0);
}
for (const c of 'RYSWKMBDHV') {
  TABLE[c.charCodeAt(0)] = -1;
  TABLE[c.toLowerCase().charCodeAt(0)] = -1;
}
const N = 'N'.charCodeAt(0);
// Char code -> 1 for the canonical (upper-case) bases A C G T N, else 0: the fast
// path's test. (Comparing TABLE[c] with c would pass NUL, whose entry is 0.)
const CANONICAL = new Uint8Array(128);
for (const c of 'ACGTN') CANONICAL[c.charCodeAt(0)] = 1;

/**
 * Validates DNA text and returns it upper-cased (IUPAC codes mapped to N when
 * asked). Errors are GermError ERR_INVALID_ARGUMENT naming the 0-based position
 * and the character.
 */
export function normalizeDna(seq: string, options?: DnaOptions): string {
  const mapUnknownToN = optionsArg(options, 'normalizeDna').mapUnknownToN;
  if (typeof seq !== 'string') throw new GermError(`DNA sequence must be a string, got ${typeof seq}`, 'ERR_INVALID_ARGUMENT');
  if (seq.length === 0) throw new GermError('DNA sequence is empty', 'ERR_INVALID_ARGUMENT');
  const n = seq.length;
  // Fast path: already canonical (the common case for 100k-base inputs), no copy.
  let i = 0;
  for (; i < n; i++) {
    const c = seq.charCodeAt(i);
    if (c >= 128 || CANONICAL[c] === 0) break;
  }
  if (i === n) return seq;
  const out = new Uint8Array(n);
  for (let j = 0; j < i; j++) out[j] = seq.charCodeAt(j);
  for (; i < n; i++) {
    const c = seq.charCodeAt(i);
    const t = c < 128 ? TABLE[c] : 0;
    if (t > 0) out[i] = t;
    else if (t === -1 && mapUnknownToN) out[i] = N;
    else {
      // codePointAt so an astral character is named whole, not as half a surrogate pair.
      const ch = String.fromCodePoint(seq.codePointAt(i)!);
      const why = t === -1 ? 'an IUPAC ambiguity code (pass { mapUnknownToN: true } to read it as N)' : 'not a DNA base';
      throw new GermError(`DNA sequence: character ${JSON.stringify(ch)} at position ${i} is ${why}`, 'ERR_INVALID_ARGUMENT');
    }
  }
  return new TextDecoder('latin1').decode(out);
}
