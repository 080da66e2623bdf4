import { expect, it } from 'vitest';
import * as germ from '../lib/index';
import { tensor } from '../lib/index';
import { EPS, roundTo } from './helpers/float16';
import { checkOp, read } from './helpers/check';
import { describeDevices } from './helpers/devices';
import { randn, uniform } from './helpers/random';
import { binary64, unary64 } from './helpers/reference';

const FLOATS = ['f32', 'f16', 'bf16'] as const;

// Each op computes in f32 and rounds once into the output dtype, so the error
// is a few f32 ulps (libm-level accuracy of expf, erff ...) plus one rounding;
// for f16 / bf16 that double rounding may land one ulp (2 EPS relative) off
// the correctly rounded value.
function tolFor(dtype: string) {
  return { atol: dtype === 'f32' ? 2e-6 : 4 * EPS[dtype] * 1e-2, rtol: dtype === 'f32' ? 4e-6 : 2.01 * EPS[dtype] };
}

// Inputs inside each op's domain, as float64 values exactly representable in dtype.
function inputsFor(op: string, n: number, dtype: string): number[] {
  const x = op === 'log' || op === 'sqrt' || op === 'rsqrt' || op === 'powScalar' ? uniform(n, 7, 0.05, 6)
    : op === 'reciprocal' ? uniform(n, 7, 0.2, 5)
    : op === 'exp' ? uniform(n, 7, -10, 10) : randn(n, 7, 3);
  return Array.from(x, (v) => roundTo(dtype, v));
}

describeDevices('elementwise', (device) => {
  const params: Record<string, [number, number]> = { affine: [1.75, -0.5], powScalar: [1.5, 0], clamp: [-1, 2] };
  for (const dtype of FLOATS) {
    for (const op of Object.keys(unary64)) {
      it(`${op} ${dtype}`, async () => {
        const n = 1037; // odd: exercises vector tails
        const x = inputsFor(op, n, dtype);
        const [a, b] = params[op] ?? [0, 0];
        const want = x.map((v) => roundTo(dtype, unary64[op](v, a, b)));
        await checkOp(device, (d) => {
          const t = tensor(x, [n], { dtype, device: d });
          const f = germ as unknown as Record<string, (...args: unknown[]) => germ.Tensor>;
          return op === 'identity' ? t.clone()
            : op === 'affine' ? germ.affine(t, a, b)
            : op === 'powScalar' ? germ.pow(t, a)
            : op === 'clamp' ? germ.clamp(t, a, b)
            : f[op](t);
        }, want, tolFor(dtype), `${op} ${dtype}`);
      });
    }
    for (const op of Object.keys(binary64)) {
      it(`${op} ${dtype} with broadcasting`, async () => {
        // [4, 1, 5] op [3, 1] -> [4, 3, 5]
        const a = Array.from(op === 'pow' ? uniform(20, 3, 0.1, 3) : randn(20, 3, 2), (v) => roundTo(dtype, v));
        const b = Array.from(op === 'div' || op === 'pow' ? uniform(3, 4, 0.5, 2) : randn(3, 4, 2), (v) => roundTo(dtype, v));
        const want: number[] = [];
        for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 5; k++)
          want.push(roundTo(dtype, binary64[op](a[i * 5 + k], b[j])));
        const f = germ as unknown as Record<string, (x: germ.Tensor, y: germ.Tensor) => germ.Tensor>;
        await checkOp(device, (d) => f[op](tensor(a, [4, 1, 5], { dtype, device: d }), tensor(b, [3, 1], { dtype, device: d })),
          want, tolFor(dtype), `${op} ${dtype}`);
      });
    }
  }

  it('reads strided views: a transposed operand and a narrowed one', async () => {
    const a = Array.from(randn(6 * 7, 11));
    const b = Array.from(randn(7 * 6, 12));
    // a^T [7, 6] + b [7, 6] viewed from a [7, 12] buffer's first 6 columns
    const wide: number[] = [];
    for (let i = 0; i < 7; i++) for (let j = 0; j < 12; j++) wide.push(j < 6 ? b[i * 6 + j] : 99);
    const want: number[] = [];
    for (let i = 0; i < 7; i++) for (let j = 0; j < 6; j++) want.push(Math.fround(a[j * 7 + i] + b[i * 6 + j]));
    await checkOp(device, (d) => tensor(a, [6, 7], { device: d }).transpose().add(tensor(wide, [7, 12], { device: d }).narrow(1, 0, 6)),
      want, tolFor('f32'), 'strided add');
  });

  it('scalar arithmetic maps to one fused affine pass', async () => {
    const x = tensor([1, 2, 3], undefined, { device });
    expect(Array.from(await read(x.add(1).mul(2).sub(0.5).div(4)))).toEqual([0.875, 1.375, 1.875]);
  });

  it('propagates NaN and infinities', async () => {
    const x = tensor([NaN, Infinity, -Infinity, 0], undefined, { device });
    const got = await read(germ.exp(x));
    expect(Number.isNaN(got[0])).toBe(true);
    expect(Array.from(got.slice(1))).toEqual([Infinity, 0, 1]);
    const m = await read(germ.maximum(x, tensor([1, 1, 1, 1], undefined, { device })));
    expect(Number.isNaN(m[0])).toBe(true);
  });

  it('rejects mismatched shapes, dtypes and integer math with typed errors', () => {
    const a = tensor([1, 2, 3], undefined, { device });
    expect(() => a.add(tensor([1, 2], undefined, { device }))).toThrow(expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('[3] and [2]') }));
    expect(() => a.add(tensor([1, 2, 3], undefined, { device, dtype: 'f16' }))).toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
    expect(() => germ.exp(tensor([1], undefined, { device, dtype: 'i32' }))).toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
  });
});
