// Regressions for the fuzzing report's native findings: strided attention
// rows (1), a buffer detached while tensor() parses its shape (6), view bounds
// through int64 overflow (8), and the executor's backpressure. The crash
// reproductions run in a child process that loads the addon directly (the
// file native() loaded), so a segfault fails one test, not the whole run.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type AttentionOptions, Tensor, attentionBackward, attentionForward, tensor } from '../lib/index';
import { native, nativePath } from '../lib/native';
import { describeDevices } from './helpers/devices';
import { randn } from './helpers/random';

native();
const ADDON = nativePath() as string;

/** Runs `body` in a fresh Node process with `g` = the native addon; returns the exit status and output. */
function child(body: string, env: Record<string, string> = {}) {
  const code = `const g = require(${JSON.stringify(ADDON)});\n${body}`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', code], {
    encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env },
  });
  return { status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}` };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// Finding 1. The kernels read the same f32 values in the same order whatever
// the row stride, so a strided view and its contiguous copy must agree to
// rounding noise: max |difference| <= 1e-6 (the bug was off by up to 0.8).
const TIGHT = 1e-6;

describeDevices('finding 1: attention on strided q/k/v views (padded and packed layouts)', (device) => {
  it('matches the fuzzer repro: S = 1, B = 2, q/k/v narrowed out of a fused QKV tensor', async () => {
    const qkv = tensor(Float32Array.from({ length: 48 }, (_, i) => Math.sin(i)), [2, 1, 6, 4], { device });
    const [q, k, v] = [0, 1, 2].map((j) => qkv.narrow(2, 2 * j, 2));
    const strided = attentionForward(q, k, v).out;
    const copied = attentionForward(q.contiguous(), k.contiguous(), v.contiguous()).out;
    expect(maxAbsDiff(await strided.data(), await copied.data())).toBeLessThanOrEqual(TIGHT);
  });

  const combos: Array<[number, number, number]> = [];
  for (const S of [0, 1, 2, 3]) for (const B of [1, 2, 3]) for (const H of [1, 2]) combos.push([B, S, H]);
  const variants: Array<{ name: string; opts: AttentionOptions }> = [
    { name: 'plain', opts: {} },
    { name: 'causal + alibi', opts: { causal: true, alibi: true } },
  ];

  it.each(combos)('forward and backward, B=%i S=%i H=%i, views of a fused [B, S, 3H, D]', async (B, S, H) => {
    const D = 8;
    for (const { opts } of variants) {
      const qkv = tensor(randn(B * S * 3 * H * D, 100 * B + 10 * S + H), [B, S, 3 * H, D], { device });
      const [q, k, v] = [0, 1, 2].map((j) => qkv.narrow(2, j * H, H));
      const dO = tensor(randn(B * S * 3 * H * D, 7 + B + S + H), [B, S, 3 * H, D], { device }).narrow(2, H, H);
      const [qc, kc, vc, dOc] = [q, k, v, dO].map((t) => t.contiguous());
      const a = attentionForward(q, k, v, opts), b = attentionForward(qc, kc, vc, opts);
      expect(maxAbsDiff(await a.out.data(), await b.out.data())).toBeLessThanOrEqual(TIGHT);
      expect(maxAbsDiff(await a.lse.data(), await b.lse.data())).toBeLessThanOrEqual(TIGHT);
      // Backward with a strided dout and a strided saved output: out's rows
      // placed in the second half of a [B, S, 2H, D] tensor.
      const outRows = await a.out.data(), wide = new Float32Array(B * S * 2 * H * D);
      for (let r = 0; r < B * S; r++) wide.set(outRows.subarray(r * H * D, (r + 1) * H * D), (2 * r + 1) * H * D);
      const outView = tensor(wide, [B, S, 2 * H, D], { device }).narrow(2, H, H);
      const ga = attentionBackward(dO, q, k, v, { out: outView, lse: a.lse, seed: a.seed }, opts);
      const gb = attentionBackward(dOc, qc, kc, vc, { out: b.out, lse: b.lse, seed: b.seed }, opts);
      for (const key of ['dq', 'dk', 'dv'] as const)
        expect(maxAbsDiff(await ga[key].data(), await gb[key].data()), key).toBeLessThanOrEqual(TIGHT);
    }
  });

  it.each([[1, 2], [2, 2], [1, 3], [3, 1]])('transposed [S, B] storage read as [B, S]: B=%i S=%i', async (B, S) => {
    const H = 2, D = 4;
    const make = (seed: number) => tensor(randn(S * B * H * D, seed), [S, B, H, D], { device }).transpose(0, 1);
    const [q, k, v] = [1, 2, 3].map(make);
    const a = attentionForward(q, k, v), b = attentionForward(q.contiguous(), k.contiguous(), v.contiguous());
    expect(maxAbsDiff(await a.out.data(), await b.out.data())).toBeLessThanOrEqual(TIGHT);
  });

  it('a batch-broadcast view (batch stride 0) reads the same rows for every batch entry', async () => {
    for (const S of [1, 3]) {
      const H = 2, D = 4, B = 3;
      const base = tensor(randn(S * H * D, 5 + S), [1, S, H, D], { device });
      const bcast = new Tensor(native().view(base.handle, [B, S, H, D], [0, H * D, D, 1], 0));
      const a = attentionForward(bcast, bcast, bcast), b = attentionForward(bcast.contiguous(), bcast.contiguous(), bcast.contiguous());
      expect(maxAbsDiff(await a.out.data(), await b.out.data())).toBeLessThanOrEqual(TIGHT);
    }
  });

  it('packed layout: T = 1 and T = 3 tokens, strided rows', async () => {
    for (const T of [1, 3]) {
      const H = 2, D = 4;
      const qkv = tensor(randn(T * 3 * H * D, 40 + T), [T, 3 * H, D], { device });
      const [q, k, v] = [0, 1, 2].map((j) => qkv.narrow(1, j * H, H));
      const opts = { cuSeqlens: T === 1 ? [0, 1] : [0, 1, 3] } as AttentionOptions;
      const a = attentionForward(q, k, v, opts), b = attentionForward(q.contiguous(), k.contiguous(), v.contiguous(), opts);
      expect(maxAbsDiff(await a.out.data(), await b.out.data())).toBeLessThanOrEqual(TIGHT);
    }
  });
});

// Found by the property suite on CUDA: a padded batch whose every length is 0
// (no live query row) made attentionBackward launch an empty grid
// (cudaErrorInvalidValue). No gradient flows: dq, dk, dv are zero.
describeDevices('attentionBackward with every query length 0', (device) => {
  it.each(['f32', 'f16'] as const)('%s: zero gradients, no error', async (dtype) => {
    for (const [B, S, D] of [[1, 1, 32], [2, 3, 64], [3, 5, 8]]) {
      const make = (seed: number) => tensor(randn(B * S * 2 * D, seed), [B, S, 2, D], { device, dtype });
      const [q, k, v, dO] = [1, 2, 3, 4].map(make);
      const opts: AttentionOptions = { lengths: Array(B).fill(0) };
      const saved = attentionForward(q, k, v, opts);
      const g = attentionBackward(dO, q, k, v, saved, opts);
      for (const key of ['dq', 'dk', 'dv'] as const) {
        const got = await g[key].data();
        expect(got.length, key).toBe(B * S * 2 * D);
        expect(got.every((x) => x === 0), `${key} B=${B} S=${S} D=${D}`).toBe(true);
      }
    }
  });
});

// Finding 6: the shape getter detaches the buffer and forces GC while the
// addon still holds a pointer into it.
describe('finding 6: tensor() with a buffer detached by a shape getter', () => {
  const detachingShape = (dims: string) => `
    const data = new Float32Array(1 << 22), shape = [];
    Object.defineProperty(shape, 0, { enumerable: true, get() {
      structuredClone(data.buffer, { transfer: [data.buffer] });
      let j = []; for (let i = 0; i < 2e6; i++) { j.push({ i }); if (j.length > 1e5) j = []; }
      for (let i = 0; i < 20; i++) new ArrayBuffer(1 << 24);
      global.gc(); return ${dims}; } });`;

  it('gives ERR_INVALID_ARGUMENT, not a crash (typed array and DataView)', () => {
    for (const wrap of ['data', 'new DataView(data.buffer)']) {
      const r = child(`${detachingShape('1 << 22')}
        const arg = ${wrap};
        try { g.fromHost(arg, shape, 'f32', 'cpu'); console.log('NO ERROR'); process.exit(3); }
        catch (e) { console.log(e.code, e.message); process.exit(e.code === 'ERR_INVALID_ARGUMENT' ? 0 : 4); }`);
      expect(r, r.out).toMatchObject({ status: 0, signal: null });
      expect(r.out).toMatch(/ERR_INVALID_ARGUMENT .*detached/);
    }
  });

  it('a resizable buffer shrunk by the shape getter is a typed error', () => {
    const r = child(`
      const buf = new ArrayBuffer(4096, { maxByteLength: 4096 }), data = new Float32Array(buf), shape = [];
      Object.defineProperty(shape, 0, { enumerable: true, get() { buf.resize(0); global.gc(); return 1024; } });
      try { g.fromHost(data, shape, 'f32', 'cpu'); process.exit(3); }
      catch (e) { console.log(e.code, e.message); process.exit(['ERR_SHAPE', 'ERR_INVALID_ARGUMENT'].includes(e.code) ? 0 : 4); }`);
    expect(r, r.out).toMatchObject({ status: 0, signal: null });
  });

  it('an untouched buffer still works after the shape is parsed', () => {
    const r = child(`
      const data = Float32Array.from([1, 2, 3, 4]), shape = [];
      Object.defineProperty(shape, 0, { enumerable: true, get() { data[0] = 9; return 4; } });
      const t = g.fromHost(data, shape, 'f32', 'cpu');
      t.read().then((b) => { console.log(Array.from(new Float32Array(b)).join(',')); });`);
    expect(r, r.out).toMatchObject({ status: 0, signal: null });
    expect(r.out.trim()).toBe('9,2,3,4');
  });
});

// Finding 8: bounds checks must not wrap around int64.
describe('finding 8: view and allocation sizes are overflow-safe', () => {
  it('view(handle, [4097], [2**52], 0) is a typed error, not a segfault', () => {
    const r = child(`
      const t = g.full([4], 'f32', 'cpu', 1);
      const cases = [
        [[4097], [2 ** 52], 0], [[2 ** 52], [4097], 0], [[3, 2 ** 40], [2 ** 40, 2 ** 40], 0],
        [[2, 2], [1, 1], 2 ** 53], [[2], [1], 1e300], [[2], [1], -1], [[2], [1], 0.5], [[2], [1], NaN],
        [[2 ** 31, 2 ** 31, 2 ** 31], [0, 0, 0], 0], [[2, 2 ** 52], [2 ** 52, 4097], 0],
      ];
      let bad = 0;
      for (const [shape, strides, offset] of cases) {
        try { const v = g.view(t, shape, strides, offset); console.log('accepted', JSON.stringify([shape, strides, offset])); v.read(); bad++; }
        catch (e) { if (e.code !== 'ERR_SHAPE' && e.code !== 'ERR_INVALID_ARGUMENT') { console.log('wrong code', e.code, e.message); bad++; } }
      }
      process.exit(bad);`);
    expect(r, r.out).toMatchObject({ status: 0, signal: null });
  });

  it('allocations whose byte size overflows are typed errors', () => {
    const r = child(`
      let bad = 0;
      for (const [shape, dtype] of [[[2 ** 31, 2 ** 31, 2 ** 31], 'f32'], [[0, 2 ** 52, 2 ** 52], 'f32'], [[2 ** 53 - 1], 'f32']]) {
        try { const t = g.full(shape, dtype, 'cpu', 0); console.log('accepted', JSON.stringify(shape), JSON.stringify(t.shape)); }
        catch (e) { if (!['ERR_SHAPE', 'ERR_INVALID_ARGUMENT', 'ERR_OUT_OF_MEMORY'].includes(e.code)) { console.log('wrong code', e.code, e.message); bad++; } }
      }
      process.exit(bad);`);
    expect(r, r.out).toMatchObject({ status: 0, signal: null });
  });

  it('legal views at the edge of the storage still work', async () => {
    const t = tensor(Float32Array.from([0, 1, 2, 3, 4, 5]), [6]);
    const v = new Tensor(native().view(t.handle, [2, 2], [3, 2], 0));
    expect(Array.from(await v.data())).toEqual([0, 2, 3, 5]);
    expect(() => native().view(t.handle, [2, 2], [3, 2], 1)).toThrow(/outside its storage/);
    // Strides of size-1 dims are never used: their product is no size limit.
    const one = new Tensor(native().view(t.handle, [1, 1, 2], [2 ** 50, 2 ** 50, 1], 4));
    expect(Array.from(await one.data())).toEqual([4, 5]);
    // An empty view touches nothing, however large its other dims.
    expect(new Tensor(native().view(t.handle, [0, 2 ** 52, 2 ** 52], [1, 1, 1], 0)).size).toBe(0);
  });

  it('a shape array of length 2^32 - 1 is refused at once, not walked', () => {
    const huge: number[] = [];
    huge.length = 2 ** 32 - 1;
    const t0 = Date.now();
    expect(() => native().full(huge, 'f32', 'cpu', 0)).toThrow(/more than 16 dims/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

// Backpressure: queued ops used to keep their disposed inputs and outputs alive
// without bound. 20,000 matmuls of 128x128 f32 (64 KiB out), each disposed at
// once, in a fresh process so the peak is this loop's alone. Unbounded, most of
// the loop is queued at once (about 1.3 GB); bounded by the executor's queue
// limits (1024 ops / 1 GiB), the peak stays under 256 MiB.
describe('backpressure: a loop of small ops each disposed at once', () => {
  it('keeps peakAllocatedBytes under 256 MiB for 20,000 64 KiB matmuls', () => {
    const r = child(`
      const a = g.full([128, 128], 'f32', 'cpu', 0.01), b = g.full([128, 128], 'f32', 'cpu', 0.02);
      let mid = 0;
      for (let i = 0; i < 20000; i++) {
        const c = g.matmul(a, b, null, false, false, 1);
        c.dispose();
        if (i === 10000) mid = g.memoryStats('cpu').allocatedBytes;
      }
      g.synchronize('cpu').then(() => {
        const s = g.memoryStats('cpu');
        console.log(JSON.stringify({ mid, peak: s.peakAllocatedBytes, after: s.allocatedBytes }));
      });`);
    expect(r, r.out).toMatchObject({ status: 0, signal: null });
    const s = JSON.parse(r.out.trim().split('\n').pop() as string);
    expect(s.peak, r.out).toBeLessThan(256 * 2 ** 20);
  });

  it('does not deadlock while completions for the blocked JS thread pile up', () => {
    // Every op's read() settles through the JS thread, which is blocked in
    // submit whenever the queue is full: completions must still flow.
    const r = child(`
      const a = g.full([128, 128], 'f32', 'cpu', 0.01), b = g.full([128, 128], 'f32', 'cpu', 0.02);
      const reads = [];
      for (let i = 0; i < 4000; i++) {
        const c = g.matmul(a, b, null, false, false, 1);
        if (i % 4 === 0) reads.push(c.read());
        c.dispose();
      }
      Promise.all(reads).then((bufs) => console.log('ok', bufs.length, new Float32Array(bufs[999])[0].toFixed(4)));`);
    expect(r, r.out).toMatchObject({ status: 0, signal: null });
    expect(r.out.trim()).toBe('ok 1000 0.0256');
  });
});
