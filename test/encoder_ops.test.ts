// The BERT-encoder ops beside LayerNorm: embedding (row gather), geglu
// (DNABERT-2's gated-MLP epilogue) and addLayerNorm (post-LN residual), each
// against a float64 reference and, on a GPU, against the CPU backend.
import { expect, it } from 'vitest';
import { type Tensor, add, addLayerNorm, addLayerNormOut, embedding, geglu, layerNorm, linearGeglu, packGeglu,
  tensor } from '../lib/index';
import { read } from './helpers/check';
import { expectClose } from './helpers/compare';
import { describeDevices } from './helpers/devices';
import { EPS, roundTo } from './helpers/float16';
import { randn } from './helpers/random';
import { gelu64, layerNorm64 } from './helpers/reference';

const FLOATS = ['f32', 'f16', 'bf16'] as const;
type Float = (typeof FLOATS)[number];

const rounded = (dtype: Float, n: number, seed: number, scale = 1) =>
  Array.from(randn(n, seed, scale), (v) => roundTo(dtype, v));

/** |got[i] - want[i]| <= bound(i) for every i, naming the worst offender. */
function expectWithin(got: ArrayLike<number>, want: ArrayLike<number>, bound: (i: number) => number, what: string) {
  expect(got.length, `${what} length`).toBe(want.length);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i] - want[i]) - bound(i);
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) [worst, worstExcess] = [i, excess];
  }
  if (worst >= 0) expect.fail(`${what}: element ${worst} is ${got[worst]}, want ${want[worst]} (bound ${bound(worst)})`);
}

/** The op's result on `device` and, on a GPU, on the CPU backend too. */
async function onDevices(device: string, build: (d: string) => Tensor): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const d of device === 'cpu' ? ['cpu'] : [device, 'cpu']) out.push(await read(build(d)));
  return out;
}

describeDevices('embedding', (device) => {
  // [vocab, hidden, ids shape]: rows of 2 bytes (f16 H=1), 14 bytes (H=7),
  // 12 bytes (f32 H=3) and 1536 / 3072 bytes (H=768) take each copy width.
  const cases: [number, number, number[]][] = [[1, 1, [1]], [5, 7, [3, 5]], [9, 3, [17]], [300, 768, [1000]],
    [4096, 768, [2, 3, 4]]];
  for (const dtype of FLOATS)
    for (const [V, H, idsShape] of cases) {
      it(`gathers rows ${dtype} table [${V}, ${H}] ids [${idsShape}]`, async () => {
        const table = rounded(dtype, V * H, V + H);
        const n = idsShape.reduce((a, b) => a * b, 1);
        const ids = Int32Array.from({ length: n }, (_, i) => (i * 7919 + 13) % V);
        const want = Array.from(ids).flatMap((id) => table.slice(id * H, (id + 1) * H));
        const [got, cpu] = await onDevices(device, (d) => {
          const t = tensor(table, [V, H], { dtype, device: d });
          const out = embedding(t, tensor(ids, idsShape, { device: d }));
          expect(out.shape).toEqual([...idsShape, H]);
          expect(out.dtype).toBe(dtype);
          return out;
        });
        expectClose(got, want, { atol: 0, rtol: 0 }, 'rows'); // a copy: exact
        if (cpu) expectClose(got, cpu, { atol: 0, rtol: 0 }, 'vs cpu');
        // Host ids (Int32Array and number[]) give [n, H] and the same rows.
        const t = tensor(table, [V, H], { dtype, device });
        expectClose(await read(embedding(t, ids)), want, { atol: 0, rtol: 0 }, 'host Int32Array ids');
        expectClose(await read(embedding(t, Array.from(ids))), want, { atol: 0, rtol: 0 }, 'host number[] ids');
      });
    }

  it('picks the [CLS] row of each packed sequence, from an offset (unaligned) view', async () => {
    const T = 11, H = 6; // 12-byte f16 rows: after one row the base is only 4-byte aligned
    const hidden = rounded('f16', T * H, 5);
    const cuSeqlens = [0, 3, 4, 9, T];
    const starts = cuSeqlens.slice(0, -1);
    const want = starts.flatMap((s) => hidden.slice(s * H, (s + 1) * H));
    const full = tensor(hidden, [T, H], { dtype: 'f16', device });
    expectClose(await read(embedding(full, starts)), want, { atol: 0, rtol: 0 }, 'CLS rows');
    const shifted = full.narrow(0, 1, T - 1); // row i of the view is row i + 1
    expectClose(await read(embedding(shifted, starts.slice(1).map((s) => s - 1))), want.slice(H), { atol: 0, rtol: 0 },
      'CLS rows from an offset view');
  });

  it('an empty ids tensor gives [0, H]', async () => {
    const out = embedding(tensor(new Float32Array(12), [3, 4], { device }), new Int32Array(0));
    expect(out.shape).toEqual([0, 4]);
    expect((await read(out)).length).toBe(0);
  });

  it('rejects out-of-range host ids at the call, naming the id and its position', () => {
    const t = tensor(new Float32Array(12), [3, 4], { device });
    for (const [ids, id, pos] of [[[0, 2, 3, 1], 3, 2], [[1, -1], -1, 1]] as const)
      expect(() => embedding(t, [...ids])).toThrow(expect.objectContaining({
        code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining(`id ${id} at position ${pos} is out of range`) }));
    expect(() => embedding(t, [0.5])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('fails the op with the first out-of-range id of an ids tensor, never reading past the table', async () => {
    const t = tensor(Float32Array.from({ length: 12 }, (_, i) => i), [3, 4], { device });
    const ids = tensor(Int32Array.from([0, 2, 1, 2, 1000000, 1, -5]), [7], { device });
    await expect(read(embedding(t, ids))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('id 1000000 at position 4 is out of range for a table of 3 rows') });
    const ids2d = tensor(Int32Array.from([0, 1, 2, 3, 0, 0]), [2, 3], { device });
    await expect(read(embedding(t, ids2d))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('id 3 at position 3 (index [1, 0])') });
    // The device stays usable, and later ops are unaffected.
    expectClose(await read(embedding(t, tensor(Int32Array.from([2]), [1], { device }))), [8, 9, 10, 11],
      { atol: 0, rtol: 0 }, 'after a failed gather');
  });

  it('rejects a non-i32 ids tensor, a non-float or non-2-D table, and tensors on other devices', () => {
    const t = tensor(new Float32Array(12), [3, 4], { device });
    expect(() => embedding(t, tensor([0, 1], [2], { device }))).toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
    expect(() => embedding(tensor(new Int32Array(12), [3, 4], { device }), [0]))
      .toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
    expect(() => embedding(tensor(new Float32Array(12), [12], { device }), [0]))
      .toThrow(expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('[vocab, hidden]') }));
    if (device !== 'cpu')
      expect(() => embedding(t, tensor(Int32Array.from([0]), [1]))).toThrow(expect.objectContaining({ code: 'ERR_DEVICE' }));
  });
});

describeDevices('geglu', (device) => {
  // [rows, inner]: 3 and 7 miss the 16-byte packets, 768 and 3072 take them.
  const shapes: [number, number][] = [[1, 1], [3, 3], [5, 7], [17, 768], [64, 3072], [1000, 5]];
  for (const dtype of FLOATS)
    for (const [rows, I] of shapes)
      for (const withBias of [true, false]) {
        it(`${dtype} [${rows}, ${2 * I}] -> [${rows}, ${I}]${withBias ? ' + bias' : ''}`, async () => {
          // A spread of 2.5 reaches gelu's tail (gelu(-7) ~ -1e-11): relative accuracy there too.
          const x = rounded(dtype, rows * 2 * I, rows + I, 2.5);
          const b = withBias ? rounded(dtype, 2 * I, 7, 0.5) : new Array<number>(2 * I).fill(0);
          const want = new Float64Array(rows * I), gate = new Float64Array(rows * I);
          for (let r = 0; r < rows; r++)
            for (let j = 0; j < I; j++) {
              gate[r * I + j] = x[r * 2 * I + j] + b[j];
              want[r * I + j] = gelu64(gate[r * I + j]) * (x[r * 2 * I + I + j] + b[I + j]);
            }
          const [got, cpu] = await onDevices(device, (d) => {
            const out = geglu(tensor(x, [rows, 2 * I], { dtype, device: d }),
              withBias ? tensor(b, [2 * I], { dtype, device: d }) : undefined);
            expect(out.shape).toEqual([rows, I]);
            expect(out.dtype).toBe(dtype);
            return out;
          });
          // Bound per element: a few f32 ulp (erfcf, the sums and products), plus
          // the f32 conditioning of gelu's tail (the rounding of a = x + b and of
          // a / sqrt 2 moves gelu(a) by ~a^2 2^-24 relative for a << 0), plus, for
          // f16/bf16, one ulp (2u) of output rounding and f16's subnormal step.
          const bound = (i: number) => {
            const a = gate[i], tail = a < 0 ? 8 * a * a * EPS.f32 : 0;
            return (dtype === 'f16' ? 1e-7 : 1e-30) + Math.abs(want[i]) * (2e-6 + tail + (dtype === 'f32' ? 0 : 2 * EPS[dtype]));
          };
          expectWithin(got, Array.from(want, (v) => roundTo(dtype, v)), bound, 'geglu vs float64');
          if (cpu) expectWithin(got, cpu, (i) => 2 * bound(i), 'geglu vs cpu');
        });
      }

  it('reads a row-strided view in place and a 3-D x, matching the contiguous result', async () => {
    for (const [rows, I, pad] of [[6, 8, 8], [4, 7, 3]]) {
      const W = 2 * I + pad;
      const wide = tensor(Array.from(randn(rows * W, 31)), [rows, W], { device });
      const view = wide.narrow(1, pad, 2 * I); // rows W apart, starting `pad` in
      const bias = tensor(Array.from(randn(2 * I, 32)), [2 * I], { device });
      const want = await read(geglu(view.contiguous(), bias));
      expectClose(await read(geglu(view, bias)), want, { atol: 0, rtol: 0 }, `view [${rows}, ${2 * I}] of width ${W}`);
      const x3 = view.contiguous().reshape([2, rows / 2, 2 * I]);
      const out3 = geglu(x3, bias);
      expect(out3.shape).toEqual([2, rows / 2, I]);
      expectClose(await read(out3), want, { atol: 0, rtol: 0 }, '3-D x');
      // A transposed (non-row) layout is made contiguous first.
      const xt = view.contiguous().transpose().contiguous().transpose();
      expectClose(await read(geglu(xt, bias)), want, { atol: 0, rtol: 0 }, 'column-major x');
    }
  });

  it('rejects an odd last dim, a bias of the wrong size or dtype, and integer x', () => {
    const x = tensor(new Float32Array(12), [2, 6], { device });
    expect(() => geglu(tensor(new Float32Array(6), [2, 3], { device })))
      .toThrow(expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('even last dim') }));
    expect(() => geglu(x, tensor(new Float32Array(3), [3], { device })))
      .toThrow(expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('bias must be [6]') }));
    expect(() => geglu(x, tensor(new Float32Array(6), [6], { device, dtype: 'bf16' })))
      .toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
    expect(() => geglu(tensor(new Int32Array(4), [2, 2], { device }))).toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
    if (device !== 'cpu')
      expect(() => geglu(x, tensor(new Float32Array(6), [6]))).toThrow(expect.objectContaining({ code: 'ERR_DEVICE' }));
  });
});

describeDevices('addLayerNorm', (device) => {
  const shapes: number[][] = [[1, 1], [3, 7], [1, 768], [1000, 768], [2, 3, 7], [5, 16384]];
  for (const dtype of FLOATS)
    for (const shape of shapes) {
      it(`${dtype} [${shape}]`, async () => {
        const cols = shape[shape.length - 1], rows = shape.reduce((a, b) => a * b, 1) / cols;
        const eps = 1e-12; // DNABERT-2's
        // A large shared offset (split between x and residual) stresses the variance.
        const x = Array.from(randn(rows * cols, rows + cols), (v, i) => roundTo(dtype, 2 * v + (i % 3 ? 30 : 0)));
        const res = Array.from(randn(rows * cols, cols + 5), (v, i) => roundTo(dtype, v + (i % 3 ? 20 : 0)));
        const w = rounded(dtype, cols, 2, 0.1).map((v) => roundTo(dtype, 1 + v));
        const b = rounded(dtype, cols, 3);
        // The op normalises the sum rounded once to the dtype.
        const ref = layerNorm64(x.map((v, i) => roundTo(dtype, v + res[i])), w, b, rows, cols, eps);
        const results: Record<string, Float32Array>[] = [];
        for (const d of device === 'cpu' ? ['cpu'] : [device, 'cpu']) {
          const xt = tensor(x, shape, { dtype, device: d }), rt = tensor(res, shape, { dtype, device: d });
          const wt = tensor(w, [cols], { dtype, device: d }), bt = tensor(b, [cols], { dtype, device: d });
          const fused = addLayerNorm(xt, rt, wt, bt, eps);
          expect(fused.out.shape).toEqual(shape);
          expect(fused.mean.shape).toEqual(shape.slice(0, -1));
          const sum = add(xt, rt);
          const unfused = layerNorm(sum, wt, bt, eps);
          sum.dispose();
          const inference = addLayerNormOut(xt, rt, wt, bt, eps);  // no saved statistics
          expect(inference.shape).toEqual(shape);
          results.push({ out: await read(fused.out), mean: await read(fused.mean), rstd: await read(fused.rstd),
            outUnfused: await read(unfused.out), meanUnfused: await read(unfused.mean), rstdUnfused: await read(unfused.rstd),
            outInference: await read(inference) });
        }
        const [got] = results;
        const u = dtype === 'f32' ? 1e-5 : 2 * EPS[dtype];
        expectClose(got.out, Array.from(ref.out, (v) => roundTo(dtype, v)), { atol: 4 * u, rtol: 2 * u }, 'out');
        expectClose(got.mean, ref.mean, { atol: 1e-5, rtol: 1e-6 }, 'mean');
        expectClose(got.rstd, ref.rstd, { atol: 0, rtol: 1e-4 }, 'rstd');
        // Fused == layerNorm(add(x, residual)) bit for bit on the same backend.
        for (const k of ['out', 'mean', 'rstd'])
          expectClose(got[k], got[`${k}Unfused`], { atol: 0, rtol: 0 }, `${k} vs layerNorm(add(x, residual))`);
        expectClose(got.outInference, got.out, { atol: 0, rtol: 0 }, 'addLayerNormOut vs addLayerNorm');
        if (results.length === 2)
          for (const k of ['out', 'mean', 'rstd'])
            expectClose(got[k], results[1][k], { atol: 4 * u, rtol: 2 * u }, `${k} vs cpu`);
      });
    }

  it('rejects a residual of another shape or dtype and parameters of the wrong size', () => {
    const x = tensor(new Float32Array(12), [3, 4], { device });
    const w = tensor(new Float32Array(4), [4], { device }), b = tensor(new Float32Array(4), [4], { device });
    expect(() => addLayerNorm(x, tensor(new Float32Array(12), [4, 3], { device }), w, b))
      .toThrow(expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('addLayerNorm: residual [4, 3]') }));
    expect(() => addLayerNorm(x, tensor(new Float32Array(12), [3, 4], { device, dtype: 'f16' }), w, b))
      .toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
    expect(() => addLayerNorm(x, x, tensor(new Float32Array(3), [3], { device }), b))
      .toThrow(expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('weight must be [4]') }));
    if (device !== 'cpu')
      expect(() => addLayerNorm(x, tensor(new Float32Array(12), [3, 4]), w, b)).toThrow(expect.objectContaining({ code: 'ERR_DEVICE' }));
  });
});

describeDevices('linearGeglu', (device) => {
  // T tokens, hidden H, intermediate I. The last case is large enough for the
  // Hopper GEMM with the GEGLU epilogue (128 x 128 tiles >= the H100's 132 SMs).
  // I 40 and 96 are no multiple of the fused kernel's block: packGeglu keeps w as given.
  const cases: [Float, number[], number, number][] = [
    ['f32', [1], 8, 64], ['f16', [37], 40, 128], ['bf16', [2, 9], 24, 192], ['f32', [3, 5], 72, 64],
    ['f16', [1100], 136, 1088], ['bf16', [1030], 64, 1152], ['f32', [7], 16, 40], ['f16', [3, 4], 24, 96],
    ['bf16', [5], 8, 40],
  ];
  for (const [dtype, lead, H, I] of cases) {
    it(`${dtype} x [${lead}, ${H}], I ${I} against float64`, async () => {
      const T = lead.reduce((a, b) => a * b, 1);
      const x = rounded(dtype, T * H, T + H, 1);
      const w = rounded(dtype, 2 * I * H, I + H, 1 / Math.sqrt(H));
      // float64: gate = x Wg^T (rows 0..I-1 of w), up = x Wu^T (rows I..2I-1).
      const want = new Float64Array(T * I), sums = new Float64Array(T * I);
      for (let t = 0; t < T; t++)
        for (let i = 0; i < I; i++) {
          let g = 0, u = 0, a = 0;
          for (let h = 0; h < H; h++) {
            const xv = x[t * H + h];
            g += xv * w[i * H + h];
            u += xv * w[(I + i) * H + h];
            a += Math.abs(xv) * (Math.abs(w[i * H + h]) + Math.abs(w[(I + i) * H + h]));
          }
          want[t * I + i] = gelu64(g) * u;
          sums[t * I + i] = a * (1 + Math.abs(g) + Math.abs(u));
        }
      const wt = tensor(w, [2 * I, H], { dtype, device });
      const packed = packGeglu(wt);
      const y = linearGeglu(tensor(x, [...lead, H], { dtype, device }), packed);
      expect(y.shape).toEqual([...lead, I]);
      expect(y.dtype).toBe(dtype);
      const got = await read(y);
      // f32 sums (error <= H 2^-24 sum|terms|), the gate and up sums possibly
      // rounded to the dtype (unfused path), the product rounded once.
      const u = dtype === 'f32' ? 2 ** -24 : EPS[dtype];
      for (let i = 0; i < got.length; i++) {
        const bound = 4 * u * Math.abs(want[i]) + (H * 2 ** -23 + 3 * u) * sums[i] + 1e-30;
        if (!(Math.abs(got[i] - want[i]) <= bound))
          expect.fail(`element ${i}: got ${got[i]}, want ${want[i]} (bound ${bound})`);
      }
      for (const t of [wt, packed, y]) t.dispose();
    });
  }

  // A plain Tensor w is read as linearGeglu always read it: blocks of 64 gate
  // rows, each followed by the same 64 up rows; packGeglu packs to that where
  // the block divides I, and keeps w as given elsewhere.
  const blocked = (I: number) => [...Array(2 * I).keys()].map((r) => {
    const block = Math.floor(r / 128), j = r % 128;
    return (j < 64 ? 0 : I) + block * 64 + (j % 64);
  });

  it('packGeglu: the blocked layout where 64 divides I, w itself elsewhere; a plain w reads as blocked', async () => {
    const H = 2;
    for (const [I, want] of [[128, blocked(128)], [192, blocked(192)], [40, [...Array(80).keys()]]] as const) {
      const w = Array.from({ length: 2 * I * H }, (_, i) => Math.floor(i / H));  // row r holds r, r
      const packed = packGeglu(tensor(w, [2 * I, H], { device }));
      const got = await read(packed.tensor);
      expect(Array.from({ length: 2 * I }, (_, r) => got[r * H]), `I ${I}`).toEqual(want);
      packed.dispose();
    }
    const I = 128, Hx = 8;
    const w = rounded('f32', 2 * I * Hx, 5, 0.3), x = tensor(rounded('f32', 3 * Hx, 6), [3, Hx], { device });
    const plain = tensor(blocked(I).flatMap((r) => w.slice(r * Hx, (r + 1) * Hx)), [2 * I, Hx], { device });
    using packed = packGeglu(tensor(w, [2 * I, Hx], { device }));
    expect(Array.from(await read(linearGeglu(x, plain)))).toEqual(Array.from(await read(linearGeglu(x, packed))));
  });

  it('rejects I not a multiple of 64 in a plain w, mismatched shapes and a disposed packed weight', () => {
    const x = tensor(new Float32Array(8), [2, 4], { device });
    expect(() => linearGeglu(x, tensor(new Float32Array(2 * 32 * 4), [64, 4], { device })))
      .toThrow(expect.objectContaining({ code: 'ERR_SHAPE' }));
    expect(() => packGeglu(tensor(new Float32Array(3 * 4), [3, 4], { device })))
      .toThrow(expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('packGeglu') }));
    for (const I of [32, 64]) {
      const packed = packGeglu(tensor(new Float32Array(2 * I * 3), [2 * I, 3], { device }));
      expect(() => linearGeglu(x, packed))
        .toThrow(expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('linearGeglu') }));
      packed.dispose();
      expect(() => linearGeglu(x, packed)).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
    }
    expect(() => linearGeglu(x, packGeglu(tensor(new Float32Array(64 * 4), [64, 4], { device, dtype: 'f16' }))))
      .toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
    expect(() => linearGeglu(x, tensor(new Float32Array(128 * 3), [128, 3], { device })))
      .toThrow(expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('linearGeglu') }));
    expect(() => linearGeglu(x, tensor(new Float32Array(128 * 4), [128, 4], { device, dtype: 'f16' })))
      .toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
  });
});
