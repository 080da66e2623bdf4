// A Hugging Face `tokenizer.json` BPE tokenizer, as DNABERT-2 ships it.
//
// DNABERT-2's pipeline is: Whitespace pre-tokenizer (DNA has no whitespace, so
// a sequence is one word), BPE over its characters, then TemplateProcessing
// [CLS] $A [SEP]. Rather than implement HF's general normalizer / pre-tokenizer
// machinery, germ applies its own DNA input rules (dna.ts) and treats the whole
// sequence as one word, which is what those components amount to on DNA text.
//
// Merges are applied as HF's `Word::merge_all` does: always the lowest-rank
// adjacent pair, leftmost first among equals. A naive loop rescans the word per
// merge (O(n^2) on a 100k-base sequence); here a min-heap of candidate pairs over
// a doubly linked list of symbols makes it O(n log n). Heap entries are never
// updated in place: a merge leaves stale entries behind, which are recognised and
// dropped when popped (their left symbol is gone, or the pair there has changed).
//
// Model options that would change the output and that DNABERT-2 does not use
// (continuing_subword_prefix, end_of_word_suffix, fuse_unk, byte_fallback) are
// refused with ERR_FORMAT rather than ignored, so a tokenizer germ cannot
// reproduce never silently produces different ids.
import { describeValue } from '../dtype';
import { GermError } from '../errors';
import { MAX_TOKENIZER_BYTES, readJsonFile } from '../io/text';
import type { BatchSpec } from './batch';
import { type DecodeOptions, DnaTokenizer } from './tokenizer';
import { type DnaOptions, normalizeDna } from './dna';

export const DEFAULT_SPECIAL_TOKENS = ['[UNK]', '[CLS]', '[SEP]', '[PAD]', '[MASK]'] as const;

/**
 * Token ids are integers in [0, MAX_VOCAB), model vocabulary and added tokens
 * alike (so left * MAX_VOCAB + right, a pair of ids, is an exact double).
 */
export const MAX_VOCAB = 2 ** 24;

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v < MAX_VOCAB;
}

/**
 * A map keyed by token names from the file, which are arbitrary strings:
 * without a prototype, "toString", "constructor" and "__proto__" are ordinary keys.
 */
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** An `added_tokens` entry, with every field HF writes. */
export interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

type TemplateItem = { SpecialToken: { id: string; type_id: number } } | { Sequence: { id: 'A' | 'B'; type_id: number } };
interface TemplateSpecial { id: string; ids: number[]; tokens: string[] }

export type { DecodeOptions } from './tokenizer';

function bad(source: string, why: string): GermError {
  return new GermError(`${source}: ${why}`, 'ERR_FORMAT');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const special = (name: string): TemplateItem => ({ SpecialToken: { id: name, type_id: 0 } });
const seqA: TemplateItem = { Sequence: { id: 'A', type_id: 0 } };
/** HF's BERT-style pair template, written when the file had none. */
function defaultPair(cls: string, sep: string): TemplateItem[] {
  return [special(cls), seqA, special(sep), { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: sep, type_id: 1 } }];
}

export class BpeTokenizer extends DnaTokenizer {
  /** token -> id, model vocabulary and added tokens together. */
  private readonly tokenToId = new Map<string, number>();
  /** id -> token (sparse if the file's ids are). */
  private readonly idToToken: string[] = [];
  private readonly specialIds = new Set<number>();
  /** (left id, right id) -> merge rank, keyed left * stride + right. */
  private readonly rankOf = new Map<number, number>();
  private readonly stride: number;
  /** rank -> id of the merged token. */
  private readonly mergedId: Int32Array;
  /** ASCII code of a base -> its id, or the unk id. */
  private readonly charId = new Int32Array(128);
  readonly unkId: number;
  readonly padId: number | null;
  private readonly prefix: number[] = [];
  private readonly suffix: number[] = [];
  private readonly prefixTokens: string[] = [];
  private readonly suffixTokens: string[] = [];
  protected readonly batchSpec: BatchSpec;

  private constructor(
    private readonly vocab: Map<string, number>,
    private readonly merges: [string, string][],
    readonly unkToken: string,
    private readonly addedTokens: AddedToken[],
    private readonly single: TemplateItem[],
    private readonly pair: unknown[],
    private readonly templateSpecials: Record<string, TemplateSpecial>,
    source: string,
  ) {
    super();
    for (const [t, id] of vocab) {
      this.tokenToId.set(t, id);
      this.idToToken[id] = t;
    }
    for (const a of addedTokens) {
      this.tokenToId.set(a.content, a.id);
      this.idToToken[a.id] = a.content;
      if (a.special) this.specialIds.add(a.id);
    }
    const unk = this.tokenToId.get(unkToken);
    if (unk === undefined) throw bad(source, `unk_token ${JSON.stringify(unkToken)} is not in the vocabulary`);
    this.unkId = unk;
    this.padId = this.tokenToId.get('[PAD]') ?? null;
    this.stride = this.idToToken.length;
    this.mergedId = new Int32Array(merges.length);
    merges.forEach(([a, b], rank) => {
      const ia = this.tokenToId.get(a), ib = this.tokenToId.get(b), im = this.tokenToId.get(a + b);
      if (ia === undefined || ib === undefined || im === undefined)
        throw bad(source, `merge ${rank} "${a} ${b}" uses or makes a token missing from the vocabulary`);
      const key = ia * this.stride + ib;
      // A repeated merge keeps its first (best) rank, as HF does.
      if (!this.rankOf.has(key)) this.rankOf.set(key, rank);
      this.mergedId[rank] = im;
    });
    for (let c = 0; c < 128; c++) this.charId[c] = this.tokenToId.get(String.fromCharCode(c)) ?? unk;

    let seenA = false;
    for (const item of single) {
      if ('Sequence' in item) {
        if (item.Sequence.id !== 'A' || seenA) throw bad(source, 'post_processor.single must hold $A exactly once and no $B');
        seenA = true;
        continue;
      }
      const name = item.SpecialToken.id;
      const spec = templateSpecials[name];
      const ids = spec ? spec.ids : [this.tokenToId.get(name)];
      const toks = spec ? spec.tokens : [name];
      if (ids.some((id) => id === undefined || this.idToToken[id] === undefined))
        throw bad(source, `post_processor special token ${JSON.stringify(name)} is not in the vocabulary`);
      (seenA ? this.suffix : this.prefix).push(...(ids as number[]));
      (seenA ? this.suffixTokens : this.prefixTokens).push(...toks);
      for (const id of ids as number[]) this.specialIds.add(id);
    }
    if (!seenA) throw bad(source, 'post_processor.single has no $A');
    this.batchSpec = { prefix: this.prefix, suffix: this.suffix, pad: this.padId, content: (s, o) => this.encodeContent(s, o) };
  }

  /** Reads a tokenizer.json file. */
  static async fromFile(file: string): Promise<BpeTokenizer> {
    if (typeof file !== 'string')
      throw new GermError(`BpeTokenizer.fromFile: file must be a path (a string), got ${describeValue(file)}`,
        'ERR_INVALID_ARGUMENT');
    // A regular file of bounded size: a folder, FIFO or missing file is a GermError naming it.
    return BpeTokenizer.fromJSON(await readJsonFile(file, 'tokenizer', MAX_TOKENIZER_BYTES), file);
  }

  /** Builds a tokenizer from a parsed tokenizer.json object (or its text). */
  static fromJSON(json: unknown, source = 'tokenizer.json'): BpeTokenizer {
    if (typeof json === 'string') {
      try {
        json = JSON.parse(json);
      } catch (e) {
        throw bad(source, `not valid JSON (${(e as Error).message})`);
      }
    }
    if (!isObject(json)) throw bad(source, 'top level is not a JSON object');
    const model = json.model;
    if (!isObject(model)) throw bad(source, 'missing "model" object');
    if (model.type !== 'BPE') throw bad(source, `model.type is ${JSON.stringify(model.type)}, not "BPE"`);
    for (const [k, ok] of [['continuing_subword_prefix', null], ['end_of_word_suffix', null], ['fuse_unk', false], ['byte_fallback', false]] as const)
      if (model[k] !== undefined && model[k] !== ok && !(ok === null && model[k] === ''))
        throw bad(source, `model.${k} = ${JSON.stringify(model[k])} is not supported (germ needs ${JSON.stringify(ok)})`);

    if (!isObject(model.vocab)) throw bad(source, 'model.vocab must be an object {token: id}');
    const vocab = new Map<string, number>();
    const byId = new Map<number, string>();
    for (const [t, id] of Object.entries(model.vocab)) {
      if (!isId(id))
        throw bad(source, `model.vocab[${JSON.stringify(t)}] = ${JSON.stringify(id)} is not an id (an integer in [0, 2^24))`);
      if (byId.has(id as number)) throw bad(source, `model.vocab gives id ${id} to both ${JSON.stringify(byId.get(id as number))} and ${JSON.stringify(t)}`);
      if (t.length === 0) throw bad(source, 'model.vocab holds an empty token');
      vocab.set(t, id as number);
      byId.set(id as number, t);
    }

    if (!Array.isArray(model.merges)) throw bad(source, 'model.merges must be an array');
    const merges: [string, string][] = model.merges.map((m: unknown, i: number) => {
      // Older files write "a b"; tokenizers >= 0.20 write ["a", "b"].
      const parts = typeof m === 'string' ? m.split(' ') : m;
      if (!Array.isArray(parts) || parts.length !== 2 || parts.some((p) => typeof p !== 'string' || p.length === 0))
        throw bad(source, `model.merges[${i}] = ${JSON.stringify(m)} is neither "a b" nor ["a", "b"]`);
      return [parts[0], parts[1]] as [string, string];
    });

    if (typeof model.unk_token !== 'string') throw bad(source, 'model.unk_token must be a string');

    const added: AddedToken[] = [];
    if (json.added_tokens !== undefined && json.added_tokens !== null) {
      if (!Array.isArray(json.added_tokens)) throw bad(source, 'added_tokens must be an array');
      json.added_tokens.forEach((a: unknown, i: number) => {
        if (!isObject(a) || !isId(a.id) || typeof a.content !== 'string' || a.content === '')
          throw bad(source, `added_tokens[${i}] needs an integer id and a non-empty string content`);
        const id = a.id as number, content = a.content;
        if (vocab.has(content) ? vocab.get(content) !== id : byId.has(id))
          throw bad(source, `added_tokens[${i}] (${JSON.stringify(content)}, id ${id}) clashes with model.vocab`);
        const flag = (k: string) => {
          if (a[k] !== undefined && typeof a[k] !== 'boolean') throw bad(source, `added_tokens[${i}].${k} must be a boolean`);
          return a[k] === true;
        };
        added.push({ id, content, single_word: flag('single_word'), lstrip: flag('lstrip'), rstrip: flag('rstrip'),
          normalized: flag('normalized'), special: flag('special') });
      });
      const ids = new Set(added.map((a) => a.id));
      if (ids.size !== added.length) throw bad(source, 'added_tokens repeats an id');
    }

    let single: TemplateItem[], pair: unknown[];
    const templateSpecials = dict<TemplateSpecial>();
    const pp = json.post_processor;
    if (pp === undefined || pp === null) {
      single = [special('[CLS]'), seqA, special('[SEP]')];
      pair = defaultPair('[CLS]', '[SEP]');
    } else if (isObject(pp) && pp.type === 'TemplateProcessing') {
      if (!Array.isArray(pp.single)) throw bad(source, 'post_processor.single must be an array');
      single = pp.single.map((item: unknown, i: number) => {
        const s = isObject(item) && isObject(item.SpecialToken) ? item.SpecialToken : null;
        const q = isObject(item) && isObject(item.Sequence) ? item.Sequence : null;
        if (s && typeof s.id === 'string') return { SpecialToken: { id: s.id, type_id: Number(s.type_id ?? 0) } };
        if (q && (q.id === 'A' || q.id === 'B')) return { Sequence: { id: q.id, type_id: Number(q.type_id ?? 0) } };
        throw bad(source, `post_processor.single[${i}] = ${JSON.stringify(item)} is neither a SpecialToken nor a Sequence`);
      });
      if (pp.pair !== undefined && !Array.isArray(pp.pair)) throw bad(source, 'post_processor.pair must be an array');
      pair = (pp.pair as unknown[] | undefined) ?? defaultPair('[CLS]', '[SEP]');
      if (pp.special_tokens !== undefined) {
        if (!isObject(pp.special_tokens)) throw bad(source, 'post_processor.special_tokens must be an object');
        for (const [name, v] of Object.entries(pp.special_tokens)) {
          if (!isObject(v) || !Array.isArray(v.ids) || !Array.isArray(v.tokens) || v.ids.length !== v.tokens.length
            || v.ids.some((x) => !isId(x)) || v.tokens.some((x) => typeof x !== 'string'))
            throw bad(source, `post_processor.special_tokens[${JSON.stringify(name)}] needs matching ids and tokens arrays`);
          templateSpecials[name] = { id: typeof v.id === 'string' ? v.id : name, ids: v.ids as number[], tokens: v.tokens as string[] };
        }
      }
    } else if (isObject(pp) && pp.type === 'BertProcessing') {
      const cls = pp.cls, sep = pp.sep;
      if (!Array.isArray(cls) || !Array.isArray(sep) || typeof cls[0] !== 'string' || typeof sep[0] !== 'string'
        || !isId(cls[1]) || !isId(sep[1]))
        throw bad(source, 'post_processor (BertProcessing) needs cls and sep as [token, id]');
      single = [special(cls[0]), seqA, special(sep[0])];
      pair = defaultPair(cls[0], sep[0]);
      for (const [name, id] of [cls, sep] as [string, number][]) templateSpecials[name] = { id: name, ids: [id], tokens: [name] };
    } else {
      throw bad(source, `post_processor of type ${JSON.stringify(isObject(pp) ? pp.type : pp)} is not supported`);
    }
    return new BpeTokenizer(vocab, merges, model.unk_token, added, single, pair, templateSpecials, source);
  }

  /**
   * One past the largest id (model vocabulary and added tokens): the rows an
   * embedding table needs for every id to index it. Equals the token count when
   * the ids are dense, as in every file HF writes.
   */
  get vocabSize(): number {
    return this.idToToken.length;
  }

  tokenId(token: string): number | undefined {
    return this.tokenToId.get(token);
  }

  idToken(id: number): string | undefined {
    return isId(id) ? this.idToToken[id] : undefined;
  }

  /** The merges, lowest rank (applied first) first. */
  getMerges(): [string, string][] {
    return this.merges.map(([a, b]) => [a, b]);
  }

  /** One sequence's BPE ids, no special tokens. */
  private encodeContent(seq: string, options: DnaOptions): Int32Array {
    const s = normalizeDna(seq, options);
    const n = s.length;
    const sym = new Int32Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      sym[i] = this.charId[s.charCodeAt(i)];
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    // Min-heap of rank * n + position: the lowest rank first, then the leftmost.
    // Each merge pushes at most two entries, so 3n bounds its size.
    const heap = new Float64Array(3 * n + 1);
    let size = 0;
    const push = (key: number) => {
      let i = size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (heap[p] <= key) break;
        heap[i] = heap[p];
        i = p;
      }
      heap[i] = key;
    };
    const pop = (): number => {
      const top = heap[0];
      const last = heap[--size];
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= size) break;
        if (c + 1 < size && heap[c + 1] < heap[c]) c++;
        if (heap[c] >= last) break;
        heap[i] = heap[c];
        i = c;
      }
      heap[i] = last;
      return top;
    };
    const { rankOf, stride, mergedId } = this;
    const rank = (a: number, b: number) => rankOf.get(a * stride + b);

    for (let i = 0; i + 1 < n; i++) {
      const r = rank(sym[i], sym[i + 1]);
      if (r !== undefined) push(r * n + i);
    }
    while (size > 0) {
      const key = pop();
      const r = Math.floor(key / n), pos = key - r * n;
      const q = next[pos];
      // Stale: the left symbol was absorbed (-1), or is last, or the pair there is no longer this merge.
      if (sym[pos] < 0 || q < 0 || rank(sym[pos], sym[q]) !== r) continue;
      sym[pos] = mergedId[r];
      sym[q] = -1;
      const qn = next[q];
      next[pos] = qn;
      if (qn >= 0) prev[qn] = pos;
      const p = prev[pos];
      if (p >= 0) {
        const rp = rank(sym[p], sym[pos]);
        if (rp !== undefined) push(rp * n + p);
      }
      if (qn >= 0) {
        const rn = rank(sym[pos], sym[qn]);
        if (rn !== undefined) push(rn * n + pos);
      }
    }
    let count = 0;
    for (let i = 0; i >= 0; i = next[i]) count++;
    const out = new Int32Array(count);
    for (let i = 0, k = 0; i >= 0; i = next[i]) out[k++] = sym[i];
    return out;
  }


  /**
   * Ids back to DNA text. Tokens are concatenated: BPE tokens of one word carry
   * no separators (HF, with no decoder, would join them with spaces).
   */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string {
    return this.joinTokens(ids, options, (id) => this.specialIds.has(id));
  }

  /** A tokenizer.json object in HF's schema; fromJSON(toJSON()) is the same tokenizer. */
  toJSON(): Record<string, unknown> {
    const specialsUsed = dict<TemplateSpecial>();
    const collect = (items: unknown[]) => {
      for (const item of items) {
        const name = isObject(item) && isObject(item.SpecialToken) ? item.SpecialToken.id : undefined;
        if (typeof name !== 'string' || name in specialsUsed) continue;
        const given = this.templateSpecials[name];
        const id = this.tokenToId.get(name);
        if (given) specialsUsed[name] = { id: given.id, ids: [...given.ids], tokens: [...given.tokens] };
        else if (id !== undefined) specialsUsed[name] = { id: name, ids: [id], tokens: [name] };
      }
    };
    collect(this.single);
    collect(this.pair);
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [...this.addedTokens].sort((a, b) => a.id - b.id).map((a) => ({ ...a })),
      normalizer: null,
      pre_tokenizer: { type: 'Whitespace' },
      post_processor: {
        type: 'TemplateProcessing',
        single: structuredClone(this.single),
        pair: structuredClone(this.pair),
        special_tokens: Object.fromEntries(Object.entries(specialsUsed)),
      },
      decoder: null,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: this.unkToken,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        vocab: Object.fromEntries([...this.vocab].sort((a, b) => a[1] - b[1])),
        merges: this.merges.map(([a, b]) => `${a} ${b}`),
      },
    };
  }
}
