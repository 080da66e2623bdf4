// Quantize / dequantize (uniform 8/6/4-bit and NF4 with double quantization)
// against float64 references (test/helpers/quant_ref.ts: float64 math rounded
// to f32 where the kernels round). Integer codes, scales and zero points are
// compared exactly; on a GPU the CUDA results must equal the CPU backend's
// bit for bit, since both backends run the same f32 operations and round half
// to even (cuda/quant/quant_math.h).
import { expect, it } from 'vitest';
import {
  NF4_VALUES, type QuantBits, type QuantGranularity, type Tensor, quantize, quantizeNf4, tensor,
} from '../lib/index';
import { expectClose } from './helpers/compare';
import { describeDevices } from './helpers/devices';
import { expectExact, expectGermError } from './helpers/exact';
import { roundTo } from './helpers/float16';
import {
  NF4_PUBLISHED, dynamicMap, qrange, refCode, refNf4, refParams, unpackCodes,
} from './helpers/quant_ref';
import { randn } from './helpers/random';

const f = Math.fround;

async function host(t: Tensor): Promise<number[]> {
  return Array.from((await t.data()) as ArrayLike<number>);
}

/** The scale groups of a [rows, cols] tensor: [start of row, first col, length] per scale. */
function groups(shape: number[], g: QuantGranularity, gs: number): [number, number, number][] {
  const cols = shape[shape.length - 1], rows = shape.reduce((a, b) => a * b, 1) / cols;
  if (g === 'tensor') return [[0, 0, rows * cols]];
  const len = g === 'group' ? gs : cols, out: [number, number, number][] = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c += len) out.push([r, c, len]);
  return out;
}

/** Codes, scales and zero points the reference gives, element order. */
function reference(x: Float32Array, shape: number[], bits: number, symmetric: boolean, g: QuantGranularity, gs: number,
  clip: number[] | number = 1) {
  const cols = shape[shape.length - 1];
  const codes = new Array<number>(x.length), scale: number[] = [], zero: number[] = [];
  groups(shape, g, gs).forEach(([r, c, len], s) => {
    const start = g === 'tensor' ? 0 : r * cols + c;
    const vals = x.subarray(start, start + len);
    const p = refParams(vals, typeof clip === 'number' ? clip : clip[s], bits, symmetric);
    scale.push(p.scale);
    zero.push(p.zero);
    for (let i = 0; i < len; i++) codes[start + i] = refCode(vals[i], p, bits, symmetric);
  });
  const scaleOf = (i: number) => (g === 'tensor' ? 0 : g === 'group' ? Math.floor(i / gs) : Math.floor(i / cols));
  return { codes, scale, zero, scaleOf };
}

describeDevices('quantize (uniform)', (device) => {
  // [shape, granularity, groupSize]: tiny odd ones and a DNABERT-2-sized weight.
  const cases: [number[], QuantGranularity, number][] = [
    [[1, 7, 13], 'tensor', 0], [[7, 13], 'channel', 0], [[1, 7, 13], 'token', 0], [[7, 128], 'group', 64],
    [[1000, 768], 'tensor', 0], [[1000, 768], 'channel', 0], [[4, 250, 768], 'token', 0], [[1000, 768], 'group', 128],
  ];
  for (const bits of [8, 6, 4] as QuantBits[])
    for (const symmetric of [true, false])
      for (const [shape, granularity, groupSize] of cases) {
        const n = shape.reduce((a, b) => a * b, 1);
        it(`${bits}-bit ${symmetric ? 'sym' : 'asym'} per-${granularity} [${shape}]${groupSize ? ` g${groupSize}` : ''}`,
          async () => {
            // Mean-shifted values so asymmetric ranges are not centred on 0.
            const x = Float32Array.from(randn(n, n + bits, 2), (v) => f(v + 0.7));
            const ref = reference(x, shape, bits, symmetric, granularity, groupSize);
            const run = async (d: string) => {
              const qt = quantize(tensor(x, shape, { device: d }), { bits, symmetric, granularity, groupSize });
              expect(qt.q.dtype).toBe(symmetric && bits !== 4 ? 'i8' : 'u8');
              const cols = shape[shape.length - 1];
              expect(qt.q.shape).toEqual([...shape.slice(0, -1), bits === 4 ? Math.ceil(cols / 2) : cols]);
              const out = {
                q: await host(qt.q), scale: await host(qt.scale), zero: qt.zero ? await host(qt.zero) : undefined,
                deq: await host(qt.dequantize('f32')),
              };
              qt.dispose();
              return out;
            };
            const got = await run(device);
            const cols = shape[shape.length - 1];
            expectExact(unpackCodes(got.q, n / cols, cols, bits, symmetric), ref.codes, 'codes');
            expectExact(got.scale, ref.scale, 'scales');
            if (symmetric) expect(got.zero).toBeUndefined();
            else expectExact(got.zero!, ref.zero, 'zero points');
            const [lo, hi] = qrange(bits, symmetric);
            for (let i = 0; i < n; i++) {
              const s = ref.scaleOf(i), scale = ref.scale[s];
              const want = f((ref.codes[i] - ref.zero[s]) * scale);
              if (got.deq[i] !== want) expect.fail(`dequantized ${i}: ${got.deq[i]}, want ${want}`);
              if (!(ref.codes[i] >= lo && ref.codes[i] <= hi)) expect.fail(`code ${i} outside [${lo}, ${hi}]`);
              // Unclipped: the error is at most half a step (plus the f32 rounding of x / scale).
              const bound = scale * (0.5 + 2 ** -20 * (hi - lo));
              if (!(Math.abs(got.deq[i] - x[i]) <= bound))
                expect.fail(`|x - dequantize(quantize(x))| at ${i}: ${Math.abs(got.deq[i] - x[i])} > ${bound}`);
            }
            if (device !== 'cpu') {
              const cpu = await run('cpu');
              expectExact(got.q, cpu.q, 'codes vs cpu');
              expectExact(got.scale, cpu.scale, 'scales vs cpu');
              if (!symmetric) expectExact(got.zero!, cpu.zero!, 'zero points vs cpu');
              expectExact(got.deq, cpu.deq, 'dequantized vs cpu');
            }
          });
      }

  it('rounds half to even and saturates', async () => {
    // absmax 127: scale 1, so x / scale is x itself; ties go to the even code.
    const x = [127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, -126.5, 125.5];
    const qt = quantize(tensor(x, [10], { device }), { granularity: 'tensor' });
    expect(await host(qt.scale)).toEqual([1]);
    expect(await host(qt.q)).toEqual([127, 0, 2, 2, 0, -2, -2, 4, -126, 126]);
    qt.dispose();
    // clip 0.5: scale = 0.5 * 4 / 127; +-4 and +-3 lie outside the clipped range and saturate at both ends.
    const y = [-4, -3, -2, 0, 1, 2, 3, 4];
    for (const bits of [8, 6, 4] as QuantBits[]) {
      const [lo, hi] = qrange(bits, true);
      const s = quantize(tensor(y, [8], { device }), { bits, granularity: 'tensor', clip: 0.5 });
      expect(await host(s.scale)).toEqual([f(2 / hi)]);
      expect(unpackCodes(await host(s.q), 1, 8, bits, true)).toEqual([lo, lo, -hi, 0, refCode(1, { scale: f(2 / hi), zero: 0 }, bits, true), hi, hi, hi]);
      s.dispose();
      const a = quantize(tensor(y, [8], { device }), { bits, symmetric: false, granularity: 'tensor', clip: 0.5 });
      const codes = unpackCodes(await host(a.q), 1, 8, bits, false);
      expect(codes[0]).toBe(0);
      expect(codes[7]).toBe(2 ** bits - 1);
      a.dispose();
    }
  });

  it('takes per-channel clipping ratios as a tensor', async () => {
    const shape = [3, 16], x = Float32Array.from(randn(48, 5, 1), f), clip = [1, 0.5, 0.25].map(f);
    for (const symmetric of [true, false]) {
      const ref = reference(x, shape, 8, symmetric, 'channel', 0, clip);
      const clipT = tensor(clip, [3], { device });
      const qt = quantize(tensor(x, shape, { device }), { symmetric, clip: clipT });
      expectExact(await host(qt.scale), ref.scale, 'clipped scales');
      expectExact(await host(qt.q), ref.codes, 'clipped codes');
      qt.dispose();
      clipT.dispose();
    }
  });

  it('dequantizes to f16 and bf16 with one rounding', async () => {
    const x = Float32Array.from(randn(7 * 64, 9, 3), f);
    for (const bits of [8, 4] as QuantBits[]) {
      const qt = quantize(tensor(x, [7, 64], { device }), { bits, symmetric: false, granularity: 'group', groupSize: 64 });
      const f32 = await host(qt.dequantize());
      for (const dtype of ['f16', 'bf16'] as const) {
        const d = qt.dequantize(dtype);
        expect(d.dtype).toBe(dtype);
        expectClose(await host(d), f32.map((v) => roundTo(dtype, v)), { atol: 0, rtol: 0 }, `${dtype} dequantize`);
        d.dispose();
      }
      qt.dispose();
    }
  });

  it('quantizes bf16 input like its f32 values', async () => {
    const x = Array.from(randn(5 * 32, 11, 1), (v) => roundTo('bf16', v));
    const a = quantize(tensor(x, [5, 32], { dtype: 'bf16', device }), { granularity: 'token' });
    const b = quantize(tensor(x, [5, 32], { device }), { granularity: 'token' });
    expectExact(await host(a.q), await host(b.q), 'bf16 codes');
    expectExact(await host(a.scale), await host(b.scale), 'bf16 scales');
    a.dispose();
    b.dispose();
  });

  it('rejects bad options with typed errors', () => {
    const w = tensor(new Float32Array(6 * 10), [6, 10], { device });
    expectGermError(() => quantize(w, { granularity: 'group', groupSize: 4 }), 'ERR_SHAPE', /groupSize 4 does not divide/);
    expectGermError(() => quantize(w, { granularity: 'group', groupSize: 5, bits: 4 }), 'ERR_INVALID_ARGUMENT',
      /must be even/);
    expectGermError(() => quantize(w, { bits: 5 as QuantBits }), 'ERR_INVALID_ARGUMENT', /bits must be 8, 6 or 4/);
    expectGermError(() => quantize(w, { clip: 0 }), 'ERR_INVALID_ARGUMENT', /clip must be in \(0, 1\]/);
    expectGermError(() => quantize(w, { clip: 1.5 }), 'ERR_INVALID_ARGUMENT', /clip must be in/);
    expectGermError(() => quantize(w, { granularity: 'rows' as QuantGranularity }), 'ERR_INVALID_ARGUMENT',
      /granularity/);
    const clip = tensor([1, 1, 1], [3], { device });
    expectGermError(() => quantize(w, { clip }), 'ERR_SHAPE', /clip must be \[6\]/);
    const w3 = tensor(new Float32Array(24), [2, 3, 4], { device });
    expectGermError(() => quantize(w3, { granularity: 'channel' }), 'ERR_SHAPE', /weight \[out, in\]/);
    const wi = tensor(new Int8Array(4), [2, 2], { device });
    expectGermError(() => quantize(wi), 'ERR_DTYPE', /float tensor/);
    for (const t of [w, clip, w3, wi]) t.dispose();
  });
});

describeDevices('quantizeNf4', (device) => {
  it('uses the published NF4 values', async () => {
    expect(NF4_VALUES).toEqual(NF4_PUBLISHED);
    // One block: absmax 1, then every code value: each lands on its own code.
    const x = [1, ...NF4_PUBLISHED, ...NF4_PUBLISHED.slice().reverse()];
    const t = quantizeNf4(tensor(x, [x.length], { device }), { doubleQuant: false });
    expect(await host(t.absmax)).toEqual([1]);
    const bytes = await host(t.codes);
    const codes = Array.from({ length: x.length }, (_, i) => (i & 1 ? bytes[i >> 1] >> 4 : bytes[i >> 1] & 15));
    expect(codes).toEqual([15, ...NF4_PUBLISHED.map((_, i) => i), ...NF4_PUBLISHED.map((_, i) => 15 - i)]);
    expectExact(await host(t.dequantize()), x.map(f), 'dequantized NF4 values');
    t.dispose();
  });

  for (const [shape, doubleQuant] of [[[1, 7, 13], false], [[1, 7, 13], true], [[1000, 768], false],
    [[1000, 768], true], [[300, 1000], true]] as [number[], boolean][]) {
    it(`blockwise absmax 64 [${shape}]${doubleQuant ? ' + double quant' : ''}`, async () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from(randn(n, n, 0.02), f);
      const ref = refNf4(x, 64);
      const run = async (d: string) => {
        const t = quantizeNf4(tensor(x, shape, { device: d }), { blockSize: 64, doubleQuant });
        expect(t.codes.shape).toEqual([Math.ceil(n / 2)]);
        const out = {
          codes: await host(t.codes), absmax: await host(t.absmax),
          absmax2: t.absmax2 ? await host(t.absmax2) : [], offset: t.offset ? await host(t.offset) : [],
          deq: await host(t.dequantize('f32')), bf16: await host(t.dequantize('bf16')),
        };
        t.dispose();
        return out;
      };
      const got = await run(device);
      const codes = Array.from({ length: n }, (_, i) => (i & 1 ? got.codes[i >> 1] >> 4 : got.codes[i >> 1] & 15));
      expectExact(codes, ref.codes, 'NF4 codes');
      if (n % 2) expect(got.codes[got.codes.length - 1] >> 4).toBe(0);
      const scales = doubleQuant ? ref.scales : ref.absmax;
      if (doubleQuant) {
        expectExact(got.absmax, ref.qabsmax, 'double-quantized absmax codes');
        expectExact(got.absmax2, ref.absmax2, 'second-level absmax');
        expectExact(got.offset, [ref.offset], 'offset (mean absmax)');
        // Round trip of the scales: within half the widest gap of the dynamic map near +-1 (0.9 / 64 / 2).
        for (let b = 0; b < ref.absmax.length; b++) {
          const bound = ref.absmax2[b >> 8] * (0.9 / 128) + 1e-9;
          if (!(Math.abs(ref.scales[b] - ref.absmax[b]) <= bound))
            expect.fail(`double-quant absmax ${b}: ${ref.scales[b]} vs ${ref.absmax[b]}`);
        }
      } else {
        expectExact(got.absmax, ref.absmax, 'absmax');
      }
      const want = ref.codes.map((c, i) => f(f(NF4_PUBLISHED[c]) * scales[Math.floor(i / 64)]));
      expectExact(got.deq, want, 'dequantized');
      expectExact(got.bf16, want.map((v) => roundTo('bf16', v)), 'dequantized bf16');
      if (device !== 'cpu') {
        const cpu = await run('cpu');
        for (const k of ['codes', 'absmax', 'absmax2', 'offset', 'deq', 'bf16'] as const)
          expectExact(got[k], cpu[k], `${k} vs cpu`);
      }
    });
  }

  it('matches the dynamic map of bitsandbytes', () => {
    const map = dynamicMap();
    expect(map.length).toBe(256);
    expect(map[0]).toBe(-f(1 - 0.9 / 128)); // -(mean of the last two of linspace(0.1, 1, 65))
    expect(map[255]).toBe(1);
    expect(map.filter((v) => v === 0).length).toBe(1);
    expect(map[128]).toBe(f(0.55e-6)); // the smallest positive value: 1e-6 * (0.1 + 1) / 2
  });

  it('rejects bad options with typed errors', () => {
    const w = tensor(new Float32Array(128), [2, 64], { device });
    expectGermError(() => quantizeNf4(w, { blockSize: 63 }), 'ERR_INVALID_ARGUMENT', /blockSize/);
    const wi = tensor(new Int8Array(4), [4], { device });
    expectGermError(() => quantizeNf4(wi), 'ERR_DTYPE', /float tensor/);
    w.dispose();
    wi.dispose();
  });
});
