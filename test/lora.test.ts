// LoRA: in-place merge / unmerge, the fused LoraLinear forward and its
// backward (dx, dA, dB), and their building blocks (matmulInto, catRows),
// against float64 references with bounds derived from where germ rounds
// (test/helpers/lora_ref.ts), and on a GPU against the CPU backend too.
import { expect, it } from 'vitest';
import { LoraLinear, type QuantizeOptions, type Tensor, catRows, loraMerge, loraMergeQuantized, loraUnmerge, matmulInto, quantize,
  quantizeNf4, tensor } from '../lib/index';
import { read } from './helpers/check';
import { describeDevices } from './helpers/devices';
import { EPS, roundTo } from './helpers/float16';
import { type LoraProblem, backwardRef, forwardRef, mm } from './helpers/lora_ref';
import { randn } from './helpers/random';

const FLOATS = ['f32', 'f16', 'bf16'] as const;
type Float = (typeof FLOATS)[number];

const rounded = (dtype: string, n: number, seed: number, scale = 1) =>
  Array.from(randn(n, seed, scale), (v) => roundTo(dtype, v));

/** |got[i] - want[i]| <= bound[i] for every i, naming the worst offender. */
function expectWithin(got: ArrayLike<number>, want: ArrayLike<number>, bound: ArrayLike<number>, what: string) {
  expect(got.length, `${what} length`).toBe(want.length);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i] - want[i]) - bound[i];
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) [worst, worstExcess] = [i, excess];
  }
  if (worst >= 0) expect.fail(`${what}: element ${worst} is ${got[worst]}, want ${want[worst]} (bound ${bound[worst]})`);
}

const times = (b: ArrayLike<number>, k: number) => Float64Array.from(b, (v) => v * k);

function problem(dtype: string, M: number, inF: number, out: number, r: number, alpha: number, seed: number,
  withBias = true): LoraProblem {
  return {
    M, inF, out, r, s: alpha / r,
    x: rounded(dtype, M * inF, seed),
    W: rounded(dtype, out * inF, seed + 1, 1 / Math.sqrt(inF)),
    A: rounded(dtype, r * inF, seed + 2, 1 / Math.sqrt(inF)),
    B: rounded(dtype, out * r, seed + 3, 1 / Math.sqrt(r)),
    bias: withBias ? rounded(dtype, out, seed + 4, 0.5) : null,
  };
}

function layer(p: LoraProblem, dtype: Float, device: string): LoraLinear {
  const o = { dtype, device };
  using weight = tensor(p.W, [p.out, p.inF], o), A = tensor(p.A, [p.r, p.inF], o);
  const B = tensor(p.B, [p.out, p.r], o);
  const bias = p.bias ? tensor(p.bias, [p.out], o) : undefined;
  try {
    return new LoraLinear({ weight, bias, A, B, alpha: p.s * p.r, rank: p.r });
  } finally {
    B.dispose();
    bias?.dispose();
  }
}

/** Forward then backward with dy on `device`: y, dx, dA, dB as host arrays. */
async function runLayer(p: LoraProblem, dy: number[], dtype: Float, device: string) {
  using lin = layer(p, dtype, device);
  using x = tensor(p.x, [p.M, p.inF], { dtype, device });
  using dyT = tensor(dy, [p.M, p.out], { dtype, device });
  const y = await read(lin.forward(x));
  const g = lin.backward(dyT);
  return { y, dx: await read(g.dx), dA: await g.dA.data() as Float32Array, dB: await g.dB.data() as Float32Array };
}

describeDevices('matmulInto and catRows', (device) => {
  for (const dtype of FLOATS)
    it(`accumulates alpha op(a) op(b) + beta out into a column slice, ${dtype}`, async () => {
      const [m, k, n, ld] = [7, 13, 5, 9]; // out is columns 2..6 of a [7, 9] buffer
      const a = rounded(dtype, k * m, 1), b = rounded(dtype, n * k, 2), c = rounded(dtype, m * ld, 3);
      const [alpha, beta] = [-1.5, 0.5];
      using buf = tensor(c, [m, ld], { dtype, device });
      using at = tensor(a, [k, m], { dtype, device }), bt = tensor(b, [n, k], { dtype, device });
      using slice = buf.narrow(1, 2, n);
      expect(matmulInto(slice, at, bt, { transA: true, transB: true, alpha, beta })).toBe(slice);
      const got = await buf.data();
      const prod = mm(a, b, m, k, n, true, true);
      const u = EPS[dtype];
      for (let i = 0; i < m; i++)
        for (let j = 0; j < ld; j++) {
          const e = i * ld + j, g = got[e];
          if (j < 2 || j >= 2 + n) {
            expect(g, `untouched column ${j} of row ${i}`).toBe(c[e]);
          } else {
            const want = alpha * prod.v[i * n + j - 2] + beta * c[e];
            const bound = 1.25 * (u * Math.abs(want) + k * 2 ** -24 * (Math.abs(alpha) * prod.abs[i * n + j - 2] +
              Math.abs(beta * c[e]))) + 2 ** -24;
            expect(Math.abs(g - want), `row ${i} column ${j}: ${g} vs ${want}`).toBeLessThanOrEqual(bound);
          }
        }
    });

  it('beta = 0 overwrites without reading out (NaN there stays out of the result)', async () => {
    using out = tensor([NaN, NaN, NaN, NaN], [2, 2], { device });
    using a = tensor([1, 2, 3, 4], [2, 2], { device }), b = tensor([1, 0, 0, 1], [2, 2], { device });
    matmulInto(out, a, b, { beta: 0, alpha: 2 });
    expect(Array.from(await out.data())).toEqual([2, 4, 6, 8]);
  });

  it('earlier reads see the old values, every view sees the new ones', async () => {
    using w = tensor([1, 2, 3, 4], [2, 2], { device });
    using before = w.clone(), view = w.reshape([4]);
    using a = tensor([1, 1], [2, 1], { device }), b = tensor([10, 20], [1, 2], { device });
    matmulInto(w, a, b);
    expect(Array.from(await before.data())).toEqual([1, 2, 3, 4]);
    expect(Array.from(await view.data())).toEqual([11, 22, 13, 24]);
  });

  it('rejects an output with strided columns, overlapping inputs, bad shapes and dtypes', () => {
    using buf = tensor(new Float32Array(24), [4, 6], { device });
    using a = tensor(new Float32Array(8), [4, 2], { device }), b = tensor(new Float32Array(12), [2, 6], { device });
    using t = buf.transpose();
    using a6 = tensor(new Float32Array(12), [6, 2], { device }), b2 = tensor(new Float32Array(8), [2, 4], { device });
    expect(() => matmulInto(t, a6, b2)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringContaining('unit column stride') }));
    using left = buf.narrow(1, 0, 2), right = buf.narrow(1, 2, 2), mid = buf.narrow(1, 1, 2);
    using sq = tensor(new Float32Array(4), [2, 2], { device });
    expect(() => matmulInto(right, left, sq)).not.toThrow(); // disjoint columns of one buffer
    expect(() => matmulInto(mid, left, sq)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringContaining('overlaps') }));
    expect(() => matmulInto(buf, a, a)).toThrow(expect.objectContaining({ code: 'ERR_SHAPE',
      message: expect.stringContaining('matmulInto') }));
    using h = tensor(new Float32Array(8), [4, 2], { device, dtype: 'f16' });
    expect(() => matmulInto(buf, h, b)).toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
  });

  it('catRows stacks contiguous, transposed and 1-D parts exactly', async () => {
    using a = tensor([1, 2, 3, 4, 5, 6], [2, 3], { device, dtype: 'bf16' });
    using b0 = tensor([7, 8, 9, 10, 11, 12], [3, 2], { device, dtype: 'bf16' });
    using b = b0.transpose(); // [2, 3], not contiguous
    using c = catRows([a, b]);
    expect(c.shape).toEqual([4, 3]);
    expect(Array.from(await c.data())).toEqual([1, 2, 3, 4, 5, 6, 7, 9, 11, 8, 10, 12]);
    using v = catRows([tensor([1, 2], [2], { device }), tensor([], [0], { device }), tensor([3], [1], { device })]);
    expect(Array.from(await v.data())).toEqual([1, 2, 3]);
    expect(() => catRows([a, tensor([1, 2], [1, 2], { device, dtype: 'bf16' })])).toThrow(
      expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('catRows') }));
    expect(() => catRows([a, tensor([1, 2, 3], [1, 3], { device })])).toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
    expect(() => catRows([])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});

describeDevices('loraMerge / loraUnmerge', (device) => {
  // [out, in, r, alpha]: ragged sizes (rows of odd length: the kernel's scalar
  // edges; r = 1, r across two rank chunks), then DNABERT-2's QKV at r 8 and 128.
  const sizes: [number, number, number, number][] = [[5, 13, 4, 8], [67, 131, 3, 6], [130, 257, 33, 4], [3, 1000, 1, 2],
    [2304, 768, 8, 16], [2304, 768, 128, 256]];
  for (const dtype of FLOATS)
    for (const [out, inF, r, alpha] of sizes)
      it(`W [${out}, ${inF}] +- (${alpha}/${r}) B A in place, ${dtype}`, async () => {
        const p = problem(dtype, 1, inF, out, r, alpha, out + r, false);
        const u = EPS[dtype], s = alpha / r;
        const ba = mm(p.B, p.A, out, r, inF);
        const run = async (d: string) => {
          const o = { dtype, device: d };
          using W = tensor(p.W, [out, inF], o), A = tensor(p.A, [r, inF], o), B = tensor(p.B, [out, r], o);
          expect(loraMerge(W, { A, B, alpha, rank: r })).toBe(W);
          const merged = await W.data();
          loraUnmerge(W, { A, B, alpha });
          return { merged, back: await W.data() };
        };
        const got = await run(device);
        // Merge: one rounding of W + s B A (s B A accumulated in f32 over r terms).
        const want = Float64Array.from(p.W, (w, e) => w + s * ba.v[e]);
        const slack = (e: number) => 1.25 * r * 2 ** -24 * s * ba.abs[e] + 2 ** -24;
        expectWithin(got.merged, want, want.map((w, e) => 1.25 * u * Math.abs(w) + slack(e)), 'merged W');
        // Unmerge: one more rounding, so W comes back only to within
        // u (|W'| + |W''|): not bit-exact in f16 / bf16 (documented in lib/lora/merge.ts).
        expectWithin(got.back, p.W,
          p.W.map((_, e) => 1.25 * u * (Math.abs(got.merged[e]) + Math.abs(got.back[e])) + 2 * slack(e)),
          'merged then unmerged W');
        if (dtype !== 'f32' && out > 5) expect(got.back.some((v, e) => v !== p.W[e]), 'f16/bf16 round trip is lossy').toBe(true);
        if (device !== 'cpu') {
          const cpu = await run('cpu');
          expectWithin(got.merged, cpu.merged, want.map((w, e) => 2 * (1.25 * u * Math.abs(w) + slack(e))), 'merged vs cpu');
        }
      });

  it('merges into a column slice of a wider buffer (unaligned rows), leaving the other columns', async () => {
    for (const dtype of FLOATS) {
      const o = { device, dtype }, buf = rounded(dtype, 40 * 80, 21), a = rounded(dtype, 5 * 70, 22), b = rounded(dtype, 40 * 5, 23);
      using whole = tensor(buf, [40, 80], o), A = tensor(a, [5, 70], o), B = tensor(b, [40, 5], o);
      using W = whole.narrow(1, 3, 70);
      loraMerge(W, { A, B, alpha: 7.5 }); // s = 1.5
      const got = await whole.data(), ba = mm(b, a, 40, 5, 70);
      for (let i = 0; i < 40; i++)
        for (let j = 0; j < 80; j++) {
          const e = i * 80 + j, inside = j >= 3 && j < 73;
          const want = inside ? buf[e] + 1.5 * ba.v[i * 70 + j - 3] : buf[e];
          const bound = inside ? 1.25 * EPS[dtype] * Math.abs(want) + 1.5 * 5 * 2 ** -23 * ba.abs[i * 70 + j - 3] + 2 ** -24 : 0;
          if (!(Math.abs(got[e] - want) <= bound)) expect.fail(`${dtype} [${i}, ${j}]: ${got[e]}, want ${want}`);
        }
    }
  });

  it('merges into W in place: views see it, earlier reads do not', async () => {
    using W = tensor([1, 2, 3, 4, 5, 6], [2, 3], { device });
    using before = W.clone(), row1 = W.narrow(0, 1, 1);
    using A2 = tensor([1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [4, 3], { device });
    using B = tensor([1, 0, 0, 0, 0, 1, 0, 0], [2, 4], { device });
    loraMerge(W, { A: A2, B, alpha: 8 }); // s = 2: adds 2 * [1 0 1] to row 0, 2 * A2[1] = 0 to row 1
    expect(Array.from(await before.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await W.data())).toEqual([3, 2, 5, 4, 5, 6]);
    expect(Array.from(await row1.data())).toEqual([4, 5, 6]);
  });

  it('a CPU weight uploaded before an in-place merge uploads the old values', async () => {
    if (device === 'cpu') return; // the cross-executor write-after-read case needs a GPU
    const w = rounded('f32', 64 * 256, 9);
    using W = tensor(w, [64, 256]);
    using A = tensor(rounded('f32', 4 * 256, 10), [4, 256]), B = tensor(rounded('f32', 64 * 4, 11), [64, 4]);
    using up = W.to(device);
    for (let i = 0; i < 20; i++) loraMerge(W, { A, B, alpha: 4 });
    expect(Array.from(await up.data())).toEqual(w);
  });

  it('typed errors: shapes, rank, dtype, alpha, layout, aliasing', () => {
    const o = { device };
    using W = tensor(new Float32Array(6 * 10), [6, 10], o);
    using A = tensor(new Float32Array(4 * 10), [4, 10], o), B = tensor(new Float32Array(6 * 4), [6, 4], o);
    using A9 = tensor(new Float32Array(4 * 9), [4, 9], o), B5 = tensor(new Float32Array(5 * 4), [5, 4], o);
    using B3 = tensor(new Float32Array(6 * 3), [6, 3], o), Ah = tensor(new Float32Array(40), [4, 10], { device, dtype: 'f16' });
    const code = (c: string, m?: string) => expect.objectContaining({ code: c, ...(m ? { message: expect.stringContaining(m) } : {}) });
    expect(() => loraMerge(W, { A: A9, B, alpha: 8 })).toThrow(code('ERR_SHAPE', 'loraMerge'));
    expect(() => loraMerge(W, { A, B: B5, alpha: 8 })).toThrow(code('ERR_SHAPE', 'B [6, r]'));
    expect(() => loraUnmerge(W, { A, B: B3, alpha: 8 })).toThrow(code('ERR_SHAPE', 'loraUnmerge'));
    expect(() => loraMerge(W, { A, B, alpha: 8, rank: 8 })).toThrow(code('ERR_SHAPE', 'rank 8'));
    expect(() => loraMerge(W, { A: Ah, B, alpha: 8 })).toThrow(code('ERR_DTYPE'));
    expect(() => loraMerge(W, { A, B, alpha: NaN })).toThrow(code('ERR_INVALID_ARGUMENT', 'alpha'));
    using Wt0 = tensor(new Float32Array(60), [10, 6], o);
    using Wt = Wt0.transpose();
    expect(() => loraMerge(Wt, { A, B, alpha: 8 })).toThrow(code('ERR_INVALID_ARGUMENT', 'unit column stride'));
    // A living inside W's own memory would be read while it is overwritten.
    using stack = tensor(new Float32Array(10 * 10), [10, 10], o);
    using Wv = stack.narrow(0, 0, 6), Av = stack.narrow(0, 5, 4);
    expect(() => loraMerge(Wv, { A: Av, B, alpha: 8 })).toThrow(code('ERR_INVALID_ARGUMENT', 'overlaps'));
    using Av2 = stack.narrow(0, 6, 4); // the rows right after W: fine
    expect(() => loraMerge(Wv, { A: Av2, B, alpha: 8 })).not.toThrow();
  });
});

describeDevices('LoraLinear', (device) => {
  // [M, in, out, r, alpha]: tiny odd sizes, then DNABERT-2's fused QKV (768 -> 2304) at r 8 and 128, then
  // the fused Hopper kernel's edges (r 16, 24 padded to 32, and 32; partial row, column and k tiles).
  const sizes: [number, number, number, number, number][] = [[7, 13, 5, 4, 6], [64, 768, 2304, 8, 16],
    [64, 768, 2304, 128, 256], [130, 200, 136, 16, 32], [100, 64, 128, 24, 48], [257, 96, 264, 32, 64]];
  for (const dtype of FLOATS)
    for (const [M, inF, out, r, alpha] of sizes)
      it(`forward and backward, x [${M}, ${inF}], out ${out}, r ${r}, ${dtype}`, async () => {
        const p = problem(dtype, M, inF, out, r, alpha, M + out + r);
        const dy = rounded(dtype, M * out, 77);
        const u = EPS[dtype];
        const fwd = forwardRef(p, u);
        // The adapter's term is far above the tolerance, so dropping or mis-scaling it fails.
        const visible = fwd.lora.filter((v, e) => Math.abs(v) > 4 * fwd.bound[e]).length;
        expect(visible / fwd.lora.length, 'share of outputs where the LoRA term exceeds 4x the bound').toBeGreaterThan(0.5);
        const bwd = backwardRef(p, dy, fwd.xa, u);
        const got = await runLayer(p, dy, dtype, device);
        expectWithin(got.y, fwd.want, fwd.bound, 'y');
        for (const g of ['dx', 'dA', 'dB'] as const) expectWithin(got[g], bwd[g].want, bwd[g].bound, g);
        if (device !== 'cpu') {
          const cpu = await runLayer(p, dy, dtype, 'cpu');
          expectWithin(got.y, cpu.y, times(fwd.bound, 2), 'y vs cpu');
          for (const g of ['dx', 'dA', 'dB'] as const) expectWithin(got[g], cpu[g], times(bwd[g].bound, 2), `${g} vs cpu`);
        }
      });

  // Enough 128 x 256 tiles that the H100 takes the fused kernel's cooperative 128 x 256 variant (the sizes
  // above run ping-pong 128 x 128); forward only, as the backward is the same GEMMs at any size.
  if (device !== 'cpu')
    for (const dtype of ['f16', 'bf16'] as const)
      it(`forward over many wide tiles, x [2048, 16], out 6144, r 8, ${dtype}`, async () => {
        const p = problem(dtype, 2048, 16, 6144, 8, 16, 5);
        const fwd = forwardRef(p, EPS[dtype]);
        using lin = layer(p, dtype, device);
        using x = tensor(p.x, [p.M, p.inF], { dtype, device });
        expectWithin(await read(lin.forward(x)), fwd.want, fwd.bound, 'y');
      });

  it('batched x [2, 3, 13] with a bias-free layer keeps its leading dims, and gradients accumulate', async () => {
    const p = problem('f32', 6, 13, 5, 4, 6, 3, false);
    const dy = rounded('f32', 6 * 5, 78);
    const fwd = forwardRef(p, EPS.f32), bwd = backwardRef(p, dy, fwd.xa, EPS.f32);
    using lin = layer(p, 'f32', device);
    using x = tensor(p.x, [2, 3, 13], { device }), dyT = tensor(dy, [2, 3, 5], { device });
    for (let step = 1; step <= 2; step++) {
      using y = lin.forward(x);
      expect(y.shape).toEqual([2, 3, 5]);
      expectWithin(await y.data(), fwd.want, fwd.bound, `y, step ${step}`);
      const g = lin.backward(dyT);
      using dx = g.dx;
      expect(dx.shape).toEqual([2, 3, 13]);
      expectWithin(await dx.data(), bwd.dx.want, bwd.dx.bound, `dx, step ${step}`);
      expectWithin(await g.dA.data(), times(bwd.dA.want, step), times(bwd.dA.bound, 2 * step), `dA after ${step}`);
      expectWithin(await g.dB.data(), times(bwd.dB.want, step), times(bwd.dB.bound, 2 * step), `dB after ${step}`);
    }
    lin.zeroGrad();
    using y = lin.forward(x);
    const g = lin.backward(dyT);
    g.dx.dispose();
    expectWithin(await g.dA.data(), bwd.dA.want, bwd.dA.bound, 'dA after zeroGrad');
  });

  it('gradients match central finite differences of sum(y * g) (x [3, 6], out 5, r 4, f32)', async () => {
    const p = problem('f32', 3, 6, 5, 4, 6, 21);
    const g = rounded('f32', 3 * 5, 22);
    const loss = async (q: LoraProblem) => {
      using lin = layer(q, 'f32', device);
      using x = tensor(q.x, [q.M, q.inF], { device });
      const y = await read(lin.forward(x));
      return y.reduce((acc, v, i) => acc + v * g[i], 0);
    };
    const got = await runLayer(p, g, 'f32', device);
    // y is linear in each of x, A, B, so a central difference is exact up to f32 rounding of y.
    for (const [name, grad] of [['x', got.dx], ['A', got.dA], ['B', got.dB]] as const) {
      const key = name as 'x' | 'A' | 'B';
      for (let i = 0; i < p[key].length; i++) {
        const h = 0.25, plus = Math.fround(p[key][i] + h), minus = Math.fround(p[key][i] - h);
        const at = (v: number) => ({ ...p, [key]: p[key].map((w, j) => (j === i ? v : w)) });
        const fd = ((await loss(at(plus))) - (await loss(at(minus)))) / (plus - minus);
        expect(Math.abs(grad[i] - fd), `d${name}[${i}]: ${grad[i]} vs finite difference ${fd}`)
          .toBeLessThanOrEqual(1e-4 + 1e-4 * Math.abs(fd));
      }
    }
  });

  it('typed errors: shapes, rank, dtypes, backward without forward', () => {
    const o = { device };
    using weight = tensor(new Float32Array(5 * 13), [5, 13], o), A = tensor(new Float32Array(4 * 13), [4, 13], o);
    using B = tensor(new Float32Array(5 * 4), [5, 4], o), B8 = tensor(new Float32Array(5 * 8), [5, 8], o);
    using bias7 = tensor(new Float32Array(7), [7], o);
    const code = (c: string, m?: string) => expect.objectContaining({ code: c, ...(m ? { message: expect.stringContaining(m) } : {}) });
    expect(() => new LoraLinear({ weight, A, B: B8, alpha: 8 })).toThrow(code('ERR_SHAPE', 'LoraLinear'));
    expect(() => new LoraLinear({ weight, A, B, alpha: 8, rank: 8 })).toThrow(code('ERR_SHAPE', 'rank 8'));
    expect(() => new LoraLinear({ weight, bias: bias7, A, B, alpha: 8 })).toThrow(code('ERR_SHAPE', 'bias'));
    using lin = new LoraLinear({ weight, A, B, alpha: 8, rank: 4 });
    expect(lin.scale).toBe(2);
    using dy0 = tensor(new Float32Array(5), [1, 5], o);
    expect(() => lin.backward(dy0)).toThrow(code('ERR_INVALID_ARGUMENT', 'forward first'));
    using x12 = tensor(new Float32Array(2 * 12), [2, 12], o);
    expect(() => lin.forward(x12)).toThrow(code('ERR_SHAPE', '[..., 13]'));
    using xh = tensor(new Float32Array(2 * 13), [2, 13], { device, dtype: 'f16' });
    expect(() => lin.forward(xh)).toThrow(code('ERR_DTYPE'));
    using x = tensor(new Float32Array(2 * 13), [2, 13], o);
    using y = lin.forward(x);
    using dyBad = tensor(new Float32Array(3 * 5), [3, 5], o);
    expect(() => lin.backward(dyBad)).toThrow(code('ERR_SHAPE', 'dy must be [2, 5]'));
  });
});

export type { Tensor };

describeDevices('loraMergeQuantized (QLoRA export)', (device) => {
  const [out, inn, r, alpha] = [24, 128, 4, 8];
  const w = Array.from(randn(out * inn, 71, 0.05));
  const A = Array.from(randn(r * inn, 72, 0.05)), B = Array.from(randn(out * r, 73, 0.05));
  const s = alpha / r;
  const adapter = () => ({ A: tensor(A, [r, inn], { device }), B: tensor(B, [out, r], { device, dtype: 'bf16' }), alpha });
  const bf16B = B.map((v) => roundTo('bf16', v));
  const baBf16 = mm(bf16B, A, out, r, inn).v;  // float64 B A with B as the bf16 adapter holds it

  const cases: [string, QuantizeOptions][] = [
    ['int8 per channel', { bits: 8, granularity: 'channel' }],
    ['int4 asymmetric, groups of 64', { bits: 4, symmetric: false, granularity: 'group', groupSize: 64 }],
  ];
  for (const [name, opts] of cases) {
    it(`${name}: the re-quantized weight is within half a step of deq(Wq) + (alpha / r) B A`, async () => {
      const wq = quantize(tensor(w, [out, inn], { device }), opts);
      const base = await read(wq.dequantize());
      const ad = adapter();
      const merged = loraMergeQuantized(wq, ad);
      expect([merged.bits, merged.symmetric, merged.granularity, merged.groupSize]).toEqual([wq.bits, wq.symmetric, wq.granularity, wq.groupSize]);
      const got = await read(merged.dequantize());
      const scales = await read(merged.scale);
      const perRow = scales.length / out;  // scales per output row (1 per channel, in / groupSize per group)
      const want = Float64Array.from(base, (v, i) => v + s * baBf16[i]);
      const bound = Float64Array.from(want, (_, i) =>
        0.5 * scales[Math.floor(i / inn) * perRow + Math.floor((i % inn) / (inn / perRow))] * (1 + 1e-5) + 1e-6);
      expectWithin(got, want, bound, name);
      expect(Array.from(await read(wq.dequantize()))).toEqual(Array.from(base));  // the input is untouched
      for (const t of [ad.A, ad.B]) t.dispose();
    });
  }

  it('NF4 with double quantization keeps its block size; error within the NF4 grid', async () => {
    const wq = quantizeNf4(tensor(w, [out, inn], { device }), { blockSize: 64, doubleQuant: true });
    const base = await read(wq.dequantize());
    const ad = adapter();
    const merged = loraMergeQuantized(wq, ad);
    expect([merged.blockSize, merged.doubleQuant]).toEqual([64, true]);
    const got = await read(merged.dequantize());
    const want = Float64Array.from(base, (v, i) => v + s * baBf16[i]);
    // NF4's widest gap is -1 .. -0.6962 of the block's absmax; double quantization
    // moves absmax by under 1%.
    for (let b = 0; b < (out * inn) / 64; b++) {
      let amax = 0;
      for (let i = b * 64; i < (b + 1) * 64; i++) amax = Math.max(amax, Math.abs(want[i]));
      const bound = Array.from({ length: 64 }, () => 0.152 * amax * 1.02 + 1e-6);
      expectWithin(got.subarray(b * 64, (b + 1) * 64), want.subarray(b * 64, (b + 1) * 64), bound, `block ${b}`);
    }
    for (const t of [ad.A, ad.B]) t.dispose();
  });

  it('a zero adapter gives back the weight up to one re-quantization', async () => {
    const wq = quantize(tensor(w, [out, inn], { device }), { bits: 8, granularity: 'channel' });
    const merged = loraMergeQuantized(wq, { A: tensor(A, [r, inn], { device }), B: tensor(new Float32Array(out * r), [out, r], { device }), alpha });
    const [a, b] = [await read(wq.dequantize()), await read(merged.dequantize())];
    const scales = await read(wq.scale);
    expectWithin(b, a, Float64Array.from(a, (_, i) => 1e-6 + 1e-6 * scales[Math.floor(i / inn)] * 127), 'zero adapter');
  });
});
