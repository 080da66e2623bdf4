// BPE training as DNABERT-2 did it (HF `BpeTrainer` / SentencePiece-style BPE):
// special tokens first (ids 0..4), then the alphabet A C G T N (so A C G T are
// 5..8, as in DNABERT-2's vocabulary), then one token per merge of the most
// frequent adjacent pair until the vocabulary reaches vocabSize.
//
// Each sequence is one word (DNA has no whitespace to pre-tokenize on). All
// sequences live in one doubly linked list of symbols, and pair counts are kept
// up to date incrementally: a merge touches only the neighbours of the
// occurrences it merges, so a step costs time proportional to those occurrences,
// not to the corpus. Every position where a pair was ever formed is remembered in
// that pair's list; entries made stale by later merges are skipped when read.
// The most frequent pair comes from a lazy max-heap: counts of existing pairs
// only fall, so a popped entry whose count is out of date is re-pushed with its
// current count, and every pair whose count rose during a step is pushed afresh.
//
// Overlapping occurrences ("AAA" holds A+A twice) are counted twice, as HF does,
// and merged left to right, as the encoder does. Ties on count go to the
// lexicographically smallest (left, right) pair, so training is deterministic.
import { describeValue, optionsArg } from '../dtype';
import { GermError } from '../errors';
import { BpeTokenizer, DEFAULT_SPECIAL_TOKENS, MAX_VOCAB } from './bpe';
import { DNA_ALPHABET, type DnaOptions, normalizeDna } from './dna';

export interface TrainBpeOptions extends DnaOptions {
  /** Final vocabulary size, special tokens and alphabet included. */
  vocabSize: number;
  /** In id order; the first is the unknown token. Default [UNK] [CLS] [SEP] [PAD] [MASK]. */
  specialTokens?: readonly string[];
  /** Pairs seen fewer times than this are never merged. Default 1: merge until vocabSize, as asked. */
  minFrequency?: number;
}

const PAIR = MAX_VOCAB; // ids stay below this, so left * PAIR + right is an exact double

/**
 * Learns a BPE vocabulary from DNA sequences. Stops early (with a smaller
 * vocabulary) only if no pair reaches minFrequency any more, e.g. when every
 * sequence has become a single token.
 */
export function trainBpe(sequences: Iterable<string>, opts: TrainBpeOptions): BpeTokenizer {
  const arg = (m: string) => new GermError(`trainBpe: ${m}`, 'ERR_INVALID_ARGUMENT');
  if (typeof sequences === 'string' || typeof (sequences as Partial<Iterable<string>>)?.[Symbol.iterator] !== 'function')
    throw arg(`sequences must be an iterable of strings (an array, say), got ${describeValue(sequences)}`);
  const options = optionsArg(opts, 'trainBpe');
  const { vocabSize, minFrequency = 1 } = options;
  if (options.specialTokens !== undefined && (!Array.isArray(options.specialTokens)
    || options.specialTokens.some((t) => typeof t !== 'string' || t === '')))
    throw arg('specialTokens must be an array of non-empty strings');
  const specials = [...(options.specialTokens ?? DEFAULT_SPECIAL_TOKENS)];
  if (specials.length === 0) throw arg('specialTokens must hold at least the unknown token');
  if (new Set([...specials, ...DNA_ALPHABET]).size !== specials.length + DNA_ALPHABET.length)
    throw arg('specialTokens must be distinct and must not be bases');
  const base = specials.length + DNA_ALPHABET.length;
  if (!Number.isSafeInteger(vocabSize) || vocabSize < base || vocabSize >= PAIR)
    throw arg(`vocabSize must be an integer in [${base}, 2^24), got ${describeValue(vocabSize)}`);
  if (!Number.isSafeInteger(minFrequency) || minFrequency < 1) throw arg(`minFrequency must be a positive integer, got ${describeValue(minFrequency)}`);

  const tokens: string[] = [...specials, ...DNA_ALPHABET];
  const tokenId = new Map(tokens.map((t, i) => [t, i]));
  const merges: [string, string][] = [];

  // The corpus as one symbol array; next / prev are -1 across sequence ends.
  const seqs: string[] = [];
  let total = 0, idx = 0;
  for (const s of sequences) {
    let norm: string;
    try {
      norm = normalizeDna(s, options);
    } catch (e) {
      if (e instanceof GermError) throw new GermError(`trainBpe: sequence ${idx}: ${e.message}`, e.code);
      throw e;
    }
    seqs.push(norm);
    total += norm.length;
    idx++;
  }
  const sym = new Int32Array(total);
  const prev = new Int32Array(total);
  const next = new Int32Array(total);
  const baseId = new Int32Array(128);
  DNA_ALPHABET.forEach((c, i) => (baseId[c.charCodeAt(0)] = specials.length + i));
  let at = 0;
  for (const s of seqs) {
    for (let i = 0; i < s.length; i++) {
      sym[at + i] = baseId[s.charCodeAt(i)];
      prev[at + i] = i > 0 ? at + i - 1 : -1;
      next[at + i] = i + 1 < s.length ? at + i + 1 : -1;
    }
    at += s.length;
  }
  seqs.length = 0;

  const count = new Map<number, number>();
  const where = new Map<number, number[]>();
  const add = (a: number, b: number, pos: number, d: number) => {
    const k = a * PAIR + b;
    count.set(k, (count.get(k) ?? 0) + d);
    if (d > 0) {
      const w = where.get(k);
      if (w) w.push(pos);
      else where.set(k, [pos]);
    }
  };
  for (let i = 0; i < total; i++) if (next[i] >= 0) add(sym[i], sym[next[i]], i, 1);

  // Max-heap of [count, pair key]: higher count first, then the smaller (left, right) strings.
  const heap: [number, number][] = [];
  const before = (x: [number, number], y: [number, number]) => {
    if (x[0] !== y[0]) return x[0] > y[0];
    const xa = tokens[Math.floor(x[1] / PAIR)], ya = tokens[Math.floor(y[1] / PAIR)];
    if (xa !== ya) return xa < ya;
    return tokens[x[1] % PAIR] < tokens[y[1] % PAIR];
  };
  const push = (e: [number, number]) => {
    let i = heap.push(e) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, heap[p])) break;
      heap[i] = heap[p];
      i = p;
    }
    heap[i] = e;
  };
  const pop = (): [number, number] => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= heap.length) break;
        if (c + 1 < heap.length && before(heap[c + 1], heap[c])) c++;
        if (!before(heap[c], last)) break;
        heap[i] = heap[c];
        i = c;
      }
      heap[i] = last;
    }
    return top;
  };
  for (const [k, c] of count) push([c, k]);

  while (tokenId.size < vocabSize && heap.length > 0) {
    const top = pop();
    const current = count.get(top[1]) ?? 0;
    if (current !== top[0]) {
      if (current > 0) push([current, top[1]]);
      continue;
    }
    if (current < minFrequency) break; // the best pair is too rare, so all are
    const a = Math.floor(top[1] / PAIR), b = top[1] % PAIR;
    const merged = tokens[a] + tokens[b];
    // "A"+"AG" and "AA"+"G" make the same token: reuse its id, as HF does.
    let m = tokenId.get(merged);
    if (m === undefined) {
      m = tokens.length;
      tokens.push(merged);
      tokenId.set(merged, m);
    }
    merges.push([tokens[a], tokens[b]]);

    const positions = Float64Array.from(where.get(top[1]) ?? []).sort();
    where.delete(top[1]);
    const rose = new Set<number>();
    for (let j = 0; j < positions.length; j++) {
      const p = positions[j];
      const q = next[p];
      if (sym[p] !== a || q < 0 || sym[q] !== b) continue; // stale, or taken by an overlapping merge
      const l = prev[p], r = next[q];
      add(a, b, p, -1);
      if (l >= 0) {
        add(sym[l], a, l, -1);
        add(sym[l], m, l, 1);
        rose.add(sym[l] * PAIR + m);
      }
      if (r >= 0) {
        add(b, sym[r], q, -1);
        add(m, sym[r], p, 1);
        rose.add(m * PAIR + sym[r]);
      }
      sym[p] = m;
      sym[q] = -1;
      next[p] = r;
      if (r >= 0) prev[r] = p;
    }
    for (const k of rose) {
      const c = count.get(k)!;
      if (c > 0) push([c, k]);
    }
    count.delete(top[1]);
  }

  const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
  return BpeTokenizer.fromJSON({
    version: '1.0',
    added_tokens: specials.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    post_processor: null,
    model: { type: 'BPE', unk_token: specials[0], vocab, merges: merges.map(([x, y]) => `${x} ${y}`) },
  }, 'trainBpe');
}
