// Property: a loader given a damaged file returns a result or throws a
// GermError with a code: never another error, a crash or a hang.
//
// Valid inputs (a safetensors file written by saveSafetensors; config.json,
// tokenizer.json and model.safetensors of test/fixtures/parity/softmax1; FASTA,
// plain and gzip; CSV) get 1 to 3 random mutations: bit flips, truncation,
// inserted or overwritten bytes (huge and negative numbers, NUL, BOM, a
// megabyte-long line ...), JSON edits (a value anywhere set to a wrong type,
// a huge or negative number; keys deleted; keys such as __proto__ and
// toString added), a wrong safetensors header length, or a FIFO / directory /
// missing / empty file in the file's place. Each case goes through the
// public loader (loadSafetensors, GermModel.load + embed + classify,
// BpeTokenizer.fromFile + encode, readFasta, readCsv) in a child process
// (helpers_child.ts), so a crash or a hang fails the case that caused it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import { saveSafetensors, tensor } from '../../lib/index';
import { randomDna } from '../helpers/tiny_model';
import { runsFor, timeoutFor } from './helpers';
import { type ChildOutcome, checkInChildren } from './helpers_child';

const FIXTURE = path.resolve(__dirname, '../fixtures/parity/softmax1');

// ---- what mutations insert: named, so a failing case prints a short name

const TEXTS: Record<string, () => string> = {
  nul: () => '\u0000', bom: () => '\ufeff', cr: () => '\r', lf: () => '\n', crlf: () => '\r\n', gt: () => '>',
  semi: () => ';', comma: () => ',', quote: () => '"', tab: () => '\t', minus1: () => '-1', zero: () => '0',
  e308: () => '1e308', e309: () => '1e309', nan: () => 'NaN', u64max: () => '18446744073709551615',
  u53: () => '9007199254740993', u32: () => '4294967296', i31: () => '2147483648', null: () => 'null',
  brackets: () => '[]', braces: () => '{}', proto: () => '"__proto__"', toString: () => '"toString"',
  escNul: () => '\\u0000', loneSurrogate: () => '\ud800', accent: () => '\u00e9', emoji: () => '\u{1f9ec}',
  dnaNul: () => 'ACGT\u0000ACGT', longA: () => 'A'.repeat(1 << 20), longHeader: () => `>${'x'.repeat(70_000)}`,
  longLine: () => `${'ACGT,'.repeat(20_000)}\n`, manyLines: () => '>r\nA\n'.repeat(20_000),
  deepJson: () => `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
};
const textArb = fc.constantFrom(...Object.keys(TEXTS));

/** JSON values a mutation sets (raw JSON text, so -0, 1e400 and own __proto__ keys survive). */
const VALUES: Record<string, string> = {
  neg1: '-1', zero: '0', one: '1', big9: '1000000000', i31: '2147483648', u53: '9007199254740993', e308: '1e308',
  negE308: '-1e308', e400: '1e400', half: '0.5', negZero: '-0', frac: '2.5', emptyStr: '""', str: '"x"',
  numStr: '"12"', longStr: JSON.stringify('x'.repeat(1 << 20)), null: 'null', true: 'true', emptyArr: '[]',
  emptyObj: '{}', arrBig: '[1000000000]', arrNeg: '[-1]', arrMixed: '[1, "a", null]', offsetsHuge: '[0, 18446744073709551615]',
  protoObj: '{"__proto__": {"polluted": 1}}', toStringObj: '{"toString": 1, "valueOf": "x"}', deep: '[[[[[[[[[[[[[[1]]]]]]]]]]]]]]',
};
const valueArb = fc.constantFrom(...Object.keys(VALUES));
const KEYS = ['__proto__', 'toString', 'constructor', 'hasOwnProperty', 'valueOf', '__metadata__', '', 'num_labels', 'vocab_size',
  'hidden_size', 'num_attention_heads', 'num_hidden_layers', 'intermediate_size', 'id2label', 'label2id', 'layer_norm_eps',
  'attention_normalizer', 'type_vocab_size', 'model', 'vocab', 'merges', 'added_tokens', 'unk_token', 'post_processor',
  'dtype', 'shape', 'data_offsets'];
const keyArb = fc.constantFrom(...KEYS);
const frac = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert' | 'overwrite'; at: number; text: string }
  | { op: 'repeat'; at: number; len: number; times: number }
  | { op: 'json'; path: number[]; action: 'set' | 'delete'; value: string }
  | { op: 'jsonKey'; path: number[]; key: string; value: string }
  | { op: 'headerLength'; value: string };

const byteMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: frac, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: frac }),
  fc.record({ op: fc.constantFrom('insert' as const, 'overwrite' as const), at: frac, text: textArb }),
  fc.record({ op: fc.constant('repeat' as const), at: frac, len: fc.integer({ min: 1, max: 64 }), times: fc.integer({ min: 2, max: 2000 }) }),
);
const jsonMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('json' as const), path: fc.array(frac, { minLength: 1, maxLength: 4 }),
    action: fc.constantFrom('set' as const, 'delete' as const), value: valueArb }),
  fc.record({ op: fc.constant('jsonKey' as const), path: fc.array(frac, { maxLength: 3 }), key: keyArb, value: valueArb }),
);
const HEADER_LENGTHS: Record<string, bigint> = { zero: 0n, one: 1n, seven: 7n, u32: 2n ** 32n, u53: 2n ** 53n, u64max: 2n ** 64n - 1n };
const headerMutation: fc.Arbitrary<Mutation> = fc.record({ op: fc.constant('headerLength' as const), value: fc.constantFrom(...Object.keys(HEADER_LENGTHS)) });

/** 1 to 3 mutations, each drawn from `one`. */
const mutations = (one: fc.Arbitrary<Mutation>) => fc.array(one, { minLength: 1, maxLength: 3 });

// ---- applying mutations

const PLACEHOLDER = '\u0001germ-fuzz-raw\u0001';

/** Applies a JSON edit: walks `path` (fractions pick a child at each level) and edits there. */
function editJson(text: string, m: Extract<Mutation, { op: 'json' | 'jsonKey' }>): string {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return text; // an earlier mutation broke the JSON: leave it broken
  }
  const holder = { root } as Record<string, unknown>;
  let parent: Record<string, unknown> | unknown[] = holder, key: string | number = 'root';
  for (const f of m.op === 'json' ? m.path : m.path) {
    const node: unknown = (parent as Record<string, unknown>)[key as string];
    if (node === null || typeof node !== 'object') break;
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (!keys.length) break;
    parent = node as Record<string, unknown>;
    key = keys[Math.floor(f * keys.length)];
  }
  if (m.op === 'jsonKey') {
    const node = (parent as Record<string, unknown>)[key as string];
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return text;
    Object.defineProperty(node, m.key, { value: PLACEHOLDER, enumerable: true, writable: true, configurable: true });
    return JSON.stringify(holder.root).replace(JSON.stringify(PLACEHOLDER), VALUES[m.value]);
  }
  if (m.action === 'delete' && parent !== holder) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key as string];
    return JSON.stringify(holder.root);
  }
  (parent as Record<string, unknown>)[key as string] = PLACEHOLDER;
  return JSON.stringify(holder.root).replace(JSON.stringify(PLACEHOLDER), VALUES[m.value]);
}

function applyBytes(data: Buffer, m: Mutation): Buffer {
  const at = 'at' in m ? Math.floor(m.at * (data.length + 1)) : 0;
  switch (m.op) {
    case 'flip': {
      if (!data.length) return data;
      const out = Buffer.from(data), i = Math.min(at, data.length - 1);
      out[i] ^= 1 << m.bit;
      return out;
    }
    case 'truncate':
      return data.subarray(0, at);
    case 'insert':
      return Buffer.concat([data.subarray(0, at), Buffer.from(TEXTS[m.text]()), data.subarray(at)]);
    case 'overwrite': {
      const t = Buffer.from(TEXTS[m.text]());
      return Buffer.concat([data.subarray(0, at), t, data.subarray(Math.min(data.length, at + t.length))]);
    }
    case 'repeat': {
      const piece = data.subarray(at, at + m.len);
      return Buffer.concat([data.subarray(0, at), ...Array(m.times).fill(piece), data.subarray(at)]);
    }
    default:
      return data;
  }
}

/** A safetensors file's header JSON edited (the length prefix rewritten to match unless another mutation sets it). */
function applySafetensors(data: Buffer, m: Mutation): Buffer {
  if (m.op === 'headerLength') {
    const out = Buffer.from(data.length >= 8 ? data : Buffer.concat([data, Buffer.alloc(8 - data.length)]));
    out.writeBigUInt64LE(HEADER_LENGTHS[m.value], 0);
    return out;
  }
  if (m.op !== 'json' && m.op !== 'jsonKey') return applyBytes(data, m);
  if (data.length < 8) return data;
  const n = Number(data.readBigUInt64LE(0));
  if (!(n <= data.length - 8)) return data;
  const header = Buffer.from(editJson(data.subarray(8, 8 + n).toString('utf8'), m));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length), 0);
  return Buffer.concat([prefix, header, data.subarray(8 + n)]);
}

function apply(data: Buffer, ms: Mutation[], kind: 'bytes' | 'json' | 'safetensors'): Buffer {
  for (const m of ms)
    data = kind === 'safetensors' ? applySafetensors(data, m)
      : kind === 'json' && (m.op === 'json' || m.op === 'jsonKey') ? Buffer.from(editJson(data.toString('utf8'), m)) : applyBytes(data, m);
  return data;
}

/** What may stand where a file should be. */
type Special = 'fifo' | 'dir' | 'missing' | 'empty' | 'devzero' | 'selfLink';
function writeSpecial(file: string, s: Special): void {
  if (s === 'fifo') execFileSync('mkfifo', [file]);
  else if (s === 'dir') mkdirSync(file);
  else if (s === 'empty') writeFileSync(file, '');
  else if (s === 'devzero') symlinkSync('/dev/zero', file);
  else if (s === 'selfLink') symlinkSync(path.basename(file), file);
}

// ---- the base inputs

let base: { safetensors: Buffer; config: Buffer; tokenizer: Buffer; weights: Buffer; fasta: Buffer; csv: Buffer };

beforeAll(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'germ-fuzz-base-'));
  const st = path.join(dir, 'base.safetensors');
  const t = (data: number[], shape: number[], dtype: 'f32' | 'f16' | 'bf16' | 'i32' | 'i8' | 'u8') => tensor(data, shape, { dtype });
  await saveSafetensors(st, {
    weight: t([1, -2, 3.5, 0, 1e-3, -7], [2, 3], 'f32'), half: t([0.5, 1, -1, 2], [4], 'f16'), brain: t([1, 2], [1, 2], 'bf16'),
    ids: t([1, 2, 3], [3], 'i32'), codes: t([-1, 0, 1, 2, 127], [5], 'i8'), bytes: t([], [0], 'u8'), scalar: t([42], [], 'f32'),
  }, { format: 'pt', note: 'germ fuzz' });
  const fasta = `>seq1 first record\nACGTACGTAC\nGTACGTNNac\n; a comment\n\n>seq2\r\nACGT\r\n>seq3 ${randomDna(5, 1)}\n${randomDna(300, 2).replace(/(.{60})/g, '$1\n')}\n`;
  const csv = `id,sequence,label\nr1,ACGTACGT,0\n"r2","ACGT\nACGT",1\nr3,${randomDna(200, 3)},\n`;
  base = {
    safetensors: readFileSync(st), config: readFileSync(path.join(FIXTURE, 'config.json')),
    tokenizer: readFileSync(path.join(FIXTURE, 'tokenizer.json')), weights: readFileSync(path.join(FIXTURE, 'model.safetensors')),
    fasta: Buffer.from(fasta), csv: Buffer.from(csv),
  };
});


/** Most cases mutate the bytes; some put a special file in the input's place. */
interface Input {
  mutations: Mutation[];
  special?: Special;
}
const input = (ms: fc.Arbitrary<Mutation[]>, specials: Special[]): fc.Arbitrary<Input> => fc.oneof(
  { arbitrary: ms.map((m): Input => ({ mutations: m })), weight: 19 },
  { arbitrary: fc.constantFrom(...specials).map((s): Input => ({ mutations: [], special: s })), weight: 1 },
);

function writeInput(file: string, data: Buffer, v: Input, kind: 'bytes' | 'json' | 'safetensors'): void {
  if (v.special) writeSpecial(file, v.special);
  else writeFileSync(file, apply(data, v.mutations, kind));
}

/**
 * FASTA and CSV readers pass a missing file's system error through as it is (ENOENT: lib/io/text.ts, pinned by
 * test/fasta.test.ts and test/csv.test.ts), like fs; the property allows exactly that, and only for a missing file.
 */
const missingIsEnoent = (v: Input, o: ChildOutcome): boolean => v.special === 'missing' && !o.ok && o.code === 'ENOENT';

/** The tokenizer's ids must lie in [0, vocabSize) (ids past it would index past the embedding table). */
function idsInVocab(o: ChildOutcome): string | undefined {
  const s = o.summary as { maxId?: number; minId?: number; vocabSize?: number } | undefined;
  if (o.ok && s?.maxId !== undefined && (s.maxId >= s.vocabSize! || s.minId! < 0))
    return `encode gave ids in [${s.minId}, ${s.maxId}] for a vocabulary of ${s.vocabSize}`;
  return undefined;
}

describe('property: damaged inputs through the public loaders, in child processes', () => {
  const prop = (name: string, defaultRuns: number, body: (runs: number) => Promise<void>) => {
    const runs = runsFor(defaultRuns);
    it(`${name} (${runs} cases)`, () => body(runs), timeoutFor(runs, 40));
  };

  prop('loadSafetensors: a result or a GermError', 300, (runs) => checkInChildren('safetensors', {
    arb: input(mutations(fc.oneof(byteMutation, jsonMutation, jsonMutation, headerMutation)), ['fifo', 'dir', 'missing', 'empty', 'devzero', 'selfLink']),
    runs,
    materialise(v, dir) {
      const file = path.join(dir, 'model.safetensors');
      writeInput(file, base.safetensors, v, 'safetensors');
      return { kind: 'safetensors', path: file };
    },
  }));

  /** A model folder: the fixture's three files with one of them damaged (the others hard copies). */
  const modelArb = fc.record({
    target: fc.constantFrom('config.json', 'tokenizer.json', 'model.safetensors'),
    json: input(mutations(fc.oneof({ arbitrary: jsonMutation, weight: 3 }, { arbitrary: byteMutation, weight: 1 })), ['fifo', 'dir', 'missing', 'empty', 'devzero']),
    weights: input(mutations(fc.oneof(jsonMutation, headerMutation, byteMutation)), ['fifo', 'dir', 'missing', 'empty', 'devzero', 'selfLink']),
  });

  prop('GermModel.load (+ embed, classify) on a folder with a damaged config.json, tokenizer.json or model.safetensors', 150,
    (runs) => checkInChildren('model', {
      arb: modelArb,
      runs,
      materialise(v, dir) {
        const files: Record<string, Buffer> = { 'config.json': base.config, 'tokenizer.json': base.tokenizer, 'model.safetensors': base.weights };
        for (const [name, data] of Object.entries(files)) {
          const file = path.join(dir, name);
          if (name !== v.target) writeFileSync(file, data);
          else if (name === 'model.safetensors') writeInput(file, data, v.weights, 'safetensors');
          else writeInput(file, data, v.json, 'json');
        }
        return { kind: 'model', path: dir };
      },
    }));

  // The config keys that size allocations, each set to a hostile value (id2label dropped half the time, so
  // num_labels counts): a generic JSON edit reaches these combinations too rarely.
  const SIZE_KEYS = ['num_labels', 'vocab_size', 'hidden_size', 'num_attention_heads', 'num_hidden_layers', 'intermediate_size',
    'type_vocab_size', 'max_position_embeddings', 'alibi_starting_size', 'layer_norm_eps'];
  prop('GermModel.load with a config.json size field set to a huge, negative, fractional or wrong-typed value', 150,
    (runs) => checkInChildren('model-config-sizes', {
      arb: fc.record({ key: fc.constantFrom(...SIZE_KEYS), value: valueArb, dropLabels: fc.boolean() }),
      runs,
      materialise({ key, value, dropLabels }, dir) {
        const config = JSON.parse(base.config.toString('utf8')) as Record<string, unknown>;
        if (dropLabels) {
          delete config.id2label;
          delete config.label2id;
        }
        config[key] = PLACEHOLDER;
        writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config).replace(JSON.stringify(PLACEHOLDER), VALUES[value]));
        writeFileSync(path.join(dir, 'tokenizer.json'), base.tokenizer);
        writeFileSync(path.join(dir, 'model.safetensors'), base.weights);
        return { kind: 'model', path: dir };
      },
    }));

  prop('BpeTokenizer.fromFile + encode on a damaged tokenizer.json: a GermError, or ids inside the vocabulary', 300,
    (runs) => checkInChildren('tokenizer', {
      arb: input(mutations(fc.oneof({ arbitrary: jsonMutation, weight: 3 }, { arbitrary: byteMutation, weight: 1 })), ['dir', 'missing', 'empty']),
      runs,
      materialise(v, dir) {
        const file = path.join(dir, 'tokenizer.json');
        writeInput(file, base.tokenizer, v, 'json');
        return { kind: 'tokenizer', path: file };
      },
      check: (_, o) => idsInVocab(o),
    }));

  for (const gz of [false, true])
    prop(`readFasta${gz ? ' (gzip: damaged text gzipped, or damaged gzip bytes)' : ''}: records or a GermError`, 300,
      (runs) => checkInChildren(gz ? 'fasta-gz' : 'fasta', {
        arb: fc.record({ v: input(mutations(byteMutation), ['dir', 'missing', 'empty']), afterGzip: fc.boolean() }),
        runs,
        materialise({ v, afterGzip }, dir) {
          const file = path.join(dir, gz ? 'reads.fa.gz' : 'reads.fa');
          if (v.special) writeSpecial(file, v.special);
          else if (!gz) writeFileSync(file, apply(base.fasta, v.mutations, 'bytes'));
          else writeFileSync(file, afterGzip ? apply(gzipSync(base.fasta), v.mutations, 'bytes') : gzipSync(apply(base.fasta, v.mutations, 'bytes')));
          return { kind: 'fasta', path: file };
        },
        allow: ({ v }, o) => missingIsEnoent(v, o),
      }));

  prop('readCsv: records or a GermError', 300, (runs) => checkInChildren('csv', {
    arb: input(mutations(byteMutation), ['dir', 'missing', 'empty']),
    runs,
    materialise(v, dir) {
      const file = path.join(dir, 'train.csv');
      writeInput(file, base.csv, v, 'bytes');
      return { kind: 'csv', path: file };
    },
    allow: missingIsEnoent,
  }));
});
