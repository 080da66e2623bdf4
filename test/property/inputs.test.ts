// Property: the public API answers bad arguments with a GermError, never a
// TypeError, a crash, a hang or a silently wrong result. Run in child
// processes (helpers_child.ts) so a crash or a hang fails the case.
//
//   - every op called with one argument (or option) replaced by a value of the
//     wrong type or range (undefined, null, NaN, huge numbers, strings, arrays,
//     typed arrays, objects, a disposed or wrong-dtype tensor ...)
//   - matmul / linear with a bias that is not a Tensor: refused, never dropped
//   - tensor() from numbers that do not fit the dtype: exact values or a GermError, never wrapped
//   - alibiSlopes(heads) for any heads: heads slopes in (0, 1], or a GermError
//   - views (narrow / transpose / permute / unsqueeze / reshape) with any arguments, on shapes
//     with huge and zero dims: a view that reads back, or a GermError
//   - DNA text with any characters through the tokenizer: ids in the vocabulary when
//     the text is DNA, ERR_INVALID_ARGUMENT when it is not
import path from 'node:path';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { roundTo } from '../helpers/float16';
import { runsFor, timeoutFor } from './helpers';
import { type Arg, type ChildOutcome, checkInChildren, encodeArg, tensorArg as T } from './helpers_child';

const TOKENIZER = path.resolve(__dirname, '../fixtures/parity/softmax1/tokenizer.json');

/** Wrong values, by name (so a failing case prints the name). */
const JUNK: Record<string, Arg> = {
  undefined: encodeArg(undefined), null: null, nan: encodeArg(NaN), inf: encodeArg(Infinity), negInf: encodeArg(-Infinity),
  neg1: -1, zero: 0, half: 1.5, i31: 2 ** 31, u32: 2 ** 32, u53: 2 ** 53, negU53: -(2 ** 53), e308: 1e308, negZero: encodeArg(-0),
  str: 'x', emptyStr: '', numStr: '3', true: true, emptyArr: [], arr: [1, 2, 3], nested: [[1], [2]], f32: encodeArg(new Float32Array(3)),
  i32: encodeArg(new Int32Array([1, 2])), bigint: encodeArg(10n), symbol: encodeArg(Symbol('s')), fn: encodeArg(() => 1),
  emptyObj: encodeArg({}), fakeTensor: encodeArg({ handle: 1, shape: [2, 3], dtype: 'f32' }),
  protoObj: { $: 'obj', entries: [['__proto__', { $: 'obj', entries: [['polluted', 1]] }], ['toString', 1]] },
  disposed: { $: 'disposed' }, i32Tensor: T([2, 3], 'i32'), f16Tensor: T([2, 3], 'f16'), scalarTensor: T([]), emptyTensor: T([0, 3]),
  bigTensor: T([3, 7]),
};
const junkArb = fc.constantFrom(...Object.keys(JUNK));

/** Valid calls: the export's name and its arguments (a method of Tensor when the name is 'Tensor.<method>'). */
const CALLS: Record<string, Arg[]> = {
  add: [T([2, 3]), T([2, 3])], sub: [T([2, 3]), T([3])], mul: [T([2, 3]), 2], div: [T([2, 3]), T([2, 1])],
  maximum: [T([2, 3]), T([2, 3])], pow: [T([2, 3]), 2], affine: [T([3]), 2, 1], clamp: [T([3]), -1, 1], exp: [T([3])],
  gelu: [T([3])], sum: [T([2, 3]), 1, false], max: [T([2, 3]), 0, true], mean: [T([2, 3])],
  matmul: [T([2, 3]), T([3, 4]), encodeArg({ bias: T([4]), transA: false, transB: false, alpha: 1 })],
  linear: [T([2, 3]), T([4, 3]), T([4])],
  layerNorm: [T([2, 3]), T([3]), T([3]), 1e-5], addLayerNorm: [T([2, 3]), T([2, 3]), T([3]), T([3]), 1e-5],
  attention: [T([2, 3, 2, 4]), T([2, 3, 2, 4]), T([2, 3, 2, 4]),
    encodeArg({ normalizer: 'softmax1', causal: false, alibi: true, scale: 0.5, lengths: [3, 2], dropout: 0, seed: 1 })],
  embedding: [T([5, 3]), [0, 1, 4]], cast: [T([2]), 'f16'], catRows: [[T([1, 2]), T([2, 2])]],
  quantize: [T([2, 4]), encodeArg({ bits: 8, symmetric: true, granularity: 'group', groupSize: 2, clip: 1 })],
  quantizeNf4: [T([4, 4]), encodeArg({ blockSize: 4, doubleQuant: true })],
  tensor: [[1, 2, 3, 4], [2, 2], encodeArg({ dtype: 'f32', device: 'cpu' })], full: [[2, 2], 1, encodeArg({ dtype: 'f32' })],
  zeros: [[2, 2]], alibiSlopes: [8], normalizeDna: ['ACGT', encodeArg({ mapUnknownToN: false })],
  'Tensor.narrow': [T([4, 5]), 1, 1, 2], 'Tensor.transpose': [T([2, 3, 4]), 0, 2], 'Tensor.permute': [T([2, 3]), [1, 0]],
  'Tensor.reshape': [T([2, 3]), [3, 2]], 'Tensor.unsqueeze': [T([2, 3]), 1], 'Tensor.to': [T([2]), 'cpu'],
  'Tensor.cast': [T([2]), 'bf16'], 'Tensor.matmul': [T([2, 3]), T([3, 2])],
};

/** The slots of a call: each argument, and each field of an options object. */
function slots(call: string, args: Arg[]): (number | [number, string])[] {
  const out: (number | [number, string])[] = [];
  args.forEach((a, i) => {
    if (i > 0 || !call.startsWith('Tensor.')) out.push(i); // a method's receiver is always a Tensor
    if (a && typeof a === 'object' && !Array.isArray(a) && a.$ === 'obj')
      for (const [k] of a.entries as [string, Arg][]) out.push([i, k]);
  });
  return out;
}

function replaced(args: Arg[], slot: number | [number, string], junk: Arg): Arg[] {
  const out = [...args];
  if (typeof slot === 'number') out[slot] = junk;
  else {
    const o = out[slot[0]] as { $: 'obj'; entries: [string, Arg][] };
    out[slot[0]] = { $: 'obj', entries: o.entries.map(([k, v]) => [k, k === slot[1] ? junk : v]) };
  }
  return out;
}

const isTensorJunk = (name: string) => /Tensor$|^disposed$/.test(name) && name !== 'fakeTensor';

describe('property: bad arguments to the public API, in child processes', () => {
  const prop = (name: string, defaultRuns: number, body: (runs: number) => Promise<void>) => {
    const runs = runsFor(defaultRuns);
    it(`${name} (${runs} cases)`, () => body(runs), timeoutFor(runs, 40));
  };

  const callArb = fc.record({ call: fc.constantFrom(...Object.keys(CALLS)), slot: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), junk: junkArb })
    .map(({ call, slot, junk }) => {
      const s = slots(call, CALLS[call]);
      return { call, slot: s[Math.floor(slot * s.length)], junk };
    });

  prop('any op with one argument or option of a wrong type or range: a result or a GermError (never TypeError, never a crash)', 600,
    (runs) => checkInChildren('api-args', {
      arb: callArb,
      runs,
      materialise: ({ call, slot, junk }) => ({ kind: 'call', args: [call, ...replaced(CALLS[call], slot, JUNK[junk])] }),
      check({ call, slot, junk }, o) {
        // a bias that is not a Tensor must be refused, not dropped
        const bias = (call === 'matmul' && Array.isArray(slot) && slot[1] === 'bias') || (call === 'linear' && slot === 2);
        if (bias && o.ok && !isTensorJunk(junk) && junk !== 'undefined' && junk !== 'null')
          return `${call} accepted bias = ${junk} (not a Tensor) and returned a result`;
        return undefined;
      },
    }));

  const INT_RANGE: Record<string, [number, number]> = { i32: [-(2 ** 31), 2 ** 31 - 1], i8: [-128, 127], u8: [0, 255] };
  const numberArb = fc.oneof(fc.integer({ min: -300, max: 300 }), fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53, -1, 255, 256, 128, -129,
    0.5, -0.5, 1.5, 1e308, -1e308, NaN, Infinity, -Infinity), fc.double());
  // tensor() converts "with one rounding": to the nearest float, or an integer within 1 for the integer
  // dtypes. A value outside the integer dtype's range saturates to the nearer bound, never wraps, and
  // NaN becomes 0: tensor() converts as cast() does (the README's rule).
  prop('tensor(numbers, shape, { dtype }): the values rounded once, or a GermError; never wrapped', 300,
    (runs) => checkInChildren('tensor-values', {
      arb: fc.record({ data: fc.array(numberArb, { minLength: 1, maxLength: 6 }), dtype: fc.constantFrom('i32', 'i8', 'u8', 'f32', 'f16', 'bf16'),
        typed: fc.boolean() }),
      runs,
      materialise: ({ data, dtype, typed }) => ({ kind: 'call', args: ['tensor', typed ? encodeArg(Float64Array.from(data)) : encodeArg(data), [data.length], encodeArg({ dtype })] }),
      check({ data, dtype, typed }, o) {
        if (!o.ok) return undefined;
        const got = (o.summary!.data as (number | string)[]).map(Number);
        const range = INT_RANGE[dtype];
        // a Float64Array is narrowed to f32 first (lib/ops.ts)
        const src = data.map((x) => (typed ? Math.fround(x) : x));
        const fine = (g: number, x: number) => range ? Math.abs(g - (Number.isNaN(x) ? 0 : Math.min(Math.max(x, range[0]), range[1]))) < 1
          : g === roundTo(dtype, x) || (Number.isNaN(g) && Number.isNaN(x));
        const bad = got.findIndex((g, i) => !fine(g, src[i]));
        if (bad >= 0) return `element ${bad}: ${data[bad]} stored as ${dtype} reads back as ${got[bad]}`;
        return undefined;
      },
    }));

  prop('alibiSlopes(heads): heads slopes in (0, 1], or a GermError', 150, (runs) => checkInChildren('alibi', {
    arb: fc.oneof(fc.integer({ min: -4, max: 300 }), fc.constantFrom(2 ** 20 + 1, 2 ** 31, 2 ** 40, 2 ** 53, 1e308, 0.5, 12.5, NaN, Infinity, -Infinity, -0)),
    runs,
    materialise: (heads) => ({ kind: 'call', args: ['alibiSlopes', encodeArg(heads)] }),
    check(heads, o) {
      if (!o.ok) return undefined;
      const s = o.summary as { length: number; values: number[] };
      if (s.length !== heads) return `alibiSlopes(${heads}) returned ${s.length} slopes`;
      const bad = s.values.find((x) => !(x > 0 && x <= 1));
      return bad === undefined ? undefined : `alibiSlopes(${heads}) holds the slope ${bad}`;
    },
  }));

  const BIG = [0, 0, 1, 2, 3, 2 ** 31, 2 ** 32 + 1, 2 ** 40, 2 ** 53];
  const argArb = fc.constantFrom(0, 1, 2, -1, -3, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 62, 1.5, NaN, Infinity);
  const stepArb = fc.oneof(
    fc.tuple(fc.constant('narrow'), argArb, argArb, argArb),
    fc.tuple(fc.constant('transpose'), argArb, argArb),
    fc.tuple(fc.constant('unsqueeze'), argArb),
    fc.tuple(fc.constant('permute'), fc.array(argArb, { maxLength: 4 })),
    fc.tuple(fc.constant('reshape'), fc.array(fc.oneof(argArb, fc.constant(-1)), { maxLength: 4 })),
  );
  prop('views with any arguments on shapes with zero and huge dims: a view that reads back, or a GermError', 300,
    (runs) => checkInChildren('views-args', {
      // an empty tensor (a 0 dim) may have huge other dims; otherwise small dims
      arb: fc.record({ shape: fc.array(fc.constantFrom(...BIG), { minLength: 1, maxLength: 3 }), steps: fc.array(stepArb, { minLength: 1, maxLength: 3 }) })
        .map(({ shape, steps }) => ({ shape: shape.includes(0) ? shape : shape.map((d) => Math.min(d, 3)), steps })),
      runs,
      materialise: ({ shape, steps }) => ({ kind: 'viewChain', args: [shape, encodeArg(steps)] }),
    }));

  const dnaChar = fc.constantFrom('A', 'C', 'G', 'T', 'N', 'a', 'c', 'g', 't', 'n', 'R', 'y', 'K', '\u0000', ' ', '-', 'U', '\n', '\u00c1',
    '\u0100', '\u0141', '\u{1f9ec}', '\ud800', '*', '.', 'ACGT'.repeat(1000));
  prop('DNA text through the tokenizer: ids in the vocabulary when it is DNA, ERR_INVALID_ARGUMENT when not', 600,
    (runs) => checkInChildren('dna', {
      arb: fc.record({ chars: fc.array(dnaChar, { maxLength: 12 }), mapUnknownToN: fc.boolean() }),
      runs,
      materialise: ({ chars, mapUnknownToN }) => ({ kind: 'dna', path: TOKENIZER, args: [chars.join(''), encodeArg({ mapUnknownToN })] }),
      check({ chars, mapUnknownToN }, o: ChildOutcome) {
        const text = chars.join('');
        const dna = text.length > 0 && (mapUnknownToN ? /^[ACGTNRYSWKMBDHV]+$/i : /^[ACGTN]+$/i).test(text);
        if (dna && !o.ok) return `refused DNA text ${JSON.stringify(text.slice(0, 40))}: ${o.code} ${o.message}`;
        if (!dna && o.ok) return `accepted non-DNA text ${JSON.stringify(text.slice(0, 40))}`;
        if (!dna && o.code !== 'ERR_INVALID_ARGUMENT') return `non-DNA text gave ${o.code}, want ERR_INVALID_ARGUMENT`;
        const s = o.summary as { maxId?: number; minId?: number; vocabSize?: number } | undefined;
        if (s?.maxId !== undefined && (s.maxId >= s.vocabSize! || s.minId! < 0)) return `ids in [${s.minId}, ${s.maxId}], vocabulary ${s.vocabSize}`;
        return undefined;
      },
    }));
});
