import { expect, it } from 'vitest';
import { layerNorm, layerNormBackward, tensor } from '../lib/index';
import { read } from './helpers/check';
import { expectClose } from './helpers/compare';
import { describeDevices } from './helpers/devices';
import { EPS, roundTo } from './helpers/float16';
import { randn } from './helpers/random';
import { layerNorm64, layerNormBackward64 } from './helpers/reference';

describeDevices('layerNorm', (device) => {
  const shapes: [number, number][] = [[1, 1], [3, 7], [64, 768], [130, 1000], [5, 16384]];
  for (const dtype of ['f32', 'f16', 'bf16'] as const)
    for (const [rows, cols] of shapes) {
      it(`forward and backward ${dtype} ${rows}x${cols}`, async () => {
        const eps = 1e-12; // DNABERT-2's
        // A large mean stresses the variance computation (catastrophic cancellation).
        const x = Array.from(randn(rows * cols, rows + cols), (v, i) => roundTo(dtype, 3 * v + (i % 3 === 0 ? 0 : 50)));
        const w = Array.from(randn(cols, 2), (v) => roundTo(dtype, 1 + 0.1 * v));
        const b = Array.from(randn(cols, 3), (v) => roundTo(dtype, v));
        const dout = Array.from(randn(rows * cols, 4), (v) => roundTo(dtype, v));
        const ref = layerNorm64(x, w, b, rows, cols, eps);
        const grads = layerNormBackward64(dout, x, w, rows, cols, eps);
        const u = dtype === 'f32' ? 1e-5 : 2 * EPS[dtype];
        const results: Record<string, Float32Array>[] = [];
        for (const d of device === 'cpu' ? ['cpu'] : [device, 'cpu']) {
          const xt = tensor(x, [rows, cols], { dtype, device: d });
          const wt = tensor(w, [cols], { dtype, device: d });
          const fwd = layerNorm(xt, wt, tensor(b, [cols], { dtype, device: d }), eps);
          const g = layerNormBackward(tensor(dout, [rows, cols], { dtype, device: d }), xt, wt, fwd);
          expect(g.dweight.dtype).toBe(dtype);
          results.push({ out: await read(fwd.out), mean: await read(fwd.mean), rstd: await read(fwd.rstd),
            dx: await read(g.dx), dw: await read(g.dweight), db: await read(g.dbias) });
        }
        const [got] = results;
        expectClose(got.out, Array.from(ref.out, (v) => roundTo(dtype, v)), { atol: 4 * u, rtol: 2 * u }, 'out');
        expectClose(got.mean, ref.mean, { atol: 1e-5, rtol: 1e-6 }, 'mean');
        expectClose(got.rstd, ref.rstd, { atol: 0, rtol: 1e-4 }, 'rstd');
        const gs = Math.sqrt(rows);
        // dx = rstd * (g - mean(g) - xhat * mean(g xhat)): its rounding error
        // scales with rstd (1e6 for a constant row with eps 1e-12).
        const dxTol = { atol: 20 * u * Math.max(...Array.from(ref.rstd)), rtol: 4 * u };
        expectClose(got.dx, grads.dx, dxTol, 'dx');
        expectClose(got.dw, grads.dw, { atol: 4 * u * gs, rtol: 4 * u }, 'dweight');
        expectClose(got.db, grads.db, { atol: 4 * u * gs, rtol: 4 * u }, 'dbias');
        if (results.length === 2)
          for (const k of Object.keys(got))
            expectClose(got[k], results[1][k], k === 'dx' ? dxTol : { atol: 20 * u * gs, rtol: 4 * u }, `${k} vs cpu`);
      });
    }

  it('the backward matches finite differences of the forward (f32, small)', async () => {
    const rows = 2, cols = 5, eps = 1e-5;
    const x = Array.from(randn(rows * cols, 21)), w = Array.from(randn(cols, 22)), b = Array.from(randn(cols, 23));
    const dout = Array.from(randn(rows * cols, 24));
    // loss = sum(dout * layerNorm(x)); its gradients from central differences in float64
    const loss = (xx: number[], ww: number[], bb: number[]) =>
      layerNorm64(xx, ww, bb, rows, cols, eps).out.reduce((s, v, i) => s + v * dout[i], 0);
    const h = 1e-6;
    const fd = (arr: number[], i: number, f: (a: number[]) => number) => {
      const p = [...arr], m = [...arr];
      p[i] += h;
      m[i] -= h;
      return (f(p) - f(m)) / (2 * h);
    };
    const xt = tensor(x, [rows, cols], { device }), wt = tensor(w, [cols], { device });
    const g = layerNormBackward(tensor(dout, [rows, cols], { device }), xt, wt, layerNorm(xt, wt, tensor(b, [cols], { device }), eps));
    const dx = await read(g.dx), dw = await read(g.dweight), db = await read(g.dbias);
    expectClose(dx, x.map((_, i) => fd(x, i, (a) => loss(a, w, b))), { atol: 1e-4, rtol: 1e-3 }, 'dx vs finite differences');
    expectClose(dw, w.map((_, i) => fd(w, i, (a) => loss(x, a, b))), { atol: 1e-4, rtol: 1e-3 }, 'dw vs finite differences');
    expectClose(db, b.map((_, i) => fd(b, i, (a) => loss(x, w, a))), { atol: 1e-4, rtol: 1e-3 }, 'db vs finite differences');
  });

  it('rejects parameters of the wrong size or dtype', () => {
    const x = tensor(new Float32Array(12), [3, 4], { device });
    expect(() => layerNorm(x, tensor(new Float32Array(3), [3], { device }), tensor(new Float32Array(4), [4], { device })))
      .toThrow(expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('weight must be [4]') }));
    expect(() => layerNorm(x, tensor(new Float32Array(4), [4], { device, dtype: 'f16' }), tensor(new Float32Array(4), [4], { device })))
      .toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
  });
});
