// Regression tests for the fuzzing report's input findings: every bad input is
// a typed GermError naming the argument, never a crash, a hang, an untyped
// TypeError / RangeError or a silently wrong result.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as germ from '../lib/index';
import {
  BaseTokenizer, BpeTokenizer, GermError, GermModel, KmerTokenizer, LoraLinear, Nf4Tensor, OutlierStats,
  QuantizedTensor, SafetensorsFile, Tensor, alibiSlopes, attention, full, linear, matmul, normalizeDna, parseConfig,
  quantize, quantizeActivations, quantizeNf4, tensor, zeros,
} from '../lib/index';
// Limits stated once in their modules (not part of the package's index).
import { ALIBI_MAX_HEADS } from '../lib/alibi';
import { LORA_MAX_RANK } from '../lib/lora/adapter';
import { describeDevices } from './helpers/devices';

const FIXTURE = path.join(__dirname, 'fixtures/parity/softmax1');

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectGerm(fn: () => unknown, code: string, ...parts: (string | RegExp)[]): GermError {
  const err = caught(fn);
  expect(err, String(err)).toBeInstanceOf(GermError);
  expect((err as GermError).code).toBe(code);
  for (const p of parts) expect((err as GermError).message).toMatch(p);
  return err as GermError;
}

/** A small valid tokenizer.json object. */
function tokenizerJson(vocab: Record<string, number> = {}, specials = ['[UNK]', '[CLS]', '[SEP]', '[PAD]', '[MASK]']) {
  // fromEntries (not assignment), so a token named "__proto__" is an own key, as JSON.parse makes it.
  const base: Record<string, number> = Object.fromEntries([...specials, 'A', 'C', 'G', 'T', 'N'].map((t, i) => [t, i]));
  return {
    version: '1.0',
    added_tokens: specials.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    post_processor: null,
    model: { type: 'BPE', unk_token: specials[0], vocab: { ...base, ...vocab }, merges: [] as unknown[] },
  };
}

describe('finding 2: NUL and other non-ACGTN characters', () => {
  it('normalizeDna refuses NUL on the fast path, as the slow path does', () => {
    expectGerm(() => normalizeDna('AC\0GT'), 'ERR_INVALID_ARGUMENT', /position 2/);
    expectGerm(() => normalizeDna('\0'), 'ERR_INVALID_ARGUMENT', /position 0/);
    expectGerm(() => normalizeDna('ac\0gt'), 'ERR_INVALID_ARGUMENT', /position 2/);
    // Every char code below 128 that is not a base is refused on both paths alike.
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c);
      const ok = 'ACGTNacgtn'.includes(ch);
      const iupac = 'RYSWKMBDHVryswkmbdhv'.includes(ch);
      for (const s of [`AC${ch}GT`, `ac${ch}gt`]) {
        if (ok) expect(normalizeDna(s)).toBe(s.toUpperCase());
        else expectGerm(() => normalizeDna(s), 'ERR_INVALID_ARGUMENT', /position 2/);
        if (iupac) expect(normalizeDna(s, { mapUnknownToN: true })).toBe('ACNGT');
      }
    }
  });

  it('no tokenizer embeds NUL as [UNK]', () => {
    expectGerm(() => new BaseTokenizer().encode('AC\0GT'), 'ERR_INVALID_ARGUMENT');
    expectGerm(() => new KmerTokenizer({ k: 1 }).encode('AC\0GT'), 'ERR_INVALID_ARGUMENT');
    expectGerm(() => BpeTokenizer.fromJSON(tokenizerJson()).encode('AC\0GT'), 'ERR_INVALID_ARGUMENT');
  });
});

describe('finding 3: tensor() from number[] saturates into integer dtypes as cast() does', () => {
  it('matches cast element for element (NaN, infinities, ties, out of range)', async () => {
    const values = [3e9, -1, 256, -3e9, NaN, Infinity, -Infinity, 2.5, 3.5, -2.5, 0.5, 1.5, -0.5, 127.5, -128.5,
      255.5, 1e10, -1e10, 0.49, 300, -300, 2147483520, -2147483648, 16777216, -0];
    for (const dtype of ['i32', 'i8', 'u8'] as const) {
      const direct = tensor(values, undefined, { dtype });
      const viaCast = tensor(values).cast(dtype);
      expect(Array.from(await direct.data()), dtype).toEqual(Array.from(await viaCast.data()));
      direct.dispose();
      viaCast.dispose();
    }
    expect(Array.from(await tensor([3e9, -1, 256], [3], { dtype: 'i32' }).data())).toEqual([2147483647, -1, 256]);
    expect(Array.from(await tensor([3e9, -1, 256], [3], { dtype: 'u8' }).data())).toEqual([255, 0, 255]);
    expect(Array.from(await tensor([3e9, -1, 256], [3], { dtype: 'i8' }).data())).toEqual([127, -1, 127]);
    // Integers beyond f32's 24 bits stay exact (one rounding, from the double).
    expect(Array.from(await tensor([16777217, -2147483647], [2], { dtype: 'i32' }).data())).toEqual([16777217, -2147483647]);
  });

  it('refuses number[] holding non-numbers', () => {
    expectGerm(() => tensor(['1', 2] as unknown as number[]), 'ERR_INVALID_ARGUMENT', /data\[0\]/);
    expectGerm(() => tensor([1, null] as unknown as number[], undefined, { dtype: 'i32' }), 'ERR_INVALID_ARGUMENT', /data\[1\]/);
  });
});

// Found by the 100,000-case property run: the CPU's f32 -> integer rounding
// added 1.5 * 2^23, which reaches 2^24 (float spacing 2) for |x| >= 2^22 and
// rounded odd integers there to even (7633641 -> 7633640). CUDA rounds with
// __float2int_rn. Reference: round half to even in float64 of the f32 value.
describeDevices('cast f32 -> i32 of large integers and halves', (device) => {
  it('rounds half to even exactly, at every magnitude below 2^31', async () => {
    const roundEven = (x: number) => {
      const r = Math.round(x);
      return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
    };
    const values: number[] = [];
    for (let e = 0; e <= 30; e++)
      for (const d of [-1.5, -1, -0.5, 0, 0.5, 1, 1.5, 3, 7]) values.push(Math.fround(2 ** e + d), Math.fround(-(2 ** e) - d));
    values.push(7633641, -7633641, 8388607, 8388607.5, 4194305.5, 6291457, 12582913);
    const f32 = Float32Array.from(values);
    const got = await tensor(f32, [f32.length], { device }).cast('i32').data();
    const bad = Array.from(f32).findIndex((x, i) => got[i] !== roundEven(x));
    expect(bad, bad >= 0 ? `${f32[bad]} -> ${got[bad]}` : '').toBe(-1);
  });
});

describe('finding 4: a bias that is not a Tensor', () => {
  const x = full([2, 3], 1), w = full([2, 3], 1);
  it('linear and matmul refuse it instead of dropping it', () => {
    expectGerm(() => linear(x, w, [10, 20] as unknown as Tensor), 'ERR_INVALID_ARGUMENT', /bias/);
    expectGerm(() => matmul(x, w, { transB: true, bias: new Float32Array([10, 20]) as unknown as Tensor }),
      'ERR_INVALID_ARGUMENT', /bias/);
    expectGerm(() => germ.geglu(full([2, 4], 1), 'b' as unknown as Tensor), 'ERR_INVALID_ARGUMENT', /bias/);
  });
});

describe('finding 5: tokenizer.json ids past vocab_size', () => {
  it('vocabSize covers the largest id, so a sparse id past the config is caught at load', () => {
    const tok = BpeTokenizer.fromJSON(tokenizerJson({ AC: 500 }));
    expect(tok.vocabSize).toBe(501);
    expect(tok.tokenId('AC')).toBe(500);
  });

  it('GermModel.load refuses a tokenizer whose ids reach past the config vocab_size', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'germ-findings-'));
    const cfg = JSON.parse(readFileSync(path.join(FIXTURE, 'config.json'), 'utf8'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    writeFileSync(path.join(dir, 'model.safetensors'), readFileSync(path.join(FIXTURE, 'model.safetensors')));
    const tj = JSON.parse(readFileSync(path.join(FIXTURE, 'tokenizer.json'), 'utf8'));
    // Same token count, but one id moved past vocab_size (256).
    const [victim] = Object.entries(tj.model.vocab as Record<string, number>).find(([t]) => /^[ACGTN]{2,}$/.test(t))!;
    tj.model.vocab[victim] = cfg.vocab_size + 10;
    writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tj));
    const err = await GermModel.load(dir, { device: 'cpu' }).then(() => undefined, (e) => e);
    expect(err).toBeInstanceOf(GermError);
    expect((err as GermError).message, (err as GermError).message).toMatch(/vocab_size/);
    expect((err as GermError).code).toBe('ERR_FORMAT');
  });

  it('duplicate, negative and non-integer ids are refused', () => {
    expectGerm(() => BpeTokenizer.fromJSON(tokenizerJson({ AC: 5 })), 'ERR_FORMAT', /id 5/);
    expectGerm(() => BpeTokenizer.fromJSON(tokenizerJson({ AC: -1 })), 'ERR_FORMAT', /AC/);
    expectGerm(() => BpeTokenizer.fromJSON(tokenizerJson({ AC: 10.5 })), 'ERR_FORMAT', /AC/);
    const pp = tokenizerJson() as Record<string, unknown>;
    pp.post_processor = { type: 'BertProcessing', cls: ['[CLS]', 1.5], sep: ['[SEP]', 2] };
    expectGerm(() => BpeTokenizer.fromJSON(pp), 'ERR_FORMAT');
  });
});

describe('finding 7: sizes read from config.json are bounded', () => {
  it('num_labels 1e9 without id2label fails at once', () => {
    const t0 = Date.now();
    expectGerm(() => parseConfig({ num_labels: 1_000_000_000 }), 'ERR_FORMAT', /num_labels/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('every size has a stated limit', () => {
    for (const key of ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'vocab_size',
      'type_vocab_size', 'num_labels', 'max_position_embeddings']) {
      const json: Record<string, unknown> = { [key]: 2 ** 40 };
      expectGerm(() => parseConfig(json), 'ERR_FORMAT', new RegExp(key));
    }
    expectGerm(() => parseConfig({ max_position_embeddings: 'x' }), 'ERR_FORMAT', /max_position_embeddings/);
    const id2label: Record<string, string> = {};
    for (let i = 0; i < 70000; i++) id2label[i] = `c${i}`;
    expectGerm(() => parseConfig({ id2label }), 'ERR_FORMAT', /id2label/);
    // DNABERT-2's own values load.
    const cfg = parseConfig({ hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
      vocab_size: 4096, max_position_embeddings: 512 });
    expect(cfg.labels).toEqual(['LABEL_0', 'LABEL_1']);
  });
});

describe('finding 9: ALiBi head counts', () => {
  it('alibiSlopes validates heads and is cheap', () => {
    for (const h of [0, -1, 1.5, NaN, Infinity, 1e9, '4', null]) {
      const t0 = Date.now();
      expectGerm(() => alibiSlopes(h as number), 'ERR_INVALID_ARGUMENT', /heads/);
      expect(Date.now() - t0).toBeLessThan(100);
    }
    // The DNABERT-2 recipe itself is unchanged.
    expect(Array.from(alibiSlopes(8))).toEqual(Array.from({ length: 8 }, (_, i) => Math.fround(2 ** (-(i + 1)))));
    expect(alibiSlopes(12).length).toBe(12);
    const t0 = Date.now();
    expect(alibiSlopes(ALIBI_MAX_HEADS).length).toBe(ALIBI_MAX_HEADS);
    expect(Date.now() - t0).toBeLessThan(200);
  });

  it('matches the recursive reference for every count up to 300', () => {
    const ref = (n: number): number[] => {
      const pow2 = (m: number) => {
        const start = 2 ** (-(2 ** -(Math.log2(m) - 3)));
        return Array.from({ length: m }, (_, i) => start * start ** i);
      };
      if (Number.isInteger(Math.log2(n))) return pow2(n);
      const closest = 2 ** Math.floor(Math.log2(n));
      return [...pow2(closest), ...ref(2 * closest).filter((_, i) => i % 2 === 0).slice(0, n - closest)];
    };
    for (let n = 1; n <= 300; n++) expect(Array.from(alibiSlopes(n)), `${n}`).toEqual(Array.from(Float32Array.from(ref(n))));
  });

  it('attention on a zero-element q with 2^27 heads returns quickly', async () => {
    const q = zeros([0, 1, 2 ** 27, 1]);
    const t0 = Date.now();
    const out = attention(q, q, q, { alibi: true });
    expect(out.shape).toEqual([0, 1, 2 ** 27, 1]);
    expect((await out.data()).length).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('attention with more heads than ALiBi allows is a GermError, not a blocked loop', () => {
    const q = zeros([1, 1, ALIBI_MAX_HEADS + 1, 1]);
    expectGerm(() => attention(q, q, q, { alibi: true }), 'ERR_INVALID_ARGUMENT', /heads/);
  });
});

describe('untyped errors: options, special token names, LoRA rank', () => {
  const q = full([1, 3, 2, 4], 0.5);
  it('attention checks its numeric options', () => {
    for (const scale of [NaN, Infinity, '1']) expectGerm(() => attention(q, q, q, { scale: scale as number }), 'ERR_INVALID_ARGUMENT', /scale/);
    expectGerm(() => attention(q, q, q, { normalizer: 'x' as 'softmax' }), 'ERR_INVALID_ARGUMENT', /normalizer/);
    expectGerm(() => attention(q, q, q, { clip: { zeta: NaN, gamma: 0 } }), 'ERR_INVALID_ARGUMENT', /clip/);
    expectGerm(() => attention(q, q, q, { alibiMode: 'x' as 'causal' }), 'ERR_INVALID_ARGUMENT', /alibiMode/);
  });

  it('quantizeActivations checks bits', () => {
    const x = full([2, 4], 0.5);
    for (const bits of [8.5, 7, NaN, '8']) expectGerm(() => quantizeActivations(x, { bits: bits as 8 }), 'ERR_INVALID_ARGUMENT', /bits/);
  });

  it('tokenizer.json special tokens named toString, __proto__ or constructor are ordinary tokens', () => {
    const specials = ['[UNK]', 'toString', '__proto__', 'constructor', '[PAD]'];
    const json = tokenizerJson({ hasOwnProperty: 10 }, specials) as Record<string, unknown>;
    json.post_processor = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: 'toString', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '__proto__', type_id: 0 } }],
      special_tokens: JSON.parse('{"__proto__": {"id": "__proto__", "ids": [2], "tokens": ["__proto__"]}}'),
    };
    expect(Object.keys((json.model as { vocab: object }).vocab)).toContain('__proto__');
    const tok = BpeTokenizer.fromJSON(JSON.stringify(json));
    expect(Array.from(tok.encode('AC').ids)).toEqual([1, 5, 6, 2]);
    expect(tok.encode('AC').tokens).toEqual(['toString', 'A', 'C', '__proto__']);
    expect(tok.tokenId('constructor')).toBe(3);
    expect(tok.tokenId('hasOwnProperty')).toBe(10);
    const again = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
    expect(Array.from(again.encode('AC').ids)).toEqual([1, 5, 6, 2]);
    // A BertProcessing template with such names, and the trainer.
    const bert = tokenizerJson({}, specials) as Record<string, unknown>;
    bert.post_processor = { type: 'BertProcessing', cls: ['toString', 1], sep: ['__proto__', 2] };
    expect(Array.from(BpeTokenizer.fromJSON(bert).encode('A').ids)).toEqual([1, 5, 2]);
    const trained = germ.trainBpe(['ACGTACGT'], { vocabSize: 14, specialTokens: ['[UNK]', '[CLS]', '[SEP]', 'toString', '__proto__'] });
    expect(trained.tokenId('__proto__')).toBe(4);
    expect(trained.tokenId('toString')).toBe(3);
  });

  it('LoraLinear refuses a rank above the fused kernel limit when built', () => {
    const r = LORA_MAX_RANK + 1;
    const weight = full([4, 8], 0.1), A = full([r, 8], 0.1), B = full([4, r], 0.1);
    expectGerm(() => new LoraLinear({ weight, A, B, alpha: 1 }), 'ERR_INVALID_ARGUMENT', /rank/, String(LORA_MAX_RANK));
    // loraMerge has a GEMM path for larger ranks, so it takes them.
    expect(germ.loraMerge(weight, { A, B, alpha: 1 })).toBe(weight);
  });
});

// ---- the wrong-type table: every exported function, each argument replaced by
// null, undefined, a string, a plain object and NaN in turn.

const BAD: readonly unknown[] = [null, undefined, 'x', {}, NaN];
const BAD_NAMES = ['null', 'undefined', "'x'", '{}', 'NaN'];

interface Entry {
  /** Valid arguments (fresh each call). */
  args: () => unknown[] | Promise<unknown[]>;
  call: (...a: unknown[]) => unknown;
  /** Leading arguments that are the receiver of a method, not varied. */
  self?: number;
}

async function settle(result: unknown): Promise<void> {
  let r = result;
  if (r && typeof (r as { then?: unknown }).then === 'function') r = await r;
  if (r && typeof (r as AsyncGenerator)[Symbol.asyncIterator] === 'function' && typeof (r as AsyncGenerator).next === 'function') {
    const g = r as AsyncGenerator;
    await g.next();
    await g.return(undefined);
  }
  if (r instanceof Tensor) {
    await r.data();
    r.dispose();
  } else if (r instanceof SafetensorsFile) {
    await r.close();
  } else if (r instanceof GermModel) {
    r.dispose();
  }
}

function buildTable(tmp: string): Record<string, Entry> {
  const f = (shape: number[], v = 0.5) => full(shape, v);
  const x = () => f([2, 4]);
  const fasta = path.join(tmp, 'a.fa'), csv = path.join(tmp, 'a.csv'), st = path.join(tmp, 'a.safetensors');
  writeFileSync(fasta, '>a\nACGT\n');
  writeFileSync(csv, 'sequence,label\nACGT,1\n');
  const tokFile = path.join(FIXTURE, 'tokenizer.json');
  const tokJson = () => tokenizerJson();
  const q = () => f([1, 3, 2, 4]);
  const gate = () => ({ weight: f([2, 8], 0.1), bias: f([2], 0) });
  const adapter = () => ({ A: f([2, 4], 0.1), B: f([3, 2], 0.1), alpha: 4 });
  const lora = () => new LoraLinear({ weight: f([3, 4], 0.1), bias: f([3], 0), ...adapter() });
  const m = (name: string) => (germ as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
  const fn = (name: string, args: () => unknown[]): Entry => ({ args, call: (...a) => m(name)(...a) });
  const unaries = ['neg', 'abs', 'exp', 'log', 'sqrt', 'rsqrt', 'reciprocal', 'square', 'tanh', 'sigmoid', 'relu',
    'silu', 'gelu', 'geluTanh', 'kurtosis', 'tokenKurtosis'];
  const table: Record<string, Entry> = {
    tensor: fn('tensor', () => [[1, 2, 3, 4], [2, 2], { dtype: 'f32', device: 'cpu' }]),
    full: fn('full', () => [[2, 2], 1, { dtype: 'f32' }]),
    zeros: fn('zeros', () => [[2, 2], { dtype: 'f32' }]),
    ones: fn('ones', () => [[2, 2], { dtype: 'f32' }]),
    cast: fn('cast', () => [x(), 'f16']),
    affine: fn('affine', () => [x(), 2, 1]),
    clamp: fn('clamp', () => [x(), 0, 1]),
    matmul: fn('matmul', () => [x(), f([3, 4]), { transB: true, bias: f([3]), alpha: 1, transA: false }]),
    linear: fn('linear', () => [x(), f([3, 4]), f([3])]),
    layerNorm: fn('layerNorm', () => [x(), f([4], 1), f([4], 0), 1e-5]),
    addLayerNorm: fn('addLayerNorm', () => [x(), x(), f([4], 1), f([4], 0), 1e-5]),
    addLayerNormOut: fn('addLayerNormOut', () => [x(), x(), f([4], 1), f([4], 0), 1e-5]),
    layerNormBackward: fn('layerNormBackward', () => {
      const ln = germ.layerNorm(x(), f([4], 1), f([4], 0));
      return [x(), x(), f([4], 1), { mean: ln.mean, rstd: ln.rstd }];
    }),
    embedding: fn('embedding', () => [f([6, 4]), [0, 1]]),
    geglu: fn('geglu', () => [x(), f([4])]),
    linearGeglu: fn('linearGeglu', () => [x(), f([128, 4])]),
    'linearGeglu packed': { args: () => [x(), germ.packGeglu(f([80, 4]))],
      call: (a, w) => germ.linearGeglu(a as Tensor, w as germ.PackedWeight) },
    packGeglu: fn('packGeglu', () => [f([128, 4])]),
    dtypeSize: fn('dtypeSize', () => ['f32']),
    isFloat: fn('isFloat', () => ['f32']),
    leakedTensors: fn('leakedTensors', () => []),
    buildInfo: fn('buildInfo', () => []),
    cudaDeviceReport: fn('cudaDeviceReport', () => []),
    defaultDevice: fn('defaultDevice', () => []),
    devices: fn('devices', () => []),
    emptyCache: fn('emptyCache', () => ['cpu']),
    memoryStats: fn('memoryStats', () => ['cpu']),
    synchronize: fn('synchronize', () => ['cpu']),
    setNumThreads: fn('setNumThreads', () => [germ.numThreads()]),
    numThreads: fn('numThreads', () => []),
    doctor: fn('doctor', () => [{ run: false, requireCuda: false }]),
    alibiSlopes: fn('alibiSlopes', () => [4]),
    attention: fn('attention', () => [q(), q(), q(), { alibi: true, scale: 0.5, normalizer: 'softmax1' }]),
    attentionForward: fn('attentionForward', () => [q(), q(), q(), { alibi: true, seed: 1 }]),
    attentionBackward: fn('attentionBackward', () => {
      const saved = germ.attentionForward(q(), q(), q(), { alibi: true });
      return [q(), q(), q(), q(), saved, { alibi: true }];
    }),
    gatedAttentionForward: fn('gatedAttentionForward', () => [f([1, 3, 8]), q(), q(), q(), gate(), { alibi: true }]),
    gatedAttentionBackward: fn('gatedAttentionBackward', () => {
      const g = gate();
      const saved = germ.gatedAttentionForward(f([1, 3, 8]), q(), q(), q(), g, {});
      return [q(), f([1, 3, 8]), q(), q(), q(), g, saved, {}];
    }),
    'SafetensorsFile.open': { args: () => [st], call: (...a) => SafetensorsFile.open(a[0] as string) },
    loadSafetensors: fn('loadSafetensors', () => [st, { device: 'cpu' }]),
    parseSafetensorsHeader: fn('parseSafetensorsHeader', () => {
      const bytes = readFileSync(st);
      const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
      return [st, bytes.length, bytes.subarray(0, 8), bytes.subarray(8, 8 + n)];
    }),
    saveSafetensors: fn('saveSafetensors', () => [path.join(tmp, 'b.safetensors'), { a: x() }, { k: 'v' }]),
    readFasta: fn('readFasta', () => [fasta, {}]),
    readCsv: fn('readCsv', () => [csv, {}]),
    'new BaseTokenizer': { args: () => [], call: () => new BaseTokenizer() },
    'new KmerTokenizer': { args: () => [{ k: 3, stride: 1 }], call: (o) => new KmerTokenizer(o as { k: number }) },
    'BpeTokenizer.fromJSON': { args: () => [tokJson(), 'src'], call: (j, s) => BpeTokenizer.fromJSON(j, s as string) },
    'BpeTokenizer.fromFile': { args: () => [tokFile], call: (p) => BpeTokenizer.fromFile(p as string) },
    normalizeDna: fn('normalizeDna', () => ['ACGT', { mapUnknownToN: true }]),
    trainBpe: fn('trainBpe', () => [['ACGTACGT', 'AACC'], { vocabSize: 14, minFrequency: 1 }]),
    loadConfig: fn('loadConfig', () => [FIXTURE]),
    parseConfig: fn('parseConfig', () => [{ hidden_size: 8, num_attention_heads: 2 }, 'src']),
    'GermModel.load': { args: () => [FIXTURE, { device: 'cpu', dtype: 'f32' }], call: (d, o) => GermModel.load(d as string, o as object) },
    'new LoraLinear': { args: () => [{ weight: f([3, 4], 0.1), bias: f([3], 0), ...adapter(), rank: 2 }],
      call: (o) => new LoraLinear(o as never) },
    'LoraLinear.forward': { self: 1, args: () => [lora(), f([2, 4])], call: (l, a) => (l as LoraLinear).forward(a as Tensor) },
    'LoraLinear.backward': { self: 1, args: () => { const l = lora(); l.forward(f([2, 4])); return [l, f([2, 3])]; },
      call: (l, a) => (l as LoraLinear).backward(a as Tensor) },
    'LoraLinear.setAdapter': { self: 1, args: () => { const a = adapter(); return [lora(), a.A, a.B, 2]; },
      call: (l, A, B, r) => (l as LoraLinear).setAdapter(A as Tensor, B as Tensor, r as number) },
    catRows: fn('catRows', () => [[x(), x()]]),
    loraMerge: fn('loraMerge', () => [f([3, 4]), adapter()]),
    loraUnmerge: fn('loraUnmerge', () => [f([3, 4]), adapter()]),
    loraMergeQuantized: fn('loraMergeQuantized', () => [quantize(f([3, 4])), adapter()]),
    matmulInto: fn('matmulInto', () => [f([2, 3]), x(), f([3, 4]), { transB: true, alpha: 1, beta: 1 }]),
    'new OutlierStats': { args: () => ['cpu'], call: (d) => new OutlierStats(d as string) },
    'OutlierStats.update': { self: 1, args: () => [new OutlierStats('cpu'), x()], call: (s, a) => (s as OutlierStats).update(a as Tensor) },
    'OutlierStats.result': { self: 1, args: () => { const s = new OutlierStats(); s.update(x()); return [s]; },
      call: (s) => (s as OutlierStats).result() },
    absMax: fn('absMax', () => [x(), 'channel']),
    quantize: fn('quantize', () => [f([3, 8]), { bits: 8, symmetric: true, granularity: 'channel', clip: 1 }]),
    quantizeActivations: fn('quantizeActivations', () => [f([3, 8]), { bits: 8, smooth: f([8], 1) }]),
    quantizeNf4: fn('quantizeNf4', () => [f([4, 64]), { blockSize: 64, doubleQuant: true }]),
    quantizedLinear: fn('quantizedLinear', () => [f([2, 8]), quantize(f([3, 8])), { bias: f([3]), gelu: false }]),
    'quantizedLinear nf4': { args: () => [f([2, 64]).cast('f16'), quantizeNf4(f([4, 64])), { outDtype: 'f32' }],
      call: (...a) => germ.quantizedLinear(...(a as Parameters<typeof germ.quantizedLinear>)) },
    'QuantizedTensor.dequantize': { self: 1, args: () => [quantize(f([3, 8])), 'f16'],
      call: (t, d) => (t as QuantizedTensor).dequantize(d as 'f32') },
    'Nf4Tensor.dequantize': { self: 1, args: () => [quantizeNf4(f([4, 64])), 'f16'], call: (t, d) => (t as Nf4Tensor).dequantize(d as 'f32') },
    smoothQuantScales: fn('smoothQuantScales', () => [new Float32Array([1, 2, 3, 4]), f([3, 4]), 0.5]),
    'new GermError': { args: () => ['m', 'ERR_INTERNAL'], call: (a, b) => new GermError(a as string, b as 'ERR_INTERNAL') },
  };
  for (const op of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum']) table[op] = fn(op, () => [x(), x()]);
  for (const op of ['sum', 'mean', 'max', 'min']) table[op] = fn(op, () => [x(), 0, false]);
  for (const op of unaries) table[op] = fn(op, () => [x()]);
  // Tensor's methods.
  const method = (name: string, args: () => unknown[]): Entry => ({
    self: 1,
    args: () => [x(), ...args()],
    call: (t, ...a) => (t as unknown as Record<string, (...b: unknown[]) => unknown>)[name](...a),
  });
  Object.assign(table, {
    'Tensor.to': method('to', () => ['cpu']),
    'Tensor.cast': method('cast', () => ['f16']),
    'Tensor.reshape': method('reshape', () => [[4, 2]]),
    'Tensor.transpose': method('transpose', () => [0, 1]),
    'Tensor.permute': method('permute', () => [[1, 0]]),
    'Tensor.narrow': method('narrow', () => [1, 0, 2]),
    'Tensor.unsqueeze': method('unsqueeze', () => [0]),
    'Tensor.add': method('add', () => [x()]),
    'Tensor.sub': method('sub', () => [1]),
    'Tensor.mul': method('mul', () => [x()]),
    'Tensor.div': method('div', () => [2]),
    'Tensor.matmul': method('matmul', () => [f([4, 3]), { transA: false }]),
    'Tensor.sum': method('sum', () => [0, true]),
    'Tensor.mean': method('mean', () => [1, false]),
    'Tensor.max': method('max', () => [0, false]),
    'Tensor.min': method('min', () => [1, false]),
  });
  // Tokenizer methods, on each kind.
  const toks: Record<string, () => germ.BaseTokenizer | germ.KmerTokenizer | germ.BpeTokenizer> = {
    Base: () => new BaseTokenizer(), Kmer: () => new KmerTokenizer({ k: 2 }), Bpe: () => BpeTokenizer.fromJSON(tokJson()),
  };
  for (const [kind, make] of Object.entries(toks)) {
    table[`${kind}Tokenizer.encode`] = { self: 1, args: () => [make(), 'ACGT', { addSpecialTokens: true }],
      call: (t, s, o) => (t as germ.BaseTokenizer).encode(s as string, o as object) };
    table[`${kind}Tokenizer.encodeBatch`] = { self: 1, args: () => [make(), ['ACGT', 'AC'], { padding: 'longest', maxLength: 10 }],
      call: (t, s, o) => (t as germ.BaseTokenizer).encodeBatch(s as string[], o as object) };
    table[`${kind}Tokenizer.decode`] = { self: 1, args: () => [make(), [1, 6, 2], { skipSpecialTokens: true }],
      call: (t, s, o) => (t as germ.BaseTokenizer).decode(s as number[], o as object) };
    table[`${kind}Tokenizer.tokenId`] = { self: 1, args: () => [make(), 'AC'], call: (t, s) => (t as germ.BaseTokenizer).tokenId(s as string) };
    table[`${kind}Tokenizer.idToken`] = { self: 1, args: () => [make(), 6], call: (t, s) => (t as germ.BaseTokenizer).idToken(s as number) };
  }
  return table;
}

/** Exported functions that the table covers through another name (a class's methods, say). */
const COVERED_ELSEWHERE = new Set(['Tensor', 'BpeTokenizer', 'BaseTokenizer', 'KmerTokenizer', 'SafetensorsFile', 'GermModel',
  'LoraLinear', 'OutlierStats', 'QuantizedTensor', 'Nf4Tensor', 'GermError', 'PackedWeight']);

describe('wrong-typed arguments to every export', () => {
  it('every throw, sync or async, is a GermError', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'germ-wrongtype-'));
    await germ.saveSafetensors(path.join(tmp, 'a.safetensors'), { a: full([2, 2], 1) });
    const table = buildTable(tmp);
    // Every exported function has an entry.
    const missing = Object.entries(germ)
      .filter(([name, v]) => typeof v === 'function' && !(name in table) && !COVERED_ELSEWHERE.has(name))
      .map(([name]) => name);
    expect(missing).toEqual([]);
    const threads = germ.numThreads();
    // A wrong value for a path ('x') is still a path: keep what it writes in tmp.
    const cwd = process.cwd();
    process.chdir(tmp);
    let calls = 0;
    const failures: string[] = [];
    try {
      for (const [name, entry] of Object.entries(table)) {
        const valid = await entry.args();
        // The valid call itself works.
        await settle(entry.call(...valid));
        for (let pos = entry.self ?? 0; pos < valid.length; pos++) {
          for (let b = 0; b < BAD.length; b++) {
            const args = await entry.args();
            args[pos] = BAD[b];
            calls++;
            try {
              await settle(entry.call(...args));
            } catch (e) {
              if (!(e instanceof GermError))
                failures.push(`${name} arg ${pos} = ${BAD_NAMES[b]}: ${(e as Error)?.name}: ${(e as Error)?.message}`);
            }
          }
        }
      }
    } finally {
      germ.setNumThreads(threads);
      process.chdir(cwd);
    }
    console.log(`wrong-type table: ${calls} calls, ${failures.length} not a GermError`);
    if (process.env.GERM_TABLE_LOG) writeFileSync(process.env.GERM_TABLE_LOG, failures.join('\n'));
    expect(failures).toEqual([]);
  });
});
