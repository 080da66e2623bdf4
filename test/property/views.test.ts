// Property: every op family gives the same answer on a strided view as on a
// contiguous copy of it, and agrees with a float64 JavaScript reference.
//
// Views come from test/property/helpers.ts: a random storage, narrowed
// (offsets, the q / k / v slices of a fused QKV tensor) and permuted
// (transposes), with size-1 and size-0 dims. Each case builds the op's inputs
// as views, runs the op on them and on `.contiguous()` copies, and reads both.
//
// Tolerances (stated once, used below):
//   view vs contiguous  elementwise, cast, embedding, catRows, quantize, NF4: exact (bit for bit);
//                       reductions, matmul, layerNorm, attention (f32 accumulation in a possibly
//                       different order): TIGHT[dtype] x the sum of |terms| of each output element
//   vs float64          elementwise: 2e-6 + 4e-6|x| (f32), 2 units of rounding (f16 / bf16), as
//                       test/elementwise.test.ts; reductions / matmul: the f32 accumulation bound
//                       (terms x 2^-24 x sum|terms|) plus one rounding into the dtype; layerNorm and
//                       attention: the absolute / relative tolerances of their example-based suites.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as germ from '../../lib/index';
import { type DType, type Tensor, GermError } from '../../lib/index';
import { type AttnCase, attentionBackward64, attentionForward64 } from '../helpers/attention_ref';
import { describeDevices } from '../helpers/devices';
import { EPS, roundTo } from '../helpers/float16';
import { refNf4, refCode, refParams, unpackCodes } from '../helpers/quant_ref';
import { uniform } from '../helpers/random';
import { binary64, layerNorm64, unary64 } from '../helpers/reference';
import {
  type Fill, type MadeView, type ViewSpec, contiguousStrides, dimArb, disposeAll, expectSame, expectWithin, fcParams,
  layoutArb, makeView, numel, runsFor, shapeArb, storageData, timeoutFor, values, viewArb, viewLayout,
} from './helpers';

const FLOATS = ['f32', 'f16', 'bf16'] as const;
type Float = (typeof FLOATS)[number];
const floatArb = fc.constantFrom<Float>(...FLOATS);
const seedArb = fc.integer({ min: 1, max: 2 ** 30 });
/** View vs contiguous for accumulating ops: this many units of f32 / the dtype, relative to sum |terms|. */
const TIGHT: Record<Float, number> = { f32: 2 ** -20, f16: 2 ** -10, bf16: 2 ** -7 };
const F32 = 2 ** -24;

type Op = (...args: never[]) => Tensor;
const ops = germ as unknown as Record<string, Op>;

/** Runs `call` on the views and on contiguous copies; both must succeed, or both throw a GermError with one code. */
async function bothWays<T>(views: Tensor[], call: (xs: Tensor[]) => T, keep: Tensor[]):
  Promise<{ onView: T; onCopy: T } | { error: GermError }> {
  const copies = views.map((v) => v.contiguous());
  keep.push(...copies);
  let onView: T, onCopy: T;
  try {
    onCopy = call(copies);
  } catch (e) {
    expect(e, `the op on contiguous inputs threw ${String(e)}`).toBeInstanceOf(GermError);
    expect(() => call(views), 'the op on the views must fail as on contiguous copies')
      .toThrow(expect.objectContaining({ code: (e as GermError).code }));
    return { error: e as GermError };
  }
  try {
    onView = call(views);
  } catch (e) {
    expect.fail(`the op on the views threw ${String(e)} but works on contiguous copies`);
  }
  return { onView, onCopy };
}

/** A view made and registered for disposal. */
function mk(spec: ViewSpec, dtype: DType, seed: number, device: string, keep: Tensor[], fill: Fill = 'normal'): MadeView {
  const m = makeView(spec, storageData(spec, dtype, seed, fill), dtype, device);
  keep.push(...m.owned);
  return m;
}

/** Default cases per view property (GERM_FUZZ_RUNS overrides): about a millisecond each. */
const RUNS = 2000;

/** Runs one fast-check property on a device, `defaultRuns` cases unless GERM_FUZZ_RUNS says otherwise. */
function property<T>(name: string, defaultRuns: number, arb: fc.Arbitrary<T>,
  body: (v: T, device: string, keep: Tensor[]) => Promise<void>, device: string): void {
  const runs = runsFor(defaultRuns);
  it(`${name} (${runs} cases)`, async () => {
    await fc.assert(fc.asyncProperty(arb, async (v) => {
      const keep: Tensor[] = [];
      try {
        await body(v, device, keep);
      } finally {
        disposeAll(keep);
      }
    }), fcParams(runs));
  }, timeoutFor(runs));
}

// ---- references

const UNARY_PARAMS: Record<string, [number, number]> = { affine: [1.75, -0.5], powScalar: [1.5, 0], clamp: [-1, 2] };
const unaryFill = (op: string): Fill =>
  ['log', 'sqrt', 'rsqrt', 'powScalar', 'reciprocal'].includes(op) ? 'positive' : op === 'exp' ? 'exp' : 'normal';

function applyUnary(op: string, t: Tensor): Tensor {
  const [a, b] = UNARY_PARAMS[op] ?? [0, 0];
  return op === 'identity' ? t.clone() : op === 'affine' ? germ.affine(t, a, b) : op === 'powScalar' ? germ.pow(t, a)
    : op === 'clamp' ? germ.clamp(t, a, b) : ops[op](t as never);
}

/** test/elementwise.test.ts's tolerance: libm-level f32 error plus one rounding (two for f16 / bf16). */
function elementwiseBound(dtype: Float, want: number[]): number[] {
  return want.map((w) => dtype === 'f32' ? 2e-6 + 4e-6 * Math.abs(w) : 4 * EPS[dtype] * 1e-2 + 2.01 * EPS[dtype] * Math.abs(w));
}

/** Row-major index into `shape` of the element of `outShape` at flat index e, broadcasting (size-1 dims, missing leading dims). */
function broadcastIndex(e: number, outShape: number[], shape: number[]): number {
  const st = contiguousStrides(shape), lead = outShape.length - shape.length;
  let idx = 0, rem = e;
  const ost = contiguousStrides(outShape);
  for (let i = 0; i < outShape.length; i++) {
    const c = Math.floor(rem / ost[i]);
    rem -= c * ost[i];
    const j = i - lead;
    if (j >= 0 && shape[j] !== 1) idx += c * st[j];
  }
  return idx;
}

// ---- the properties

describeDevices('property: strided views', (device) => {
  property('a view reads the elements its layout names (narrow / permute / contiguous)', RUNS,
    fc.tuple(viewArb(shapeArb(1, 5)), fc.constantFrom<DType>('f32', 'f16', 'bf16', 'i32', 'i8', 'u8'), seedArb),
    async ([spec, dtype, seed], dev, keep) => {
      const fill: Fill = dtype === 'i8' ? 'int8' : dtype === 'u8' ? 'uint8' : dtype === 'i32' ? 'int' : 'normal';
      const m = mk(spec, dtype, seed, dev, keep, fill);
      expect(m.view.shape).toEqual(spec.shape);
      const { strides, offset } = viewLayout(spec);
      spec.shape.forEach((d, i) => d > 1 && expect(m.view.strides[i], `stride of dim ${i}`).toBe(strides[i]));
      if (numel(spec.shape) > 0) expect(m.view.offset).toBe(offset);
      expectSame(await values(m.view), m.values, 'view data()');
      const c = m.view.contiguous();
      keep.push(c);
      expect(c.strides.filter((_, i) => spec.shape[i] > 1)).toEqual(contiguousStrides(spec.shape).filter((_, i) => spec.shape[i] > 1));
      expectSame(await values(c), m.values, 'contiguous()');
    }, device);

  property('unary elementwise ops: view = contiguous (exact) = float64', RUNS,
    fc.tuple(fc.constantFrom(...Object.keys(unary64)), floatArb, viewArb(shapeArb(1, 4)), seedArb),
    async ([op, dtype, spec, seed], dev, keep) => {
      const x = mk(spec, dtype, seed, dev, keep, unaryFill(op));
      const r = await bothWays([x.view], ([t]) => applyUnary(op, t), keep);
      if ('error' in r) expect.fail(`${op} threw ${r.error.message}`);
      keep.push(r.onView, r.onCopy);
      const got = await values(r.onView);
      expectSame(got, await values(r.onCopy), `${op} ${dtype}: view vs contiguous`);
      const [a, b] = UNARY_PARAMS[op] ?? [0, 0];
      const want = x.values.map((v) => roundTo(dtype, unary64[op](v, a, b)));
      expectWithin(got, want, elementwiseBound(dtype, want), `${op} ${dtype} vs float64`);
    }, device);

  const broadcastArb = shapeArb(1, 4, 4).chain((out) => fc.record({
    out: fc.constant(out),
    aKeep: fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    bKeep: fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    bDrop: fc.integer({ min: 0, max: out.length - 1 }),
  })).chain(({ out, aKeep, bKeep, bDrop }) => {
    const a = out.map((d, i) => (aKeep[i] ? d : 1));
    const b = out.map((d, i) => (bKeep[i] ? d : 1)).slice(bDrop);
    return fc.record({ out: fc.constant(out), a: layoutArb(a), b: layoutArb(b) });
  });

  property('binary elementwise ops with broadcasting: view = contiguous (exact) = float64', RUNS,
    fc.tuple(fc.constantFrom(...Object.keys(binary64)), floatArb, broadcastArb, seedArb),
    async ([op, dtype, { a, b }, seed], dev, keep) => {
      const fill: Fill = op === 'pow' ? 'positive' : 'normal';
      const va = mk(a, dtype, seed, dev, keep, fill), vb = mk(b, dtype, seed + 1, dev, keep, op === 'div' || op === 'pow' ? 'positive' : 'normal');
      const r = await bothWays([va.view, vb.view], ([x, y]) => ops[op](x as never, y as never), keep);
      if ('error' in r) expect.fail(`${op} threw ${r.error.message}`);
      keep.push(r.onView, r.onCopy);
      const got = await values(r.onView);
      expectSame(got, await values(r.onCopy), `${op} ${dtype}: view vs contiguous`);
      const outShape = r.onCopy.shape;
      const want = Array.from({ length: numel(outShape) }, (_, e) =>
        roundTo(dtype, binary64[op](va.values[broadcastIndex(e, outShape, a.shape)], vb.values[broadcastIndex(e, outShape, b.shape)])));
      expectWithin(got, want, elementwiseBound(dtype, want), `${op} ${dtype} vs float64`);
    }, device);

  property('reductions (sum / mean / max / min, any axis, keepdim): view = contiguous = float64', RUNS,
    fc.tuple(fc.constantFrom('sum', 'mean', 'max', 'min'), floatArb, viewArb(shapeArb(1, 4)), seedArb, fc.boolean(),
      fc.double({ min: 0, max: 1, noNaN: true })),
    async ([op, dtype, spec, seed, keepdim, axisFrac], dev, keep) => {
      const n = spec.shape.length;
      // undefined (everything) or an axis in [-n, n)
      const pick = Math.min(Math.floor(axisFrac * (2 * n + 1)), 2 * n);
      const axis = pick === 2 * n ? undefined : pick - n;
      const x = mk(spec, dtype, seed, dev, keep);
      const r = await bothWays([x.view], ([t]) => ops[op](t as never, axis as never, keepdim as never), keep);
      if ('error' in r) expect.fail(`${op}(axis ${axis}) threw ${r.error.message}`);
      keep.push(r.onView, r.onCopy);
      // float64: reduce over the axis (or all), with sum |x| per output for the bound
      const ax = axis === undefined ? -1 : axis < 0 ? axis + n : axis;
      const outShape = axis === undefined ? [] : spec.shape.filter((_, i) => i !== ax);
      const outN = numel(outShape);
      const acc = Array.from({ length: outN }, () => [] as number[]);
      const st = contiguousStrides(spec.shape);
      x.values.forEach((v, e) => {
        if (axis === undefined) return acc[0].push(v);
        let o = 0, mul = 1;
        for (let i = n - 1; i >= 0; i--) {
          if (i === ax) continue;
          o += (Math.floor(e / st[i]) % spec.shape[i]) * mul;
          mul *= spec.shape[i];
        }
        acc[o].push(v);
      });
      const red = (xs: number[]) => op === 'sum' ? xs.reduce((a, b) => a + b, 0) : op === 'mean' ? xs.reduce((a, b) => a + b, 0) / xs.length
        : op === 'max' ? Math.max(...xs) : Math.min(...xs); // empty: -Infinity / Infinity, as test/reduce.test.ts
      const want = acc.map((xs) => roundTo(dtype, red(xs)));
      const mag = acc.map((xs) => xs.reduce((a, b) => a + Math.abs(b), 0) / (op === 'mean' ? Math.max(xs.length, 1) : 1));
      const got = await values(r.onView);
      const wantShape = axis === undefined ? (keepdim ? spec.shape.map(() => 1) : [])
        : keepdim ? spec.shape.map((d, i) => (i === ax ? 1 : d)) : outShape;
      expect(r.onView.shape, `${op} output shape`).toEqual(r.onCopy.shape);
      expect(numel(r.onView.shape)).toBe(numel(wantShape));
      expectWithin(got, await values(r.onCopy), mag.map((m) => TIGHT[dtype] * m), `${op} ${dtype}: view vs contiguous`);
      expectWithin(got, want, acc.map((xs, i) => xs.length * F32 * mag[i] * 2 + 2 * EPS[dtype] * Math.abs(want[i])),
        `${op} axis ${axis} ${dtype} vs float64`);
    }, device);

  // matmul: a [...batch, m, k] @ b [k, n] or [...batch, k, n], operands passed as views, optionally transposed
  // views with transA / transB (so the op reads a transpose of a transpose), bias a view of [n], alpha.
  const mmArb = fc.record({
    batch: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    m: dimArb(5), k: dimArb(6), n: dimArb(5),
    bBatched: fc.boolean(), transA: fc.boolean(), transB: fc.boolean(), bias: fc.boolean(),
    alpha: fc.constantFrom(1, 1, 0.5, -2), linear: fc.boolean(),
  }).map((c) => ({ ...c, transA: c.transA && !c.linear })).chain((c) => fc.record({
    c: fc.constant(c),
    a: layoutArb([...c.batch, c.transA ? c.k : c.m, c.transA ? c.m : c.k]),
    b: layoutArb(c.linear || !c.bBatched ? (c.transB || c.linear ? [c.n, c.k] : [c.k, c.n])
      : [...c.batch, c.transB ? c.n : c.k, c.transB ? c.k : c.n]),
    bias: layoutArb([c.n]),
  }));

  property('matmul / linear (transA, transB, bias, alpha, batched): view = contiguous = float64', RUNS,
    fc.tuple(mmArb, floatArb, seedArb), async ([{ c, a, b, bias }, dtype, seed], dev, keep) => {
      const va = mk(a, dtype, seed, dev, keep), vb = mk(b, dtype, seed + 1, dev, keep), vbias = mk(bias, dtype, seed + 2, dev, keep);
      const transB = c.linear || c.transB;
      const inputs = c.bias ? [va.view, vb.view, vbias.view] : [va.view, vb.view];
      const r = await bothWays(inputs, ([x, w, bb]) => c.linear ? germ.linear(x, w, bb)
        : germ.matmul(x, w, { transA: c.transA, transB, bias: bb, alpha: c.alpha }), keep);
      if ('error' in r) expect.fail(`matmul threw ${r.error.message}`);
      keep.push(r.onView, r.onCopy);
      const alpha = c.linear ? 1 : c.alpha;
      const batch = numel(c.batch), bBatched = !c.linear && c.bBatched;
      const want: number[] = [], mag: number[] = [];
      for (let p = 0; p < batch; p++)
        for (let i = 0; i < c.m; i++)
          for (let j = 0; j < c.n; j++) {
            let s = 0, sa = 0;
            for (let l = 0; l < c.k; l++) {
              const av = va.values[p * c.m * c.k + (c.transA ? l * c.m + i : i * c.k + l)];
              const bo = bBatched ? p * c.k * c.n : 0;
              const bv = vb.values[bo + (transB ? j * c.k + l : l * c.n + j)];
              s += av * bv;
              sa += Math.abs(av * bv);
            }
            const bb = c.bias ? vbias.values[j] : 0;
            want.push(alpha * s + bb);
            mag.push(Math.abs(alpha) * sa + Math.abs(bb));
          }
      const got = await values(r.onView);
      expect(r.onView.shape).toEqual([...c.batch, c.m, c.n]);
      expectWithin(got, await values(r.onCopy), mag.map((m) => TIGHT[dtype] * m), `matmul ${dtype}: view vs contiguous`);
      expectWithin(got, want, want.map((w, e) => (c.k + 2) * F32 * mag[e] + 2 * EPS[dtype] * (Math.abs(w) + mag[e] * (dtype === 'f32' ? 0 : 1))),
        `matmul ${dtype} vs float64`);
    }, device);

  const lnArb = fc.record({ lead: shapeArb(0, 3, 4), C: fc.integer({ min: 1, max: 12 }), add: fc.boolean(),
    eps: fc.constantFrom(1e-5, 1e-12), out: fc.boolean() }).chain((c) => fc.record({
    c: fc.constant(c), x: layoutArb([...c.lead, c.C]), r: layoutArb([...c.lead, c.C]), w: layoutArb([c.C]), b: layoutArb([c.C]),
  }));

  property('layerNorm / addLayerNorm / addLayerNormOut: view = contiguous = float64', RUNS,
    fc.tuple(lnArb, floatArb, seedArb), async ([{ c, x, r: rs, w, b }, dtype, seed], dev, keep) => {
      const vx = mk(x, dtype, seed, dev, keep), vr = mk(rs, dtype, seed + 1, dev, keep);
      const vw = mk(w, dtype, seed + 2, dev, keep), vb = mk(b, dtype, seed + 3, dev, keep);
      const inputs = [vx.view, vw.view, vb.view, vr.view];
      const r = await bothWays(inputs, ([tx, tw, tb, tr]) => {
        if (!c.add) return germ.layerNorm(tx, tw, tb, c.eps);
        if (c.out) return { out: germ.addLayerNormOut(tx, tr, tw, tb, c.eps) };
        return germ.addLayerNorm(tx, tr, tw, tb, c.eps);
      }, keep);
      if ('error' in r) expect.fail(`layerNorm threw ${r.error.message}`);
      for (const res of [r.onView, r.onCopy]) keep.push(...Object.values(res));
      const rows = numel(c.lead);
      const xin = c.add ? vx.values.map((v, i) => roundTo(dtype, v + vr.values[i])) : vx.values;
      const ref = layerNorm64(xin, vw.values, vb.values, rows, c.C, c.eps);
      const got = await values(r.onView.out);
      const mag = Array.from(ref.out, (_, e) => Math.abs(vw.values[e % c.C]) * Math.sqrt(c.C) + Math.abs(vb.values[e % c.C]));
      expectWithin(got, await values(r.onCopy.out), mag.map((m) => TIGHT[dtype] * m * 4), `layerNorm ${dtype}: view vs contiguous`);
      // test/layernorm.test.ts's tolerance scale: f32 accumulation over C, one rounding into the dtype;
      // plus the row's conditioning: the f32 mean is off by about C ulps of max |x|, which moves every
      // normalized value by that times rstd (large when a row's values nearly agree, as eps = 1e-12 allows).
      const tol = dtype === 'f32' ? 1e-5 : dtype === 'f16' ? 4e-3 : 3e-2;
      const rowMax = Array.from({ length: rows }, (_, i) => xin.slice(i * c.C, (i + 1) * c.C).reduce((a, v) => Math.max(a, Math.abs(v)), 0));
      const cond = (e: number) => {
        const i = Math.floor(e / c.C), xhat = (xin[e] - ref.mean[i]) * ref.rstd[i];
        return 8 * c.C * F32 * rowMax[i] * ref.rstd[i] * Math.abs(vw.values[e % c.C]) * (1 + Math.abs(xhat));
      };
      expectWithin(got, Array.from(ref.out), mag.map((m, e) => tol * m + cond(e)), `layerNorm ${dtype} vs float64`);
      if ('mean' in r.onView) {
        const cm = r.onCopy as germ.LayerNormResult;
        expectWithin(await values(r.onView.mean), await values(cm.mean), 1e-6 * 8, 'mean: view vs contiguous');
        expectWithin(await values(r.onView.rstd), await values(cm.rstd), Array.from(ref.rstd, (v) => 1e-5 * Math.abs(v)), 'rstd: view vs contiguous');
      }
    }, device);

  // attention, padded [B, S, H, D]: q, k, v as independent random views, as the q / k / v slices of a fused
  // [B, S, 3H, D] or [B, S, H, 3D] tensor, or as the transpose of a [B, H, S, D] tensor; S = 1 with B >= 2
  // comes up often; every normalizer, causal, ALiBi (derived or explicit slopes, either mode), lengths, dropout.
  const attnArb = fc.record({
    B: fc.integer({ min: 1, max: 3 }), Sq: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 6 })),
    Sk: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 6 })), sameS: fc.boolean(), H: fc.integer({ min: 1, max: 4 }),
    D: fc.constantFrom(1, 2, 3, 4, 8, 16, 32), normalizer: fc.constantFrom<AttnCase['normalizer']>('softmax1', 'softmax', 'clipped'),
    causal: fc.boolean(), alibi: fc.constantFrom('none', 'derived', 'explicit'),
    alibiMode: fc.constantFrom<'symmetric' | 'causal' | undefined>(undefined, 'symmetric', 'causal'),
    layout: fc.constantFrom('views', 'qkvHeads', 'qkvDim', 'bhsd'), lengths: fc.boolean(),
    lenFrac: fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { minLength: 3, maxLength: 3 }),
    dropout: fc.constantFrom(0, 0, 0, 0.25), slopes: fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }),
  }).chain((c) => {
    const Sk = c.sameS || c.layout.startsWith('qkv') || c.lengths ? c.Sq : c.Sk;
    const fused = (S: number, i: number): ViewSpec => c.layout === 'qkvHeads'
      ? { shape: [c.B, S, c.H, c.D], perm: [0, 1, 2, 3], pad: [0, 0, 2 * c.H, 0], start: [0, 0, i * c.H, 0] }
      : c.layout === 'qkvDim' ? { shape: [c.B, S, c.H, c.D], perm: [0, 1, 2, 3], pad: [0, 0, 0, 2 * c.D], start: [0, 0, 0, i * c.D] }
        : { shape: [c.B, S, c.H, c.D], perm: [0, 2, 1, 3], pad: [0, 0, 0, 0], start: [0, 0, 0, 0] };
    const one = (S: number, i: number) => c.layout === 'views' ? layoutArb([c.B, S, c.H, c.D]) : fc.constant(fused(S, i));
    return fc.record({ c: fc.constant({ ...c, Sk }), q: one(c.Sq, 0), k: one(Sk, 1), v: one(Sk, 2) });
  });

  /** The attention suite's float64 tolerances (test/attention.test.ts). */
  const ATTN_TOL: Record<Float, number> = { f32: 2e-5, f16: 4e-3, bf16: 3e-2 };

  type AttnValue = { c: { B: number; Sq: number; Sk: number; H: number; D: number; normalizer: AttnCase['normalizer'];
    causal: boolean; alibi: string; alibiMode?: 'symmetric' | 'causal'; lengths: boolean; lenFrac: number[]; dropout: number;
    slopes: number[] }; q: ViewSpec; k: ViewSpec; v: ViewSpec };

  /** q, k, v views, the options, and the float64 reference's case for one generated attention problem. */
  function attnProblem({ c, q, k, v }: AttnValue, dtype: Float, seed: number, dev: string, keep: Tensor[]) {
    const vq = mk(q, dtype, seed, dev, keep), vk = mk(k, dtype, seed + 1, dev, keep), vv = mk(v, dtype, seed + 2, dev, keep);
    const lengths = c.lengths ? Array.from({ length: c.B }, (_, b) => Math.floor(c.lenFrac[b] * (c.Sq + 1))) : undefined;
    const slopes = c.alibi === 'explicit' ? c.slopes.slice(0, c.H).concat(Array(c.H).fill(0.5)).slice(0, c.H) : null;
    const options: germ.AttentionOptions = {
      normalizer: c.normalizer, causal: c.causal, alibiMode: c.alibiMode, dropout: c.dropout, seed: 1234,
      alibi: c.alibi === 'derived' ? true : slopes ?? undefined, ...(lengths ? { lengths } : {}),
    };
    const ac: AttnCase = {
      B: c.B, Sq: c.Sq, Sk: c.Sk, H: c.H, D: c.D, normalizer: c.normalizer, causal: c.causal,
      slopes: c.alibi === 'derived' ? Array.from(germ.alibiSlopes(c.H)) : slopes ? slopes.map(Math.fround) : null,
      symmetric: (c.alibiMode ?? (c.causal ? 'causal' : 'symmetric')) === 'symmetric', scale: 1 / Math.sqrt(c.D),
      zeta: 1, gamma: -0.03, dropout: c.dropout, seed: 1234, lensQ: lengths ?? Array(c.B).fill(c.Sq),
      lensK: lengths ?? Array(c.B).fill(c.Sk), rowStart: Array.from({ length: c.B }, (_, b) => b * c.Sq), totalQ: c.B * c.Sq,
    };
    // |out| <= max |v| (a convex combination, rescaled by dropout)
    const vmax = vv.values.reduce((a, x) => Math.max(a, Math.abs(x)), 1) / (1 - c.dropout);
    return { vq, vk, vv, options, ac, vmax };
  }

  property('attention, padded [B, S, H, D] (normalizers, causal, ALiBi, lengths, dropout): view = contiguous = float64', RUNS,
    fc.tuple(attnArb, floatArb, seedArb), async ([value, dtype, seed], dev, keep) => {
      const { vq, vk, vv, options, ac, vmax } = attnProblem(value, dtype, seed, dev, keep);
      const r = await bothWays([vq.view, vk.view, vv.view], ([tq, tk, tv]) => germ.attentionForward(tq, tk, tv, options), keep);
      if ('error' in r) expect.fail(`attention threw ${r.error.message}`);
      keep.push(r.onView.out, r.onView.lse, r.onCopy.out, r.onCopy.lse);
      const ref = attentionForward64(ac, vq.values, vk.values, vv.values);
      const got = await values(r.onView.out);
      expectWithin(got, await values(r.onCopy.out), TIGHT[dtype] * vmax * 8, `attention ${dtype}: view vs contiguous`);
      expectWithin(await values(r.onView.lse), await values(r.onCopy.lse), 1e-5 * 8, `lse ${dtype}: view vs contiguous`);
      expectWithin(got, Array.from(ref.out), Array.from(ref.out, (w) => ATTN_TOL[dtype] * (vmax + 5 * Math.abs(w))),
        `attention ${dtype} vs float64`);
    }, device);

  property('attentionBackward with q, k, v, dout as views: = contiguous = float64 gradients', RUNS / 2,
    fc.tuple(attnArb, floatArb, seedArb, fc.boolean()), async ([value, dtype, seed, doutStrided], dev, keep) => {
      const { vq, vk, vv, options, ac, vmax } = attnProblem(value, dtype, seed, dev, keep);
      const dspec: ViewSpec = doutStrided ? { ...value.q, start: value.q.start.map(() => 0) } : { shape: value.q.shape,
        perm: value.q.shape.map((_, i) => i), pad: value.q.shape.map(() => 0), start: value.q.shape.map(() => 0) };
      const vd = mk(dspec, dtype, seed + 3, dev, keep);
      const r = await bothWays([vq.view, vk.view, vv.view, vd.view], ([tq, tk, tv, td]) => {
        const saved = germ.attentionForward(tq, tk, tv, options);
        keep.push(saved.out, saved.lse);
        return germ.attentionBackward(td, tq, tk, tv, saved, options);
      }, keep);
      if ('error' in r) expect.fail(`attentionBackward threw ${r.error.message}`);
      keep.push(...Object.values(r.onView), ...Object.values(r.onCopy));
      const ref = attentionBackward64(ac, vq.values, vk.values, vv.values, vd.values);
      const dmax = vd.values.reduce((a, x) => Math.max(a, Math.abs(x)), 1);
      // gradients scale with |dout| |v| and |q| |k| (scores up to sqrt(D) |q| |k|): a bound of the same form, 4x looser
      const qkmax = [...vq.values, ...vk.values].reduce((a, x) => Math.max(a, Math.abs(x)), 1);
      const scale = dmax * vmax * qkmax * Math.max(value.c.Sk, 1);
      for (const g of ['dq', 'dk', 'dv'] as const) {
        const got = await values(r.onView[g]);
        expectWithin(got, await values(r.onCopy[g]), TIGHT[dtype] * scale, `${g} ${dtype}: view vs contiguous`);
        expectWithin(got, Array.from(ref[g]), Array.from(ref[g], (w) => 4 * ATTN_TOL[dtype] * (scale + 5 * Math.abs(w))),
          `${g} ${dtype} vs float64`);
      }
    }, device);

  // attention, packed [T, H, D] with cuSeqlens (DNABERT-2's unpadded layout)
  const packedArb = fc.record({
    lens: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 }).map((l) => [Math.max(l[0], 1), ...l.slice(1)]),
    H: fc.integer({ min: 1, max: 3 }), D: fc.constantFrom(1, 4, 8, 32), normalizer: fc.constantFrom<AttnCase['normalizer']>('softmax1', 'softmax'),
    causal: fc.boolean(), alibi: fc.boolean(), fused: fc.boolean(),
  }).chain((c) => {
    const T = c.lens.reduce((a, b) => a + b, 0);
    const one = (i: number) => c.fused ? fc.constant<ViewSpec>({ shape: [T, c.H, c.D], perm: [0, 1, 2], pad: [0, 2 * c.H, 0], start: [0, i * c.H, 0] })
      : layoutArb([T, c.H, c.D]);
    return fc.record({ c: fc.constant({ ...c, T }), q: one(0), k: one(1), v: one(2) });
  });

  property('attention, packed [T, H, D] with cuSeqlens: view = contiguous = float64', RUNS / 2,
    fc.tuple(packedArb, floatArb, seedArb), async ([{ c, q, k, v }, dtype, seed], dev, keep) => {
      const vq = mk(q, dtype, seed, dev, keep), vk = mk(k, dtype, seed + 1, dev, keep), vv = mk(v, dtype, seed + 2, dev, keep);
      const cu = [0, ...c.lens.map((_, b) => c.lens.slice(0, b + 1).reduce((a, x) => a + x, 0))];
      const options: germ.AttentionOptions = { normalizer: c.normalizer, causal: c.causal, alibi: c.alibi, cuSeqlens: cu };
      const r = await bothWays([vq.view, vk.view, vv.view], ([tq, tk, tv]) => germ.attention(tq, tk, tv, options), keep);
      if ('error' in r) expect.fail(`packed attention threw ${r.error.message}`);
      keep.push(r.onView, r.onCopy);
      // float64 on the padded layout, then packed
      const B = c.lens.length, S = Math.max(...c.lens), row = c.H * c.D;
      const pad = (xs: number[]) => {
        const out = new Array<number>(B * S * row).fill(0);
        c.lens.forEach((l, b) => {
          for (let i = 0; i < l * row; i++) out[b * S * row + i] = xs[cu[b] * row + i];
        });
        return out;
      };
      const ac: AttnCase = {
        B, Sq: S, Sk: S, H: c.H, D: c.D, normalizer: c.normalizer, causal: c.causal,
        slopes: c.alibi ? Array.from(germ.alibiSlopes(c.H)) : null, symmetric: !c.causal, scale: 1 / Math.sqrt(c.D),
        zeta: 1, gamma: -0.03, dropout: 0, seed: 0, lensQ: c.lens, lensK: c.lens, rowStart: cu.slice(0, -1), totalQ: c.T,
      };
      const ref = attentionForward64(ac, pad(vq.values), pad(vk.values), pad(vv.values)).out;
      const want: number[] = [];
      c.lens.forEach((l, b) => want.push(...Array.from(ref.subarray(b * S * row, b * S * row + l * row))));
      const got = await values(r.onView);
      const vmax = vv.values.reduce((a, x) => Math.max(a, Math.abs(x)), 1);
      expectWithin(got, await values(r.onCopy), TIGHT[dtype] * vmax * 8, `packed attention ${dtype}: view vs contiguous`);
      expectWithin(got, want, want.map((w) => ATTN_TOL[dtype] * (vmax + 5 * Math.abs(w))), `packed attention ${dtype} vs float64`);
    }, device);

  const embArb = fc.record({ V: fc.integer({ min: 1, max: 6 }), H: dimArb(5), ids: shapeArb(1, 3, 4), hostIds: fc.boolean() })
    .chain((c) => fc.record({ c: fc.constant(c), table: layoutArb([c.V, c.H]), ids: layoutArb(c.ids) }));

  property('embedding (table and ids as views, or host ids): view = contiguous = gather (exact)', RUNS,
    fc.tuple(embArb, floatArb, seedArb), async ([{ c, table, ids }, dtype, seed], dev, keep) => {
      const vt = mk(table, dtype, seed, dev, keep);
      const idStore = Array.from(uniform(numel(ids.perm.map((p, j) => ids.shape[p] + ids.pad[j])), seed + 1, 0, c.V), Math.floor);
      const vi = makeView(ids, idStore, 'i32', dev);
      keep.push(...vi.owned);
      const r = await bothWays(c.hostIds ? [vt.view] : [vt.view, vi.view],
        ([t, i]) => germ.embedding(t, c.hostIds ? Int32Array.from(vi.values) : i), keep);
      if ('error' in r) expect.fail(`embedding threw ${r.error.message}`);
      keep.push(r.onView, r.onCopy);
      const got = await values(r.onView);
      expect(r.onView.shape).toEqual(c.hostIds ? [vi.values.length, c.H] : [...c.ids, c.H]);
      expectSame(got, await values(r.onCopy), `embedding ${dtype}: view vs contiguous`);
      expectSame(got, vi.values.flatMap((id) => vt.values.slice(id * c.H, (id + 1) * c.H)), `embedding ${dtype} vs gather`);
    }, device);

  const ALL: DType[] = ['f32', 'f16', 'bf16', 'i32', 'i8', 'u8'];
  property('cast between every dtype pair: view = contiguous (exact) = rounding reference', RUNS,
    fc.tuple(fc.constantFrom(...ALL), fc.constantFrom(...ALL), viewArb(shapeArb(1, 4)), seedArb),
    async ([from, to, spec, seed], dev, keep) => {
      const fill: Fill = from === 'i8' ? 'int8' : from === 'u8' ? 'uint8' : from === 'i32' ? 'int' : 'normal';
      const x = mk(spec, from, seed, dev, keep, fill);
      const r = await bothWays([x.view], ([t]) => germ.cast(t, to), keep);
      if ('error' in r) return; // an unsupported pair is refused alike on both (checked by bothWays)
      keep.push(r.onView, r.onCopy);
      const got = await values(r.onView);
      expect(r.onView.dtype).toBe(to);
      expectSame(got, await values(r.onCopy), `cast ${from} -> ${to}: view vs contiguous`);
      const fromInt = !['f32', 'f16', 'bf16'].includes(from);
      const range: Record<string, [number, number]> = { i8: [-128, 127], u8: [0, 255], i32: [-(2 ** 31), 2 ** 31 - 1] };
      if (['f32', 'f16', 'bf16'].includes(to)) expectSame(got, x.values.map((v) => roundTo(to, v)), `cast ${from} -> ${to} vs rounding`);
      else if (fromInt && x.values.every((v) => v >= range[to][0] && v <= range[to][1])) expectSame(got, x.values, `cast ${from} -> ${to}`);
    }, device);

  const catArb = fc.record({ trailing: shapeArb(0, 2, 4), rows: fc.array(dimArb(3, 3), { minLength: 1, maxLength: 4 }) })
    .chain((c) => fc.record({ c: fc.constant(c), parts: fc.tuple(...c.rows.map((r) => layoutArb([r, ...c.trailing]))) }));

  property('catRows of views: = catRows of contiguous = concatenation (exact)', RUNS,
    fc.tuple(catArb, fc.constantFrom<DType>('f32', 'f16', 'bf16', 'i32'), seedArb), async ([{ c, parts }, dtype, seed], dev, keep) => {
      const vs = parts.map((p, i) => mk(p, dtype, seed + i, dev, keep, dtype === 'i32' ? 'int' : 'normal'));
      const r = await bothWays(vs.map((m) => m.view), (xs) => germ.catRows(xs), keep);
      if ('error' in r) expect.fail(`catRows threw ${r.error.message}`);
      keep.push(r.onView, r.onCopy);
      const got = await values(r.onView);
      expect(r.onView.shape).toEqual([c.rows.reduce((a, b) => a + b, 0), ...c.trailing]);
      expectSame(got, await values(r.onCopy), 'catRows: view vs contiguous');
      expectSame(got, vs.flatMap((m) => m.values), 'catRows vs concatenation');
    }, device);

  const quantArb = fc.record({
    rows: fc.integer({ min: 1, max: 5 }), cols: fc.constantFrom(1, 2, 3, 4, 6, 8, 12, 16),
    bits: fc.constantFrom<germ.QuantBits>(8, 6, 4), symmetric: fc.boolean(),
    granularity: fc.constantFrom<germ.QuantGranularity>('tensor', 'channel', 'token', 'group'), group: fc.constantFrom(1, 2, 4, 8),
  }).chain((c) => fc.record({ c: fc.constant(c), x: layoutArb([c.rows, c.cols]) }));

  property('quantize / dequantize (8/6/4 bit, every granularity) of a view: = contiguous = reference (exact)', RUNS,
    fc.tuple(quantArb, seedArb), async ([{ c, x }, seed], dev, keep) => {
      const vx = mk(x, 'f32', seed, dev, keep);
      const groupSize = c.granularity === 'group' ? c.group : undefined;
      const opts = { bits: c.bits, symmetric: c.symmetric, granularity: c.granularity, groupSize };
      const r = await bothWays([vx.view], ([t]) => germ.quantize(t, opts), keep);
      if ('error' in r) return; // e.g. a group size that does not divide the row: refused alike
      for (const qt of [r.onView, r.onCopy]) keep.push(qt.q, qt.scale, ...(qt.zero ? [qt.zero] : []));
      const q = await values(r.onView.q);
      expectSame(q, await values(r.onCopy.q), 'codes: view vs contiguous');
      expectSame(await values(r.onView.scale), await values(r.onCopy.scale), 'scales: view vs contiguous');
      const dv = r.onView.dequantize(), dc = r.onCopy.dequantize();
      keep.push(dv, dc);
      expectSame(await values(dv), await values(dc), 'dequantize: view vs contiguous');
      // reference codes: one scale per tensor, per row, or per run of groupSize in a row
      const len = c.granularity === 'tensor' ? c.rows * c.cols : c.granularity === 'group' ? c.group : c.cols;
      const want: number[] = [];
      for (let s = 0; s < vx.values.length; s += len) {
        const vals = vx.values.slice(s, s + len), p = refParams(vals, 1, c.bits, c.symmetric);
        want.push(...vals.map((v) => refCode(v, p, c.bits, c.symmetric)));
      }
      expectSame(unpackCodes(q, c.rows, c.cols, c.bits, c.symmetric), want, `${c.bits}-bit codes vs reference`);
    }, device);

  property('quantizeNf4 of a view: = contiguous = reference (exact codes and dequantized values)', RUNS / 2,
    fc.tuple(viewArb(shapeArb(1, 3, 6)), fc.constantFrom(2, 4, 64), fc.boolean(), seedArb),
    async ([spec, blockSize, doubleQuant, seed], dev, keep) => {
      const vx = mk(spec, 'f32', seed, dev, keep);
      const r = await bothWays([vx.view], ([t]) => germ.quantizeNf4(t, { blockSize, doubleQuant }), keep);
      if ('error' in r) return;
      for (const nt of [r.onView, r.onCopy]) keep.push(nt.codes, nt.absmax, ...(nt.absmax2 ? [nt.absmax2, nt.offset!] : []));
      const codes = await values(r.onView.codes);
      expectSame(codes, await values(r.onCopy.codes), 'NF4 codes: view vs contiguous');
      const dv = r.onView.dequantize(), dc = r.onCopy.dequantize();
      keep.push(dv, dc);
      expectSame(await values(dv), await values(dc), 'NF4 dequantize: view vs contiguous');
      const ref = refNf4(vx.values, blockSize);
      expectSame(vx.values.map((_, i) => (codes[i >> 1] >> ((i & 1) * 4)) & 15), ref.codes, 'NF4 codes vs reference');
    }, device);
});
