import { expect, it } from 'vitest';
import { tensor } from '../lib/index';
import { checkOp, read } from './helpers/check';
import { describeDevices } from './helpers/devices';
import { EPS, roundTo } from './helpers/float16';
import { randn } from './helpers/random';

function reduce64(op: string, x: number[], shape: number[], axis: number | undefined): number[] {
  const outer = axis === undefined ? 1 : shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const len = axis === undefined ? x.length : shape[axis];
  const inner = axis === undefined ? 1 : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const v: number[] = [];
      for (let l = 0; l < len; l++) v.push(x[(o * len + l) * inner + i]);
      const s = v.reduce((a, b) => a + b, 0);
      const big = v.reduce((a, b) => (a > b ? a : b), -Infinity), small = v.reduce((a, b) => (a < b ? a : b), Infinity);
      out.push(op === 'sum' ? s : op === 'mean' ? s / len : op === 'max' ? big : small);
    }
  return out;
}

describeDevices('reduce', (device) => {
  const cases: [number[], number | undefined][] = [
    [[1000], undefined], [[37, 129], 1], [[37, 129], 0], [[4, 5, 6], 1], [[3, 70000], undefined], [[2, 3, 4097], -1],
  ];
  for (const dtype of ['f32', 'f16', 'bf16'] as const)
    for (const op of ['sum', 'mean', 'max', 'min'] as const)
      for (const [shape, axis] of cases) {
        it(`${op} ${dtype} ${JSON.stringify(shape)} axis ${axis}`, async () => {
          const n = shape.reduce((a, b) => a * b, 1);
          const x = Array.from(randn(n, n + 3), (v) => roundTo(dtype, v));
          const ax = axis === undefined ? undefined : axis < 0 ? axis + shape.length : axis;
          const want = reduce64(op, x, shape, ax).map((v) => roundTo(dtype, v));
          const len = ax === undefined ? n : shape[ax];
          // f32 accumulation: error grows like sqrt(len) ulps of the running sum.
          const tol = { atol: (op === 'sum' ? Math.sqrt(len) : 1 / Math.sqrt(len)) * 1e-5 + (dtype === 'f32' ? 0 : 1e-6),
            rtol: dtype === 'f32' ? 1e-5 : 1.01 * EPS[dtype] };
          await checkOp(device, (d) => tensor(x, shape, { dtype, device: d })[op](axis), want, tol, `${op} ${dtype}`);
        });
      }

  it('keepdim keeps the reduced axis as size 1, and len-0 reductions give the identities', async () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3], { device });
    const k = x.sum(1, true);
    expect(k.shape).toEqual([2, 1]);
    expect(Array.from(await read(k))).toEqual([6, 15]);
    expect(x.sum(undefined, true).shape).toEqual([1, 1]);
    const e = tensor([], [2, 0], { device });
    expect(Array.from(await read(e.sum(1)))).toEqual([0, 0]);
    expect(Array.from(await read(e.max(1)))).toEqual([-Infinity, -Infinity]);
    expect(Array.from(await read(e.min(1)))).toEqual([Infinity, Infinity]);
    expect((await read(e.mean(1))).every(Number.isNaN)).toBe(true);
  });

  it('max and min propagate NaN', async () => {
    const x = tensor([1, NaN, 3], undefined, { device });
    expect(Number.isNaN((await read(x.max()))[0])).toBe(true);
    expect(Number.isNaN((await read(x.min()))[0])).toBe(true);
  });

  it('rejects an axis out of range', () => {
    expect(() => tensor([1, 2], undefined, { device }).sum(2)).toThrow(expect.objectContaining({ code: 'ERR_SHAPE' }));
  });
});
