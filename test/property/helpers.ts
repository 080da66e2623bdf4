// Shared pieces of the property-based suites (fast-check): how many cases a
// run makes and from which seed, random strided views with their layouts
// modelled in JavaScript, and element-wise bounds for the comparisons.
//
//   GERM_FUZZ_RUNS  cases per property; unset, each property runs its own default count
//                   (all of test/property together: about a minute on 2 cores, for CI);
//                   `npm run fuzz:long` sets 100000 for the device and nightly runs
//   GERM_FUZZ_SEED  the seed (default a fixed one, so CI is reproducible); a
//                   failure prints seed, path and the shrunk counterexample, and
//                   GERM_FUZZ_SEED=<seed> reruns that exact sequence
import fc from 'fast-check';
import { expect } from 'vitest';
import { type DType, type Tensor, tensor } from '../../lib/index';
import { contiguousStrides } from '../../lib/tensor';
import { roundTo } from '../helpers/float16';
import { randn, uniform } from '../helpers/random';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return v;
}

/** GERM_FUZZ_RUNS, or undefined when unset. */
export const FUZZ_RUNS: number | undefined = process.env.GERM_FUZZ_RUNS ? envInt('GERM_FUZZ_RUNS', 0) : undefined;
export const FUZZ_SEED = envInt('GERM_FUZZ_SEED', 20261202);

/** Cases for one property: GERM_FUZZ_RUNS when set, else the property's default (CI's count). */
export function runsFor(defaultRuns: number): number {
  return Math.max(1, FUZZ_RUNS ?? defaultRuns);
}

/** A test timeout that grows with the case count (long runs), never below vitest's configured 120 s. */
export function timeoutFor(runs: number, msPerCase = 25): number {
  return Math.max(120_000, runs * msPerCase * 4);
}

/** fast-check parameters: the fixed seed, the count, and the seed printed with every failure. */
export function fcParams<T>(numRuns: number): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns, endOnFailure: false, verbose: 0 };
}

// ---- views

/**
 * A view of logical shape `shape` into a larger contiguous storage: storage
 * dim j has size shape[perm[j]] + pad[j]; the view narrows it to
 * [start[j], start[j] + shape[perm[j]]) and permutes the dims back (so the
 * view's dim i reads storage dim perm^-1(i)). perm = identity and pad = 0 is
 * the plain contiguous tensor; a transpose, a q slice of a fused QKV tensor,
 * an offset into the storage and size-1 / size-0 dims all arise.
 */
export interface ViewSpec {
  shape: number[];
  perm: number[];
  pad: number[];
  start: number[];
}

export const storageShape = (s: ViewSpec): number[] => s.perm.map((p, j) => s.shape[p] + s.pad[j]);
export { contiguousStrides };
export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A dim: mostly 1..max, sometimes 0 (empty tensors must work too). */
export const dimArb = (max = 5, zeroWeight = 1): fc.Arbitrary<number> =>
  fc.oneof({ arbitrary: fc.integer({ min: 1, max }), weight: 12 }, { arbitrary: fc.constant(0), weight: zeroWeight });

export const shapeArb = (minDims = 1, maxDims = 4, maxDim = 5): fc.Arbitrary<number[]> =>
  fc.array(dimArb(maxDim), { minLength: minDims, maxLength: maxDims });

/** A random layout for a tensor of the given shape. */
export function layoutArb(shape: number[], contiguousWeight = 1): fc.Arbitrary<ViewSpec> {
  const n = shape.length;
  const strided = fc.record({
    perm: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
    pad: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }),
    startFrac: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }),
  }).map(({ perm, pad, startFrac }) => ({
    shape, perm, pad, start: pad.map((p, j) => Math.min(p, Math.floor(startFrac[j] * (p + 1)))),
  }));
  const plain = fc.constant<ViewSpec>({ shape, perm: [...Array(n).keys()], pad: Array(n).fill(0), start: Array(n).fill(0) });
  return fc.oneof({ arbitrary: strided, weight: 4 }, { arbitrary: plain, weight: contiguousWeight });
}

export const viewArb = (shape: fc.Arbitrary<number[]>): fc.Arbitrary<ViewSpec> => shape.chain((s) => layoutArb(s));

/** Storage indices of the view's elements, in the view's row-major order. */
export function viewIndices(s: ViewSpec): Int32Array {
  const sst = contiguousStrides(storageShape(s));
  const n = s.shape.length;
  // Stride and offset of each logical dim in the storage.
  const stride = new Array<number>(n);
  s.perm.forEach((p, j) => (stride[p] = sst[j]));
  const base = s.start.reduce((acc, st, j) => acc + st * sst[j], 0);
  const out = new Int32Array(numel(s.shape));
  const idx = new Array<number>(n).fill(0);
  for (let e = 0; e < out.length; e++) {
    let off = base;
    for (let i = 0; i < n; i++) off += idx[i] * stride[i];
    out[e] = off;
    for (let i = n - 1; i >= 0; i--) {
      if (++idx[i] < s.shape[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

/** The expected strides and element offset of the view, for checking the view itself. */
export function viewLayout(s: ViewSpec): { strides: number[]; offset: number } {
  const sst = contiguousStrides(storageShape(s));
  const strides = new Array<number>(s.shape.length);
  s.perm.forEach((p, j) => (strides[p] = sst[j]));
  return { strides, offset: s.start.reduce((acc, st, j) => acc + st * sst[j], 0) };
}

export type Fill = 'normal' | 'positive' | 'exp' | 'int8' | 'uint8' | 'int';

/** Storage values for a view (exactly representable in dtype), from a seed. */
export function storageData(s: ViewSpec, dtype: DType, seed: number, fill: Fill = 'normal'): number[] {
  const n = numel(storageShape(s));
  const raw = fill === 'positive' ? uniform(n, seed, 0.05, 6) : fill === 'exp' ? uniform(n, seed, -10, 10)
    : fill === 'int8' ? uniform(n, seed, -128, 128).map(Math.floor)
      : fill === 'uint8' ? uniform(n, seed, 0, 256).map(Math.floor)
        : fill === 'int' ? uniform(n, seed, -1000, 1000).map(Math.floor) : randn(n, seed, 2);
  return Array.from(raw, (v) => roundTo(dtype, v));
}

export interface MadeView {
  view: Tensor;
  /** The view's elements in row-major order, as JavaScript numbers. */
  values: number[];
  /** Every tensor made on the way (storage, intermediate views, the view): dispose all. */
  owned: Tensor[];
}

/** Builds the view with narrow / permute (the public view API) over a fresh storage tensor. */
export function makeView(s: ViewSpec, storage: number[], dtype: DType, device: string): MadeView {
  const owned: Tensor[] = [];
  const hostDType = dtype === 'f16' || dtype === 'bf16' ? 'f32' : dtype;
  const host = hostDType === 'i32' ? Int32Array.from(storage) : hostDType === 'i8' ? Int8Array.from(storage)
    : hostDType === 'u8' ? Uint8Array.from(storage) : Float32Array.from(storage);
  let t = tensor(host, storageShape(s), { dtype, device });
  owned.push(t);
  s.perm.forEach((p, j) => {
    if (s.pad[j] === 0) return;
    t = t.narrow(j, s.start[j], s.shape[p]);
    owned.push(t);
  });
  const inv = new Array<number>(s.perm.length);
  s.perm.forEach((p, j) => (inv[p] = j));
  if (inv.some((d, i) => d !== i)) {
    t = t.permute(inv);
    owned.push(t);
  }
  const idx = viewIndices(s);
  return { view: t, values: Array.from(idx, (i) => storage[i]), owned };
}

export function disposeAll(ts: Iterable<Tensor | undefined>): void {
  for (const t of ts) t?.dispose();
}

/** Reads a tensor's elements as numbers (any dtype). */
export async function values(t: Tensor): Promise<number[]> {
  return Array.from((await t.data()) as ArrayLike<number>);
}

// ---- comparisons

/** Equal element for element (NaN equals NaN; +0 equals -0). */
export function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (g === w || (Number.isNaN(g) && Number.isNaN(w))) continue;
    expect.fail(`${what}: element ${i} is ${g}, want ${w} (exact)`);
  }
}

/** |got - want| <= bound[i] element for element (equal values, infinities and NaNs pass). */
export function expectWithin(got: ArrayLike<number>, want: ArrayLike<number>, bound: ArrayLike<number> | number,
  what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (g === w || (Number.isNaN(g) && Number.isNaN(w))) continue;
    const b = typeof bound === 'number' ? bound : bound[i];
    if (!(Math.abs(g - w) <= b)) expect.fail(`${what}: element ${i} is ${g}, want ${w} (bound ${b})`);
  }
}
