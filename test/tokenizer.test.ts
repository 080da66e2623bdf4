import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GermError } from '../lib/errors';
import { BaseTokenizer, BpeTokenizer, KmerTokenizer, normalizeDna, trainBpe } from '../lib/tokenizer';
import { rng } from './helpers/random';

function randomDna(n: number, r: () => number, alphabet = 'ACGT'): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

function expectGermError(fn: () => unknown, code: string, ...parts: (string | RegExp)[]) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(GermError);
  expect((err as GermError).code).toBe(code);
  for (const p of parts) expect((err as GermError).message).toMatch(p);
}

/** A tokenizer.json as DNABERT-2 writes one, cut down to a handful of merges. */
function handMade() {
  const specials = ['[UNK]', '[CLS]', '[SEP]', '[PAD]', '[MASK]'];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [1], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [2], tokens: ['[SEP]'] },
      },
    },
    decoder: null,
    model: {
      type: 'BPE', dropout: null, unk_token: '[UNK]', continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false,
      vocab: { '[UNK]': 0, '[CLS]': 1, '[SEP]': 2, '[PAD]': 3, '[MASK]': 4, A: 5, C: 6, G: 7, T: 8, N: 9,
        AC: 10, GT: 11, ACGT: 12, AA: 13 } as Record<string, number>,
      // Both spellings HF has used for merges.
      merges: ['A C', ['G', 'T'], 'AC GT', ['A', 'A']] as unknown[],
    },
  };
}

/** The textbook algorithm: repeatedly merge the lowest-rank adjacent pair, leftmost first. */
function naiveBpe(seq: string, merges: [string, string][]): string[] {
  const rank = new Map<string, number>();
  merges.forEach(([a, b], i) => { if (!rank.has(`${a} ${b}`)) rank.set(`${a} ${b}`, i); });
  const syms = [...seq];
  for (;;) {
    let best = -1, bestRank = Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const r = rank.get(`${syms[i]} ${syms[i + 1]}`);
      if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
    }
    if (best < 0) return syms;
    syms.splice(best, 2, syms[best] + syms[best + 1]);
  }
}

/** The textbook trainer: recount every pair each step, merge the most frequent (ties: smallest strings) left to right. */
function naiveTrain(seqs: string[], vocabSize: number): [string, string][] {
  const words = seqs.map((s) => [...s]);
  const vocab = new Set(['[UNK]', '[CLS]', '[SEP]', '[PAD]', '[MASK]', 'A', 'C', 'G', 'T', 'N']);
  const merges: [string, string][] = [];
  while (vocab.size < vocabSize) {
    const count = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.length; i++) {
      const k = `${w[i]} ${w[i + 1]}`;
      count.set(k, (count.get(k) ?? 0) + 1);
    }
    let best: [string, string] | null = null, bestCount = 0;
    for (const [k, c] of count) {
      const [a, b] = k.split(' ') as [string, string];
      if (c > bestCount || (c === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) { best = [a, b]; bestCount = c; }
    }
    if (!best) break;
    merges.push(best);
    vocab.add(best[0] + best[1]);
    for (const w of words) for (let i = 0; i + 1 < w.length; i++)
      if (w[i] === best[0] && w[i + 1] === best[1]) w.splice(i, 2, best[0] + best[1]);
  }
  return merges;
}

describe('DNA input rules', () => {
  it('folds case and keeps ACGTN', () => {
    expect(normalizeDna('acgtN')).toBe('ACGTN');
    expect(normalizeDna('ACGT')).toBe('ACGT');
  });
  it('refuses IUPAC codes with their position, unless mapped to N', () => {
    expectGermError(() => normalizeDna('ACGRT'), 'ERR_INVALID_ARGUMENT', /position 3/, /"R"/, /mapUnknownToN/);
    expectGermError(() => normalizeDna('acgy'), 'ERR_INVALID_ARGUMENT', /position 3/, /"y"/);
    expect(normalizeDna('acRYswKMbdhv', { mapUnknownToN: true })).toBe('ACNNNNNNNNNN');
  });
  it('refuses other characters and empty input even with mapUnknownToN', () => {
    expectGermError(() => normalizeDna('AC GT', { mapUnknownToN: true }), 'ERR_INVALID_ARGUMENT', /position 2/, /" "/);
    expectGermError(() => normalizeDna('ACG1', { mapUnknownToN: true }), 'ERR_INVALID_ARGUMENT', /position 3/, /"1"/);
    expectGermError(() => normalizeDna('ACU'), 'ERR_INVALID_ARGUMENT', /position 2/, /"U"/);
    expectGermError(() => normalizeDna(''), 'ERR_INVALID_ARGUMENT', /empty/);
  });
});

describe('BpeTokenizer (tokenizer.json)', () => {
  const tok = BpeTokenizer.fromJSON(handMade());

  it('encodes by hand-computed merges', () => {
    // A C G T A A A C: AC (rank 0) at 0 and 6, then GT, then AC+GT, then A+A.
    const e = tok.encode('ACGTAAAC');
    expect(e.tokens).toEqual(['[CLS]', 'ACGT', 'AA', 'AC', '[SEP]']);
    expect([...e.ids]).toEqual([1, 12, 13, 10, 2]);
    expect([...tok.encode('aaaa').ids]).toEqual([1, 13, 13, 2]);
    expect([...tok.encode('AAA', { addSpecialTokens: false }).ids]).toEqual([13, 5]);
    expect([...tok.encode('ACN', { addSpecialTokens: false }).ids]).toEqual([10, 9]);
    expect([...tok.encode('ACR', { addSpecialTokens: false, mapUnknownToN: true }).ids]).toEqual([10, 9]);
    expectGermError(() => tok.encode('ACR'), 'ERR_INVALID_ARGUMENT', /position 2/);
  });

  it('maps bases missing from the vocabulary to [UNK]', () => {
    const j = handMade();
    delete j.model.vocab.N;
    const t = BpeTokenizer.fromJSON(j);
    expect([...t.encode('ANAC', { addSpecialTokens: false }).ids]).toEqual([5, 0, 10]);
  });

  it('decodes, skipping special tokens by default', () => {
    expect(tok.decode([1, 12, 13, 10, 2, 3, 3])).toBe('ACGTAAAC');
    expect(tok.decode([1, 12, 2], { skipSpecialTokens: false })).toBe('[CLS]ACGT[SEP]');
    expectGermError(() => tok.decode([1, 99]), 'ERR_INVALID_ARGUMENT', /99/);
  });

  it('defaults to [CLS] $A [SEP] without a post_processor, and reads BertProcessing', () => {
    const j = handMade() as Record<string, unknown>;
    j.post_processor = null;
    expect([...BpeTokenizer.fromJSON(j).encode('AC').ids]).toEqual([1, 10, 2]);
    j.post_processor = { type: 'BertProcessing', sep: ['[SEP]', 2], cls: ['[CLS]', 1] };
    expect([...BpeTokenizer.fromJSON(j).encode('AC').ids]).toEqual([1, 10, 2]);
  });

  it('round-trips through toJSON / fromJSON and a file', async () => {
    const json = tok.toJSON();
    expect(json).toEqual({ ...handMade(), model: { ...handMade().model, merges: ['A C', 'G T', 'AC GT', 'A A'] } });
    const back = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(json)));
    expect(back.toJSON()).toEqual(json);
    const dir = mkdtempSync(path.join(tmpdir(), 'germ-tok-'));
    const file = path.join(dir, 'tokenizer.json');
    writeFileSync(file, JSON.stringify(json));
    const fromFile = await BpeTokenizer.fromFile(file);
    const r = rng(3);
    for (let i = 0; i < 20; i++) {
      const s = randomDna(1 + Math.floor(r() * 60), r, 'ACGTN');
      expect(back.encode(s)).toEqual(tok.encode(s));
      expect(fromFile.encode(s)).toEqual(tok.encode(s));
    }
  });

  it('refuses malformed tokenizer.json with ERR_FORMAT', async () => {
    const mutate = (f: (j: any) => void) => { const j = handMade(); f(j); return j; };
    const cases: unknown[] = [
      '{"model": ', '[]', {},
      mutate((j) => (j.model.type = 'WordPiece')),
      mutate((j) => delete j.model.vocab),
      mutate((j) => (j.model.vocab.A = -1)),
      mutate((j) => (j.model.vocab.A = 6)),
      mutate((j) => delete j.model.merges),
      mutate((j) => j.model.merges.push('A')),
      mutate((j) => j.model.merges.push('A X')),
      mutate((j) => j.model.merges.push('C C')), // "CC" is not in the vocabulary
      mutate((j) => delete j.model.unk_token),
      mutate((j) => (j.model.unk_token = '<unk>')),
      mutate((j) => (j.model.continuing_subword_prefix = '##')),
      mutate((j) => (j.added_tokens[1].id = 7)),
      mutate((j) => (j.added_tokens = {})),
      mutate((j) => (j.post_processor = { type: 'RobertaProcessing' })),
      mutate((j) => (j.post_processor.single = [{ SpecialToken: { id: '[CLS]', type_id: 0 } }])),
      mutate((j) => (j.post_processor.single[0].SpecialToken.id = '[BOS]')),
    ];
    for (const c of cases) expectGermError(() => BpeTokenizer.fromJSON(c), 'ERR_FORMAT');
    const dir = mkdtempSync(path.join(tmpdir(), 'germ-tok-'));
    writeFileSync(path.join(dir, 'bad.json'), '{"version": "1.0",');
    await expect(BpeTokenizer.fromFile(path.join(dir, 'bad.json'))).rejects.toMatchObject({ code: 'ERR_FORMAT' });
  });

  it('applies merges in rank order, like the naive algorithm, on random sequences', () => {
    const r = rng(11);
    // A realistic merge table (trained) and an adversarial one full of overlapping runs.
    const trained = trainBpe(Array.from({ length: 30 }, () => randomDna(300, r) + 'AAAAAAACACACAC'.repeat(3)), { vocabSize: 150 });
    const runs = BpeTokenizer.fromJSON(mutateMerges(handMade(), [['A', 'A'], ['AA', 'A'], ['A', 'AA'], ['AA', 'AA'], ['C', 'A'], ['A', 'C'], ['CA', 'AA'], ['AAA', 'A']]));
    for (const t of [trained, runs, tok]) {
      const merges = t.getMerges();
      for (let i = 0; i < 150; i++) {
        const s = randomDna(1 + Math.floor(r() * 200), r, i % 2 ? 'ACGTN' : 'AAAC');
        const got = t.encode(s, { addSpecialTokens: false }).tokens;
        expect(got).toEqual(naiveBpe(s, merges));
      }
    }
  });

  it('encodes a 100k-base sequence and decodes it back', () => {
    const r = rng(5);
    const t = trainBpe(Array.from({ length: 20 }, () => randomDna(500, r)), { vocabSize: 300 });
    const s = randomDna(100_000, r) + 'A'.repeat(5000);
    const e = t.encode(s);
    expect(e.ids.length).toBeLessThan(s.length / 2);
    expect(t.decode(e.ids)).toBe(s);
    expect(e.tokens.slice(1, -1).join('')).toBe(s);
  });
});

function mutateMerges(j: ReturnType<typeof handMade>, merges: [string, string][]) {
  j.model.merges = merges;
  j.model.vocab = { '[UNK]': 0, '[CLS]': 1, '[SEP]': 2, '[PAD]': 3, '[MASK]': 4, A: 5, C: 6, G: 7, T: 8, N: 9 };
  for (const [a, b] of merges) if (!(a + b in j.model.vocab)) j.model.vocab[a + b] = Object.keys(j.model.vocab).length;
  return j;
}

describe('encodeBatch', () => {
  const base = new BaseTokenizer();
  it('pads to the longest row, reporting attention lengths', () => {
    const b = base.encodeBatch(['ACG', 'a']);
    expect(b.shape).toEqual([2, 5]);
    expect([...b.ids]).toEqual([1, 5, 6, 7, 2, 1, 5, 2, 3, 3]);
    expect([...b.lengths]).toEqual([5, 3]);
  });
  it("pads to maxLength with 'max_length'", () => {
    const b = base.encodeBatch(['AC', 'T'], { padding: 'max_length', maxLength: 6 });
    expect(b.shape).toEqual([2, 6]);
    expect([...b.ids]).toEqual([1, 5, 6, 2, 3, 3, 1, 8, 2, 3, 3, 3]);
    expect([...b.lengths]).toEqual([4, 3]);
  });
  it('truncates keeping [CLS] and [SEP]', () => {
    const b = base.encodeBatch(['ACGTACGT', 'G'], { maxLength: 4, truncation: true });
    expect(b.shape).toEqual([2, 4]);
    expect([...b.ids]).toEqual([1, 5, 6, 2, 1, 7, 2, 3]);
    expect([...b.lengths]).toEqual([4, 3]);
    const tok = BpeTokenizer.fromJSON(handMade());
    const t = tok.encodeBatch(['ACGTAAAC'], { maxLength: 4, truncation: true });
    expect([...t.ids]).toEqual([1, 12, 13, 2]);
  });
  it('without special tokens, and with padding: false', () => {
    const b = base.encodeBatch(['AC', 'GT'], { padding: false, addSpecialTokens: false });
    expect(b.shape).toEqual([2, 2]);
    expect([...b.ids]).toEqual([5, 6, 7, 8]);
    expectGermError(() => base.encodeBatch(['AC', 'G'], { padding: false }), 'ERR_INVALID_ARGUMENT', /sequence 1/);
  });
  it('names the over-long or invalid sequence', () => {
    expectGermError(() => base.encodeBatch(['A', 'ACGTACGT'], { maxLength: 6 }), 'ERR_INVALID_ARGUMENT', /sequence 1/, /10 tokens/);
    expectGermError(() => base.encodeBatch(['A', 'AxG']), 'ERR_INVALID_ARGUMENT', /sequence 1/, /position 1/);
    expectGermError(() => base.encodeBatch(['A'], { truncation: true }), 'ERR_INVALID_ARGUMENT', /maxLength/);
    expectGermError(() => base.encodeBatch(['A'], { maxLength: 2 }), 'ERR_INVALID_ARGUMENT', /maxLength/);
  });
  it('handles an empty batch', () => {
    expect(base.encodeBatch([]).shape).toEqual([0, 0]);
  });
});

describe('trainBpe', () => {
  it('learns hand-checkable merges', () => {
    // AAAA: A+A is seen 3 times (overlapping), merged left to right into AA AA, then AA+AA.
    expect(trainBpe(['AAAA'], { vocabSize: 12 }).getMerges()).toEqual([['A', 'A'], ['AA', 'AA']]);
    // Ties on count go to the smallest pair: A+C, then AC+G (before G+T), then ACG+T.
    const t = trainBpe(['acgt'], { vocabSize: 13 });
    expect(t.getMerges()).toEqual([['A', 'C'], ['AC', 'G'], ['ACG', 'T']]);
    expect([...t.encode('ACGTAC').ids]).toEqual([1, 12, 10, 2]);
  });

  it('reaches exactly vocabSize with DNABERT-2 ids, and matches a naive trainer', () => {
    const r = rng(7);
    const seqs = [
      ...Array.from({ length: 40 }, () => randomDna(200 + Math.floor(r() * 200), r)),
      'ACGT'.repeat(200), 'A'.repeat(333), 'CAG'.repeat(150), randomDna(50, r) + 'N'.repeat(20),
    ];
    const t = trainBpe(seqs, { vocabSize: 120 });
    expect(t.vocabSize).toBe(120);
    expect(['[UNK]', '[CLS]', '[SEP]', '[PAD]', '[MASK]', 'A', 'C', 'G', 'T', 'N'].map((x) => t.tokenId(x))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(t.getMerges()).toEqual(naiveTrain(seqs, 120));
    for (const s of [...seqs.slice(-4), randomDna(1000, r, 'ACGTN')]) expect(t.decode(t.encode(s).ids)).toBe(s);
    const back = BpeTokenizer.fromJSON(t.toJSON());
    expect(back.encode(seqs[0])).toEqual(t.encode(seqs[0]));
  });

  it('trains on a few MB quickly enough to run in a test', () => {
    const r = rng(9);
    const seqs = Array.from({ length: 200 }, () => randomDna(10_000, r));
    const t = trainBpe(seqs, { vocabSize: 1024 });
    expect(t.vocabSize).toBe(1024);
    expect(t.decode(t.encode(seqs[0]).ids)).toBe(seqs[0]);
  });

  it('writes tokenizer.json in the layout Hugging Face tokenizers wrote for the parity fixture', async () => {
    // test/fixtures/parity/*/tokenizer.json was written by HF tokenizers 0.23 (scripts/parity/make_fixture.py).
    const { readFile } = await import('node:fs/promises');
    const hf = JSON.parse(await readFile(path.join(__dirname, 'fixtures', 'parity', 'softmax1', 'tokenizer.json'), 'utf8'));
    const ours = trainBpe(['ACGTACGTTTGACCA', 'GGGATTACANNACGT'], { vocabSize: 30 }).toJSON() as typeof hf;
    const keys = (o: object) => Object.keys(o).sort();
    expect(keys(ours)).toEqual(keys(hf));
    // ignore_merges is optional in HF's BPE model (default false).
    expect(keys(ours.model)).toEqual(keys(hf.model).filter((k) => k !== 'ignore_merges'));
    for (const k of ['type', 'unk_token', 'fuse_unk', 'byte_fallback', 'continuing_subword_prefix', 'end_of_word_suffix'])
      expect([k, ours.model[k]]).toEqual([k, hf.model[k]]);
    for (const k of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder', 'padding', 'truncation'])
      expect([k, ours[k]]).toEqual([k, hf[k]]);
    expect(ours.added_tokens).toEqual(hf.added_tokens);
    // Both merge spellings ("a b" and ["a", "b"]) load; HF's own file does too.
    const fromHf = BpeTokenizer.fromJSON(hf);
    expect(fromHf.vocabSize).toBe(Object.keys(hf.model.vocab).length);
  });

  it('refuses bad options', () => {
    expectGermError(() => trainBpe(['ACGT'], { vocabSize: 9 }), 'ERR_INVALID_ARGUMENT', /vocabSize/);
    expectGermError(() => trainBpe(['ACGT', 'AC-T'], { vocabSize: 20 }), 'ERR_INVALID_ARGUMENT', /sequence 1/, /position 2/);
  });
});

describe('KmerTokenizer', () => {
  it('overlapping 3-mers, ids = 5 + base-4 value', () => {
    const t = new KmerTokenizer({ k: 3 });
    expect(t.vocabSize).toBe(5 + 64);
    // ACG = 0*16+1*4+2 = 6, CGT = 27, GTA = 44.
    const e = t.encode('ACGTA');
    expect([...e.ids]).toEqual([1, 11, 32, 49, 2]);
    expect(e.tokens).toEqual(['[CLS]', 'ACG', 'CGT', 'GTA', '[SEP]']);
    expect(t.decode(e.ids)).toBe('ACGTA');
    expect(t.tokenId('TTT')).toBe(5 + 63);
    expect(t.idToken(5)).toBe('AAA');
  });
  it('non-overlapping with a stride, N k-mers as [UNK]', () => {
    const t = new KmerTokenizer({ k: 3, overlapping: false });
    // ACG | TAC (=48+0+1=49) | GN. dropped
    expect([...t.encode('ACGTACGN').ids]).toEqual([1, 11, 54, 2]);
    expect([...t.encode('ACGNAC', { addSpecialTokens: false }).ids]).toEqual([11, 0]);
    expect(t.decode([1, 11, 54, 2])).toBe('ACGTAC');
    const s2 = new KmerTokenizer({ k: 4, stride: 2 });
    // AACC = 0*64+0*16+1*4+1 = 5, CCGG = 1*64+1*16+2*4+2 = 90
    expect([...s2.encode('AACCGG', { addSpecialTokens: false }).ids]).toEqual([10, 95]);
    expect(s2.decode([10, 95])).toBe('AACCGG');
  });
  it('batches and validates', () => {
    const t = new KmerTokenizer({ k: 2 });
    const b = t.encodeBatch(['ACG', 'AC']);
    // AC = 1 -> 6, CG = 6 -> 11
    expect([...b.ids]).toEqual([1, 6, 11, 2, 1, 6, 2, 3]);
    expect([...b.lengths]).toEqual([4, 3]);
    expectGermError(() => t.encode('A'), 'ERR_INVALID_ARGUMENT', /shorter than k/);
    expectGermError(() => new KmerTokenizer({ k: 3, stride: 4 }), 'ERR_INVALID_ARGUMENT', /stride/);
  });
});

describe('BaseTokenizer', () => {
  it('one id per base after the specials', () => {
    const t = new BaseTokenizer();
    expect([...t.encode('acgtn').ids]).toEqual([1, 5, 6, 7, 8, 9, 2]);
    expect([...t.encode('ACK', { mapUnknownToN: true, addSpecialTokens: false }).ids]).toEqual([5, 6, 9]);
    expect(t.decode([1, 5, 6, 7, 8, 9, 2, 3])).toBe('ACGTN');
    expect(t.decode([1, 5, 2], { skipSpecialTokens: false })).toBe('[CLS]A[SEP]');
    expect(t.vocabSize).toBe(10);
  });
});
