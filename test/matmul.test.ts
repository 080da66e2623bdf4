import { expect, it } from 'vitest';
import { linear, matmul, tensor } from '../lib/index';
import { matmulInto } from '../lib/lora/ops';
import { checkOp } from './helpers/check';
import { describeDevices } from './helpers/devices';
import { roundTo } from './helpers/float16';
import { randn } from './helpers/random';
import { matmul64, transpose2d } from './helpers/reference';

// f32 accumulation of k products of unit normals: the result is ~sqrt(k) and
// its error a few f32 ulps of that; f16 / bf16 add one output rounding.
function tol(dtype: string, k: number) {
  const s = Math.sqrt(Math.max(k, 1));
  if (dtype === 'f32') return { atol: 2e-6 * s, rtol: 1e-5 };
  if (dtype === 'f16') return { atol: 1e-3 * s, rtol: 2 ** -10 };
  return { atol: 8e-3 * s, rtol: 2 ** -7 };
}

const round = (dtype: string, x: Float32Array) => Array.from(x, (v) => roundTo(dtype, v));

describeDevices('matmul', (device) => {
  const shapes: [number, number, number, number][] = [
    // batch, m, k, n
    [1, 1, 7, 13], [1, 17, 33, 65], [1, 64, 64, 64], [3, 31, 129, 7], [2, 128, 256, 96], [1, 300, 257, 129],
    [1, 16, 768, 2304], [1, 1, 1, 1], [1, 5, 1000, 3],
  ];
  for (const dtype of ['f32', 'f16', 'bf16'] as const) {
    for (const [batch, m, k, n] of shapes) {
      for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]]) {
        if ((transA || transB) && m * k * n > 2e6 && !(transB && !transA)) continue;
        it(`${dtype} ${batch}x${m}x${k}x${n} transA=${transA} transB=${transB}`, async () => {
          const a = round(dtype, randn(batch * m * k, m * 7 + k));
          const b = round(dtype, randn(batch * k * n, n * 13 + k));
          const want = matmul64(a, b, batch, m, k, n).map((v) => roundTo(dtype, v));
          // Store the operands transposed when asked, so the op must undo it.
          const store = (x: number[], rows: number, cols: number, t: boolean) => {
            if (!t) return x;
            const out: number[] = [];
            for (let p = 0; p < batch; p++)
              for (const v of transpose2d(x.slice(p * rows * cols, (p + 1) * rows * cols), rows, cols)) out.push(v);
            return out;
          };
          const sa = store(a, m, k, transA), sb = store(b, k, n, transB);
          await checkOp(device, (d) => matmul(
            tensor(sa, transA ? [batch, k, m] : [batch, m, k], { dtype, device: d }),
            tensor(sb, transB ? [batch, n, k] : [batch, k, n], { dtype, device: d }), { transA, transB }),
          want, tol(dtype, k), `matmul ${dtype}`);
        });
      }
    }
  }

  // Problems large enough for the 128 x 128 tiles to fill a GPU: on an H100
  // these take the wgmma + TMA kernel (256- and 128-column tiles, a ragged last
  // k-tile, batches, bias, beta), elsewhere the mma.sync one.
  const large: ['f16' | 'bf16', number, number, number, number][] = [
    // dtype, batch, m, k, n
    ['f16', 1, 1100, 200, 2100], ['bf16', 1, 2100, 40, 2200], ['f16', 2, 700, 136, 1500], ['bf16', 1, 333, 8, 9000],
  ];
  for (const [dtype, batch, m, k, n] of large) {
    it(`large ${dtype} ${batch}x${m}x${k}x${n} x @ W^T + bias`, async () => {
      const x = round(dtype, randn(batch * m * k, m + k)), w = round(dtype, randn(n * k, n + 2 * k));
      const bias = round(dtype, randn(n, n));
      const xw = matmul64(x, transpose2d(w, n, k), batch, m, k, n, false);
      const want = Array.from(xw, (v, i) => roundTo(dtype, v + bias[i % n]));
      await checkOp(device, (d) => linear(tensor(x, [batch, m, k], { dtype, device: d }),
        tensor(w, [n, k], { dtype, device: d }), tensor(bias, [n], { dtype, device: d })), want, tol(dtype, k),
        `linear ${dtype}`);
    });
  }
  it('large f16 beta accumulation: C = 0.5 * x @ W^T + 2 * C', async () => {
    const [m, k, n] = [1500, 64, 1800];
    const x = round('f16', randn(m * k, 1)), w = round('f16', randn(n * k, 2)), c0 = round('f16', randn(m * n, 3));
    const xw = matmul64(x, transpose2d(w, n, k), 1, m, k, n);
    const want = Array.from(xw, (v, i) => roundTo('f16', 0.5 * v + 2 * c0[i]));
    await checkOp(device, (d) => matmulInto(tensor(c0, [m, n], { dtype: 'f16', device: d }),
      tensor(x, [m, k], { dtype: 'f16', device: d }), tensor(w, [n, k], { dtype: 'f16', device: d }),
      { transB: true, alpha: 0.5, beta: 2 }), want, { atol: 3e-3 * Math.sqrt(k), rtol: 2 ** -10 }, 'beta');
  });

  it('linear: x [2, 5, 64] @ W[48, 64]^T + bias, with alpha', async () => {
    const x = Array.from(randn(2 * 5 * 64, 1)), w = Array.from(randn(48 * 64, 2)), bias = Array.from(randn(48, 3));
    const wt = Array.from(transpose2d(w, 48, 64));
    const want = Array.from(matmul64(x, wt, 1, 10, 64, 48), (v, i) => Math.fround(v + bias[i % 48]));
    await checkOp(device, (d) => linear(tensor(x, [2, 5, 64], { device: d }), tensor(w, [48, 64], { device: d }),
      tensor(bias, [48], { device: d })), want, tol('f32', 64), 'linear');
    const scaled = Array.from(matmul64(x, wt, 1, 10, 64, 48), (v) => Math.fround(0.5 * v));
    await checkOp(device, (d) => matmul(tensor(x, [10, 64], { device: d }), tensor(w, [48, 64], { device: d }),
      { transB: true, alpha: 0.5 }), scaled, tol('f32', 64), 'alpha');
  });

  it('reads strided views in place: a transposed weight and a narrowed activation', async () => {
    const big = Array.from(randn(20 * 40, 5)), w = Array.from(randn(30 * 24, 6));
    // x = big[:, 8:32] (20 x 24, row stride 40); y = x @ (w^T)^T where w is [30, 24]
    const x: number[] = [];
    for (let i = 0; i < 20; i++) for (let j = 8; j < 32; j++) x.push(big[i * 40 + j]);
    const want = Array.from(matmul64(x, transpose2d(w, 30, 24), 1, 20, 24, 30), Math.fround);
    await checkOp(device, (d) => matmul(tensor(big, [20, 40], { device: d }).narrow(1, 8, 24),
      tensor(w, [30, 24], { device: d }).transpose()), want, tol('f32', 24), 'strided matmul');
  });

  it('a 2-D right operand is shared across the batch', async () => {
    const a = Array.from(randn(3 * 4 * 5, 8)), b = Array.from(randn(5 * 6, 9));
    const want = Array.from(matmul64(a, b, 3, 4, 5, 6, false), Math.fround);
    await checkOp(device, (d) => matmul(tensor(a, [3, 4, 5], { device: d }), tensor(b, [5, 6], { device: d })), want,
      tol('f32', 5), 'broadcast b');
  });

  it('rejects bad shapes and dtypes naming the op and the shapes', () => {
    const a = tensor(new Float32Array(6), [2, 3], { device });
    expect(() => matmul(a, tensor(new Float32Array(8), [4, 2], { device }))).toThrow(
      expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('matmul: inner dims differ in [2, 3] @ [4, 2]') }));
    expect(() => matmul(a, tensor(new Float32Array(6), [3, 2], { device, dtype: 'f16' }))).toThrow(
      expect.objectContaining({ code: 'ERR_DTYPE' }));
    expect(() => matmul(a, tensor(new Float32Array(3), [3], { device }))).toThrow(expect.objectContaining({ code: 'ERR_SHAPE' }));
    expect(() => matmul(a, tensor(new Float32Array(6), [3, 2], { device }), { bias: tensor([1], undefined, { device }) }))
      .toThrow(expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('bias must be [2]') }));
  });
});
