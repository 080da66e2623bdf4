// Quantized GEMMs (quantizedLinear, quantizeActivations) against float64
// references computed here. Integer paths are exact: the int32 sums of codes
// (outDtype 'i32') and the activation codes must equal the reference, and on a
// GPU the CPU backend's, element for element. Float outputs are checked with
// the error bound of their f32 arithmetic plus one output rounding.
import { expect, it } from 'vitest';
import {
  QuantizedTensor, type Tensor, linear, quantize, quantizeActivations, quantizeNf4, quantizedLinear, smoothQuantScales,
  tensor,
} from '../lib/index';
import { expectClose, maxAbs } from './helpers/compare';
import { describeDevices } from './helpers/devices';
import { expectExact, expectGermError } from './helpers/exact';
import { EPS, roundTo } from './helpers/float16';
import { refCode, refParams } from './helpers/quant_ref';
import { rng, randn } from './helpers/random';
import { gelu64 } from './helpers/reference';

const f = Math.fround;
type FloatOut = 'f32' | 'f16' | 'bf16';

/** The elements of t; `host` also disposes it (for results), `peek` leaves it. */
async function peek(t: Tensor): Promise<number[]> {
  return Array.from((await t.data()) as ArrayLike<number>);
}
async function host(t: Tensor): Promise<number[]> {
  try {
    return await peek(t);
  } finally {
    t.dispose();
  }
}

function randInts(n: number, seed: number, lo: number, hi: number): Int8Array {
  const r = rng(seed);
  return Int8Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

/** Exact int32 sums of codes: x [m, k] . w [n, k]. */
function intSums(x: ArrayLike<number>, w: ArrayLike<number>, m: number, k: number, n: number): Int32Array {
  const out = new Int32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += x[i * k + c] * w[j * k + c];
      out[i * n + j] = s;
    }
  return out;
}

/** epilogue(v) in float64: bias, exact GELU, one rounding into the output dtype. */
function finish(v: number, bias: number | undefined, gelu: boolean, out: FloatOut): number {
  let y = v + (bias ?? 0);
  if (gelu) y = gelu64(y);
  return roundTo(out, y);
}

/** Codes [rows, k] in [-8, 7] packed like quantize(): two per byte, even element in the low nibble. */
function pack4(codes: ArrayLike<number>, rows: number, k: number): Uint8Array {
  const stride = Math.ceil(k / 2), out = new Uint8Array(rows * stride);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < k; c++) out[r * stride + (c >> 1)] |= (codes[r * k + c] & 15) << (4 * (c & 1));
  return out;
}

/** Codes as a QuantizedTensor with unit scales: int8 [rows, k], or (bits 4) packed like quantize(). */
function codesTensor(codes: Int8Array, rows: number, k: number, bits: 8 | 4, granularity: 'token' | 'channel',
  device: string): QuantizedTensor {
  const q = bits === 4 ? tensor(pack4(codes, rows, k), [rows, Math.ceil(k / 2)], { dtype: 'u8', device })
    : tensor(codes, [rows, k], { dtype: 'i8', device });
  return new QuantizedTensor(q, tensor(new Float32Array(rows).fill(1), [rows], { device }), undefined, bits, true,
    granularity, 0, [rows, k]);
}

/** quantizedLinear's exact int32 sums (outDtype 'i32') for random codes, against the reference and the CPU. */
async function checkIntSums(device: string, bits: 8 | 4, m: number, k: number, n: number): Promise<void> {
  const [lo, hi] = bits === 4 ? [-8, 7] : [-128, 127];  // the full range, the negative extreme included
  const xc = randInts(m * k, 3 * m + k + bits, lo, hi), wc = randInts(n * k, 3 * n + k + bits, lo, hi);
  const run = async (d: string) => {
    const xq = codesTensor(xc, m, k, bits, 'token', d), wq = codesTensor(wc, n, k, bits, 'channel', d);
    const y = quantizedLinear(xq, wq, { outDtype: 'i32' });
    expect(y.dtype).toBe('i32');
    expect(y.shape).toEqual([m, n]);
    xq.dispose();
    wq.dispose();
    return host(y);
  };
  const got = await run(device);
  expectExact(got, intSums(xc, wc, m, k, n), 'int32 sums');
  if (device !== 'cpu') expectExact(got, await run('cpu'), 'int32 sums vs cpu');
}

// [m, k, n]: tiny odd sizes (scalar edge paths), tile multiples, and K not a multiple of any tile.
const W8_SIZES: [number, number, number][] = [
  [1, 7, 13], [3, 17, 33], [1, 64, 8], [16, 64, 48], [5, 96, 70], [33, 768, 130], [130, 272, 257],
  // Enough 128 x 128 tiles to fill an H100: the large-tile kernel, ragged on both edges; on an H100 the
  // int8 wgmma kernel (128 x 256 cooperative for the first two; K 208 ends in a part k-tile of 128).
  [1040, 256, 2100], [1100, 208, 2100],
  [2000, 64, 2301],  // 288 tiles of 128 x 128: the H100 kernel's ping-pong variant, K under one k-tile, odd N
];

describeDevices('quantizedLinear W8A8', (device) => {
  for (const [m, k, n] of W8_SIZES)
    it(`exact int32 sums ${m}x${k}x${n}`, () => checkIntSums(device, 8, m, k, n));

  it('int32 sums at the extremes (-128 * -128 over k = 4096)', async () => {
    const k = 4096, xc = new Int8Array(2 * k).fill(-128), wc = new Int8Array(3 * k).fill(-128);
    wc.fill(127, k, 2 * k);
    const xq = new QuantizedTensor(tensor(xc, [2, k], { dtype: 'i8', device }), tensor([1, 1], [2], { device }), undefined, 8, true, 'token', 0, [2, k]);
    const wq = new QuantizedTensor(tensor(wc, [3, k], { dtype: 'i8', device }), tensor([1], [1], { device }), undefined, 8, true, 'tensor', 0, [3, k]);
    expectExact(await host(quantizedLinear(xq, wq, { outDtype: 'i32' })), intSums(xc, wc, 2, k, 3), 'extreme sums');
    xq.dispose();
    wq.dispose();
  });

  const floatCases: [number, number, number, FloatOut, boolean][] = [
    [1, 7, 13, 'f32', false], [3, 17, 33, 'f16', true], [16, 64, 48, 'bf16', true], [33, 768, 130, 'f32', true],
    [130, 272, 257, 'f16', false], [4, 96, 24, 'bf16', false],
  ];
  /** quantizedLinear of float x (quantized per token on the fly) against float64, and on a GPU the CPU backend. */
  async function checkFloat(m: number, k: number, n: number, out: FloatOut, gelu: boolean,
    xdtype: 'f32' | 'f16' | 'bf16', withBias = gelu): Promise<void> {
    const x = Float32Array.from(randn(m * k, m * 7 + k, 1.5), (v) => roundTo(xdtype, v));
    const w = randn(n * k, n * 3 + k, 0.05), bias = randn(n, n, 0.3);
    const run = async (d: string) => {
      const xt = tensor(x, [m, k], { dtype: xdtype, device: d }), wt = tensor(w, [n, k], { device: d });
      const wq = quantize(wt, { bits: 8, granularity: 'channel' });
      const xq = quantizeActivations(xt);
      const bt = withBias ? tensor(bias, [n], { device: d, dtype: 'f16' }) : undefined;
      const y = quantizedLinear(xt, wq, { outDtype: out, bias: bt, gelu });
      expect(y.dtype).toBe(out);
      const r = { y: await host(y), xq: await peek(xq.q), sx: await peek(xq.scale), wq: await peek(wq.q),
        sw: await peek(wq.scale), b: bt ? await host(bt.cast('f32')) : undefined };
      for (const t of [xt, wt, wq, xq, bt]) t?.dispose();
      return r;
    };
    const got = await run(device);
    // Activation codes: exactly quantize(x, { granularity: 'token' })'s arithmetic.
    for (let i = 0; i < m; i++) {
      const row = x.subarray(i * k, (i + 1) * k), p = refParams(row, 1, 8, true);
      expect(got.sx[i]).toBe(p.scale);
      for (let c = 0; c < k; c++)
        if (got.xq[i * k + c] !== refCode(row[c], p, 8, true)) expect.fail(`activation code ${i},${c}`);
    }
    const acc = intSums(got.xq, got.wq, m, k, n);
    const want = Array.from(acc, (a, idx) => {
      const i = Math.floor(idx / n), j = idx % n;
      return finish(f(f(a) * f(got.sx[i] * got.sw[j])), got.b?.[j], gelu, out);
    });
    const tol = { atol: 1e-6 + 2 ** -22 * maxAbs(want), rtol: 2 * EPS[out] + 2 ** -20 };
    expectClose(got.y, want, tol, 'W8A8 vs float64');
    // And it approximates the float layer: per-token x per-channel 8-bit error is small.
    if (!gelu) {
      const b = got.b ? tensor(got.b, [n], { device: 'cpu' }) : undefined;
      const dense = await host(linear(tensor(x, [m, k], { device: 'cpu' }), tensor(w, [n, k], { device: 'cpu' }), b));
      expectClose(got.y, dense, { atol: 0.03 * maxAbs(dense) + 1e-3, rtol: 0.05 }, 'W8A8 vs the f32 layer');
    }
    if (device !== 'cpu') {
      const cpu = await run('cpu');
      expectExact(got.xq, cpu.xq, 'activation codes vs cpu');
      expectClose(got.y, cpu.y, tol, 'W8A8 vs cpu');
    }
  }
  for (const [m, k, n, out, gelu] of floatCases)
    for (const xdtype of ['f32', 'f16', 'bf16'] as const)
      it(`${xdtype} x, ${out} out${gelu ? ', bias + gelu' : ''} ${m}x${k}x${n}`, () => checkFloat(m, k, n, out, gelu, xdtype));
  // Large enough for the H100's int8 wgmma kernel (9 x 17 tiles of 128 x 128), its epilogue with scales,
  // bias, GELU and an f16 cast; K 80 is one part k-tile.
  it('f16 x, f16 out, bias + gelu 1030x80x2100 (the H100 kernel)', () => checkFloat(1030, 80, 2100, 'f16', true, 'f16'));
  // The H100 kernel's variant without GELU (a separate compile-time kernel), with bias, 128 x 256 tiles.
  it('f16 x, bf16 out, bias 1030x144x2100 (the H100 kernel, no GELU)',
    () => checkFloat(1030, 144, 2100, 'bf16', false, 'f16', true));

  it('W6A6: 6-bit weights quantize x to 6 bits', async () => {
    const [m, k, n] = [5, 40, 9];
    const x = tensor(randn(m * k, 11), [m, k], { device }), w = tensor(randn(n * k, 12, 0.1), [n, k], { device });
    const wq = quantize(w, { bits: 6, granularity: 'channel' });
    const xq = quantizeActivations(x, { bits: 6 });
    const codes = await peek(xq.q);
    expect(Math.max(...codes)).toBeLessThanOrEqual(31);
    expect(Math.min(...codes)).toBeGreaterThanOrEqual(-32);
    const a = await host(quantizedLinear(x, wq)), b = await host(quantizedLinear(xq, wq));
    expectExact(a, b, 'on-the-fly vs pre-quantized activations');
    for (const t of [x, w, wq, xq]) t.dispose();
  });

  it('SmoothQuant: x / s quantized per token, weight from W diag(s)', async () => {
    const [m, k, n] = [6, 48, 20];
    // An outlier channel (x40) and SmoothQuant's alpha = 0.5 scale for it (sqrt 40); the rest 1.
    const xv = randn(m * k, 21), s = Float32Array.from({ length: k }, (_, c) => (c === 5 ? f(Math.sqrt(40)) : 1));
    for (let i = 0; i < m; i++) xv[i * k + 5] *= 40;
    const x = tensor(xv, [m, k], { device }), st = tensor(s, [k], { device });
    const w = tensor(randn(n * k, 22, 0.1), [n, k], { device });
    const xq = quantizeActivations(x, { smooth: st });
    const codes = await peek(xq.q), scales = await peek(xq.scale);
    for (let i = 0; i < m; i++) {
      const row = Array.from({ length: k }, (_, c) => f(xv[i * k + c] / s[c])), p = refParams(row, 1, 8, true);
      expect(scales[i]).toBe(p.scale);
      for (let c = 0; c < k; c++) if (codes[i * k + c] !== refCode(row[c], p, 8, true)) expect.fail(`smoothed code ${i},${c}`);
    }
    const ws = w.mul(st), wq = quantize(ws, { bits: 8, granularity: 'channel' });
    const y = await host(quantizedLinear(x, wq, { smooth: st }));
    const wPlain = quantize(w, { bits: 8, granularity: 'channel' });
    const plain = await host(quantizedLinear(x, wPlain));
    const dense = await host(linear(x, w));
    const err = (a: number[]) => Math.sqrt(a.reduce((acc, v, i) => acc + (v - dense[i]) ** 2, 0));
    expect(err(y)).toBeLessThan(err(plain));  // what smoothing is for
    expectClose(y, dense, { atol: 0.03 * maxAbs(dense), rtol: 0.03 }, 'smoothed W8A8 vs the f32 layer');
    for (const t of [x, st, w, xq, ws, wq, wPlain]) t.dispose();
  });

  it('smoothQuantScales: max|X_j|^alpha / max|W_j|^(1 - alpha), clamped at 1e-5', async () => {
    const [n, k] = [5, 6];
    const wv = randn(n * k, 71), act = Float32Array.from([40, 1, 0.5, 3, 0, 2]);
    for (let j = 0; j < n; j++) wv[j * k + 3] = 0;  // an all-zero weight column: clamped
    const w = tensor(wv, [n, k], { device });
    for (const alpha of [0.5, 0.8]) {
      const s = await host(smoothQuantScales(act, w, alpha));
      const want = Array.from({ length: k }, (_, c) => {
        let m = 0;
        for (let j = 0; j < n; j++) m = Math.max(m, Math.abs(wv[j * k + c]));
        return Math.max(act[c] ** alpha / Math.max(m, f(1e-5)) ** (1 - alpha), f(1e-5));
      });
      expectClose(s, want, { atol: 0, rtol: 1e-5 }, `scales, alpha ${alpha}`);
    }
    expectGermError(() => smoothQuantScales(act.subarray(1), w), 'ERR_SHAPE', /one activation maximum per input channel/);
    w.dispose();
  });

  it('leading dims, per-tensor weight scale, M = 0', async () => {
    const x = tensor(randn(2 * 3 * 16, 31), [2, 3, 16], { device }), w = tensor(randn(5 * 16, 32), [5, 16], { device });
    const wq = quantize(w, { bits: 8, granularity: 'tensor' });
    const y = quantizedLinear(x, wq);
    expect(y.shape).toEqual([2, 3, 5]);
    expect(y.dtype).toBe('f32');
    const flat = await host(quantizedLinear(x.reshape([6, 16]), wq));
    expectExact(await host(y), flat, 'batched vs flat');
    const empty = quantizedLinear(tensor([], [0, 16], { device }), wq);
    expect(empty.shape).toEqual([0, 5]);
    empty.dispose();
    for (const t of [x, w, wq]) t.dispose();
  });

  it('bad input is a typed error', () => {
    const x = tensor(randn(4 * 8, 41), [4, 8], { device }), w = tensor(randn(3 * 8, 42), [3, 8], { device });
    const wq = quantize(w, { bits: 8, granularity: 'channel' });
    expectGermError(() => quantizedLinear(tensor(randn(4 * 9, 1), [4, 9], { device }), wq), 'ERR_SHAPE', /\[4, 9\] but the weight's k is 8/);
    expectGermError(() => quantizedLinear(x, wq, { bias: tensor([1, 2], [2], { device }) }), 'ERR_SHAPE', /bias must be \[3\]/);
    expectGermError(() => quantizedLinear(x, wq, { outDtype: 'i32', gelu: true }), 'ERR_INVALID_ARGUMENT', /raw int32/);
    expectGermError(() => quantizedLinear(x, wq, { outDtype: 'u8' }), 'ERR_DTYPE', /outDtype/);
    expectGermError(() => quantizedLinear(x, wq, { smooth: tensor([1, 2, 3], [3], { device }) }), 'ERR_SHAPE', /smooth must be \[8\]/);
    const asym = quantize(w, { bits: 8, symmetric: false, granularity: 'channel' });
    expectGermError(() => quantizedLinear(x, asym), 'ERR_INVALID_ARGUMENT', /symmetric and per channel/);
    const xt = quantize(x, { bits: 8, granularity: 'tensor' });
    expectGermError(() => quantizedLinear(xt, wq), 'ERR_INVALID_ARGUMENT', /per token/);
    expectGermError(() => quantizeActivations(x, { bits: 5 as 8 }), 'ERR_INVALID_ARGUMENT', /bits must be 8, 6 or 4/);
    expectGermError(() => quantizeActivations(tensor([1, 2], [2], { device, dtype: 'i32' })), 'ERR_DTYPE', /float/);
    for (const t of [x, w, wq, asym, xt]) t.dispose();
  });
});

// ---- W4A4: packed signed nibbles on both sides


const W4A4_SIZES: [number, number, number][] = [
  [1, 7, 13], [3, 34, 17], [16, 64, 48], [5, 100, 70], [33, 768, 130], [130, 288, 257], [1040, 256, 2100],
];

describeDevices('quantizedLinear W4A4', (device) => {
  for (const [m, k, n] of W4A4_SIZES)
    it(`exact int32 sums ${m}x${k}x${n}`, () => checkIntSums(device, 4, m, k, n));

  for (const [m, k, n] of [[3, 34, 17], [33, 768, 130]] as [number, number, number][])
    it(`f16 x quantized to 4 bits per token, bias + gelu ${m}x${k}x${n}`, async () => {
      const x = Float32Array.from(randn(m * k, m + 2 * k), (v) => roundTo('f16', v));
      const w = randn(n * k, n + 2 * k, 0.1), bias = randn(n, 5);
      const xt = tensor(x, [m, k], { dtype: 'f16', device }), wt = tensor(w, [n, k], { device });
      const bt = tensor(bias, [n], { device });
      const wq = quantize(wt, { bits: 4, granularity: 'channel' });
      const xq = quantizeActivations(xt, { bits: 4 }), ref = quantize(xt, { bits: 4, granularity: 'token' });
      expectExact(await peek(xq.q), await peek(ref.q), 'activation codes vs quantize(token)');
      expectExact(await peek(xq.scale), await peek(ref.scale), 'activation scales vs quantize(token)');
      const y = await host(quantizedLinear(xt, wq, { actBits: 4, bias: bt, gelu: true, outDtype: 'f32' }));
      const unpack = (q: number[], rows: number) => Array.from({ length: rows * k }, (_, i) => {
        const b = q[Math.floor(i / k) * Math.ceil(k / 2) + ((i % k) >> 1)];
        return (((i % k) & 1 ? b >> 4 : b & 15) ^ 8) - 8;
      });
      const acc = intSums(unpack(await peek(xq.q), m), unpack(await peek(wq.q), n), m, k, n);
      const sx = await peek(xq.scale), sw = await peek(wq.scale);
      const want = Array.from(acc, (a, idx) => finish(f(f(a) * f(sx[Math.floor(idx / n)] * sw[idx % n])), bias[idx % n], true, 'f32'));
      expectClose(y, want, { atol: 1e-6 + 2 ** -22 * maxAbs(want), rtol: 2 ** -20 }, 'W4A4 vs float64');
      for (const t of [xt, wt, bt, wq, xq, ref]) t.dispose();
    });

  it('bad input is a typed error', () => {
    const x = tensor(randn(2 * 64, 61), [2, 64], { device }), w = tensor(randn(3 * 64, 62), [3, 64], { device });
    const g4 = quantize(w, { bits: 4, granularity: 'group', groupSize: 64 }), w8 = quantize(w, { bits: 8 });
    expectGermError(() => quantizedLinear(x, g4, { actBits: 4 }), 'ERR_INVALID_ARGUMENT', /per channel \(or per tensor\) for W4A4/);
    expectGermError(() => quantizedLinear(x, w8, { actBits: 4 }), 'ERR_INVALID_ARGUMENT', /actBits 4 does not pair/);
    const x4 = quantizeActivations(x, { bits: 4 });
    expectGermError(() => quantizedLinear(x4, w8), 'ERR_INVALID_ARGUMENT', /8- or 6-bit per token/);
    for (const t of [x, w, g4, w8, x4]) t.dispose();
  });
});

// ---- weight-only 4-bit

interface W4Case { m: number; k: number; n: number; fmt: 'int4' | 'nf4'; sym?: boolean; gran?: 'group' | 'channel' | 'tensor'; gs?: number; dq?: boolean }
const W4_CASES: W4Case[] = [
  { m: 1, k: 14, n: 13, fmt: 'int4', gran: 'channel' },
  { m: 3, k: 34, n: 17, fmt: 'int4', sym: false, gran: 'tensor' },
  { m: 1, k: 128, n: 13, fmt: 'int4', gran: 'group', gs: 64 },
  { m: 5, k: 192, n: 33, fmt: 'int4', sym: false, gran: 'group', gs: 64 },
  { m: 17, k: 256, n: 70, fmt: 'int4', gran: 'group', gs: 128 },
  { m: 130, k: 384, n: 72, fmt: 'int4', sym: false, gran: 'group', gs: 128 },
  { m: 1, k: 64, n: 7, fmt: 'nf4', gs: 64, dq: false },
  { m: 3, k: 128, n: 33, fmt: 'nf4', gs: 64, dq: true },
  { m: 20, k: 192, n: 65, fmt: 'nf4', gs: 64, dq: true },
  { m: 64, k: 768, n: 96, fmt: 'nf4', gs: 64, dq: true },
  { m: 520, k: 256, n: 2100, fmt: 'int4', gran: 'group', gs: 64 },  // the large-tile kernel on an H100
  // The few-token streaming kernel (w4_gemv.cu, m <= 16, k % 32 == 0): two x
  // chunks (k > 1024), two row blocks (n > 128), a partial last step (k % 128
  // != 0), one and two token tiles (m <= 8, m > 8), and split-K (few rows).
  { m: 16, k: 1152, n: 131, fmt: 'int4', gran: 'group', gs: 128 },
  { m: 3, k: 2080, n: 45, fmt: 'int4', sym: false, gran: 'channel' },
  { m: 1, k: 4096, n: 9, fmt: 'int4', sym: false, gran: 'group', gs: 64 },
  // Its folded int4 path (groups of 128, or one group per row): a partial
  // last step with one group per row, asymmetric groups of 128 over split-K.
  { m: 12, k: 160, n: 40, fmt: 'int4', gran: 'tensor' },
  { m: 2, k: 3968, n: 24, fmt: 'int4', sym: false, gran: 'group', gs: 128 },
  { m: 9, k: 576, n: 77, fmt: 'nf4', gs: 64, dq: true },
  { m: 16, k: 320, n: 19, fmt: 'nf4', gs: 64, dq: false },
  { m: 1, k: 1088, n: 129, fmt: 'nf4', gs: 64, dq: false },
];

describeDevices('quantizedLinear weight-only 4-bit', (device) => {
  for (const c of W4_CASES)
    for (const xdtype of ['f16', 'bf16'] as const) {
      const out: FloatOut = c.m % 2 ? 'f32' : xdtype, gelu = c.n % 2 === 1;
      const name = c.fmt === 'nf4' ? `NF4 block ${c.gs}${c.dq ? ' double-quant' : ''}`
        : `int4 ${c.sym === false ? 'asym' : 'sym'} per-${c.gran}${c.gs ? ` g${c.gs}` : ''}`;
      it(`${name}, ${xdtype} x, ${out} out${gelu ? ', bias + gelu' : ''} ${c.m}x${c.k}x${c.n}`, async () => {
        const { m, k, n } = c;
        const x = Float32Array.from(randn(m * k, m + 3 * k), (v) => roundTo(xdtype, v));
        const w = randn(n * k, n + 5 * k, 0.1), bias = randn(n, 2 * n, 0.5);
        const run = async (d: string) => {
          const xt = tensor(x, [m, k], { dtype: xdtype, device: d }), wt = tensor(w, [n, k], { device: d });
          const wq = c.fmt === 'nf4' ? quantizeNf4(wt, { blockSize: c.gs, doubleQuant: c.dq })
            : quantize(wt, { bits: 4, symmetric: c.sym ?? true, granularity: c.gran, groupSize: c.gs ?? 128 });
          const bt = gelu ? tensor(bias, [n], { device: d }) : undefined;
          const y = quantizedLinear(xt, wq, { bias: bt, gelu, outDtype: out });
          expect(y.shape).toEqual([m, n]);
          const r = { y: await host(y), wd: await host(wq.dequantize(xdtype)), wd32: await host(wq.dequantize('f32')) };
          for (const t of [xt, wt, wq, bt]) t?.dispose();
          return r;
        };
        const got = await run(device);
        // References in float64: x @ W^T with W's values rounded to x's dtype
        // (the tensor cores' input), and with W's f32 values (the few-token
        // CUDA kernel's int4 path, which scales the integer codes' f32 sums);
        // each with the f32 summation bound. The result must meet one of them
        // in full.
        const reference = (wd: Float32Array | number[]) => {
          const want: number[] = [], bound: number[] = [];
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let s = 0, a = 0;
              for (let q = 0; q < k; q++) {
                s += x[i * k + q] * wd[j * k + q];
                a += Math.abs(x[i * k + q] * wd[j * k + q]);
              }
              want.push(finish(s, gelu ? bias[j] : undefined, gelu, out));
              bound.push(1.2 * k * 2 ** -24 * a + 2.2 * EPS[out] * Math.abs(want[want.length - 1]) + 1e-6);
            }
          return { want, bound };
        };
        const refs = [reference(got.wd), reference(got.wd32)];
        const meets = (r: { want: number[]; bound: number[] }) => r.want.every((w, i) => Math.abs(got.y[i] - w) <= r.bound[i]);
        const met = refs.findIndex(meets);
        if (met < 0) {
          const i = got.y.findIndex((v, e) => !(Math.abs(v - refs[0].want[e]) <= refs[0].bound[e]));
          expect.fail(`element ${i}: ${got.y[i]}, want ${refs[0].want[i]} (bound ${refs[0].bound[i]}) or ${refs[1].want[i]} (bound ${refs[1].bound[i]})`);
        }
        if (device !== 'cpu') {
          const cpu = await run('cpu');
          expectExact(got.wd, cpu.wd, 'dequantized weight vs cpu');
          // The CPU rounds W to x's dtype (refs[0]); a result that met the f32
          // reference may differ from it by the gap between the two.
          const [a, b] = refs;
          for (let i = 0; i < a.want.length; i++) {
            const tol = met === 0 ? 2 * a.bound[i] : 2 * Math.max(a.bound[i], b.bound[i]) + Math.abs(a.want[i] - b.want[i]);
            if (!(Math.abs(got.y[i] - cpu.y[i]) <= tol)) expect.fail(`vs cpu ${i}: ${got.y[i]}, cpu ${cpu.y[i]}`);
          }
        }
      });
    }

  it('bad input is a typed error', () => {
    const x = tensor(randn(2 * 64, 51), [2, 64], { device, dtype: 'f16' }), w = tensor(randn(4 * 64, 52), [4, 64], { device });
    const q4 = quantize(w, { bits: 4, granularity: 'group', groupSize: 64 }), nf4 = quantizeNf4(w, { blockSize: 64 });
    expectGermError(() => quantizedLinear(x.cast('f32'), q4), 'ERR_DTYPE', /f16 or bf16/);
    expectGermError(() => quantizedLinear(tensor(randn(2 * 32, 1), [2, 32], { device, dtype: 'f16' }), nf4), 'ERR_SHAPE', /k = 32/);
    expectGermError(() => quantizedLinear(x, q4, { outDtype: 'i32' }), 'ERR_DTYPE', /outDtype/);
    expectGermError(() => quantizedLinear(x, q4, { smooth: tensor(new Float32Array(64).fill(1), [64], { device }) }), 'ERR_INVALID_ARGUMENT', /W8A8/);
    const odd = quantizeNf4(tensor(randn(4 * 96, 53), [4, 96], { device }), { blockSize: 64 });
    expectGermError(() => quantizedLinear(tensor(randn(96, 2), [1, 96], { device, dtype: 'f16' }), odd), 'ERR_SHAPE', /blockSize 64 must divide k = 96/);
    const xq = quantizeActivations(x);
    expectGermError(() => quantizedLinear(xq, q4), 'ERR_INVALID_ARGUMENT', /not quantized ones/);
    for (const t of [x, w, q4, nf4, odd, xq]) t.dispose();
  });
});
