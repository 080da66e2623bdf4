// Outlier statistics (lib/metrics): per-tensor kurtosis (GERM appendix), mean
// per-token kurtosis (GERM evaluation code), max |x| per tensor / channel /
// token, one-shot and streamed, each against a float64 reference written
// here and, on a GPU, against the CPU backend.
//
// Tolerances (relative, on values the reference computes from the very
// inputs the op sees, so only the op's own arithmetic counts):
//   cpu : f64 accumulation: scalars 1e-9; per-token values are stored as f32: 2e-7
//   cuda: per-element power sums in f32 around an f32 segment mean, merged in
//         f64: 2e-5 for every kurtosis, against float64 and against the cpu
//   max |x| is exact everywhere (a max of the inputs themselves).
import { describe, expect, it } from 'vitest';
import { type Tensor, GermError, OutlierStats, absMax, kurtosis, tensor, tokenKurtosis } from '../lib/index';
import { native } from '../lib/native';
import { expectClose } from './helpers/compare';
import { describeDevices } from './helpers/devices';
import { roundTo } from './helpers/float16';
import { randn, rng } from './helpers/random';

type Float = 'f32' | 'f16' | 'bf16';

const TOL = {
  cpu: { scalar: 1e-9, token: 2e-7 },
  cuda: { scalar: 2e-5, token: 2e-5 },
};
const tolFor = (device: string) => (device === 'cpu' ? TOL.cpu : TOL.cuda);
const EXACT = { atol: 0, rtol: 0 };

interface Ref {
  count: number;
  kurtosis: number;
  perToken: Float64Array;
  tokenMean: number;
  absMax: number;
  channel: Float64Array;
  token: Float64Array;
}

/** Central sums (two-pass, f64) of x[start + i * step] for i < n. */
function central(x: ArrayLike<number>, start: number, n: number, step: number): { m2: number; m4: number } {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[start + i * step];
  const mean = s / n;
  let m2 = 0, m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[start + i * step] - mean;
    m2 += d * d;
    m4 += d * d * d * d;
  }
  return { m2, m4 };
}

function ref64(x: ArrayLike<number>, rows: number, cols: number): Ref {
  const n = rows * cols;
  const { m2, m4 } = central(x, 0, n, 1);
  const perToken = new Float64Array(rows), token = new Float64Array(rows), channel = new Float64Array(cols);
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    const c = central(x, r * cols, cols, 1);
    const v = c.m2 / (cols - 1);
    perToken[r] = c.m4 / cols / (v * v + 1e-6);
    sum += perToken[r];
    for (let j = 0; j < cols; j++) {
      const a = Math.abs(x[r * cols + j]);
      token[r] = Math.max(token[r], a);
      channel[j] = Math.max(channel[j], a);
    }
  }
  return { count: n, kurtosis: (n * m4) / (m2 * m2), perToken, tokenMean: sum / rows, absMax: Math.max(...channel),
    channel, token };
}

interface Got {
  kurtosis: number;
  perToken: Float32Array;
  tokenMean: number;
  absMax: number;
  channel: Float32Array;
  token: Float32Array;
  tokenShape: number[];
}

async function read(t: Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** Every one-shot statistic of x on `device`. */
async function oneShot(device: string, data: Float32Array | number[], shape: number[], dtype: Float): Promise<Got> {
  const x = tensor(data, shape, { dtype, device });
  const tok = absMax(x, 'token');
  const tokenShape = tok.shape;
  const whole = absMax(x, 'tensor');
  expect(whole.shape).toEqual([]);
  const [k, tk, channel, token, all] = await Promise.all([kurtosis(x), tokenKurtosis(x), read(absMax(x, 'channel')),
    read(tok), read(whole)]);
  x.dispose();
  return { kurtosis: k, perToken: tk.perToken, tokenMean: tk.mean, absMax: all[0], channel, token, tokenShape };
}

/** The statistics both sides of a comparison have. */
interface Stats {
  kurtosis: number;
  perToken: ArrayLike<number>;
  tokenMean: number;
  absMax: number;
  channel: ArrayLike<number>;
  token: ArrayLike<number>;
}

function compare(got: Stats, want: Stats, tol: { scalar: number; token: number }, what: string) {
  const s = { atol: 0, rtol: tol.scalar };
  expectClose([got.kurtosis], [want.kurtosis], s, `${what}: kurtosis`);
  expectClose([got.tokenMean], [want.tokenMean], s, `${what}: mean token kurtosis`);
  expectClose(got.perToken, want.perToken, { atol: 0, rtol: tol.token }, `${what}: token kurtosis`);
  expectClose([got.absMax], [want.absMax], EXACT, `${what}: max |x|`);
  expectClose(got.channel, want.channel, EXACT, `${what}: channel max |x|`);
  expectClose(got.token, want.token, EXACT, `${what}: token max |x|`);
}

/** Checks x's statistics on device against float64 and, on a GPU, the cpu backend. */
async function checkStats(device: string, data: Float32Array | number[], shape: number[], dtype: Float = 'f32') {
  const cols = shape[shape.length - 1], rows = data.length / cols;
  const got = await oneShot(device, data, shape, dtype);
  expect(got.tokenShape).toEqual(shape.length > 1 ? shape.slice(0, -1) : [1]);
  compare(got, ref64(data, rows, cols), tolFor(device), `${dtype} [${shape}] on ${device} vs float64`);
  if (device !== 'cpu') {
    const cpu = await oneShot('cpu', data, shape, dtype);
    compare(got, cpu, TOL.cuda, `${dtype} [${shape}] ${device} vs cpu`);
  }
}

const offset = (x: Float32Array, by: number) => x.map((v) => v + by);

describeDevices('outlier statistics', (device) => {
  // 1 x 7, 13 x 1 (rows of one value: token kurtosis NaN, as torch.std's n - 1
  // gives), BERT-base width, a row spanning several GPU segments (1024) and a
  // row longer than the CPU's 64 Ki slice.
  for (const [rows, cols] of [[1, 7], [13, 1], [1000, 768], [5, 2500], [2, 70001]])
    it(`matches float64 on N(0,1) [${rows}, ${cols}]`, async () => {
      await checkStats(device, randn(rows * cols, rows * 31 + cols), [rows, cols]);
    });

  it('13 x 1: one value per token gives NaN token kurtosis, a finite tensor kurtosis', async () => {
    const got = await oneShot(device, randn(13, 5), [13, 1], 'f32');
    expect(got.perToken.every(Number.isNaN)).toBe(true);
    expect(Number.isFinite(got.kurtosis)).toBe(true);
  });

  it('stays accurate with a large mean (1e4 + N(0,1))', async () => {
    const data = offset(randn(64 * 1000, 77), 1e4);
    await checkStats(device, data, [64, 1000]);
    // A Gaussian's kurtosis is 3: a one-pass E[x^4] formula would be off by orders here.
    const k = await kurtosis(tensor(data, [64, 1000], { device }));
    expect(Math.abs(k - 3)).toBeLessThan(0.1);
  });

  it('heavy-tailed activations with outlier channels', async () => {
    const rows = 200, cols = 384, r = rng(9);
    const data = randn(rows * cols, 10);
    for (let i = 0; i < rows; i++) {
      data[i * cols + 17] *= 60; // an outlier channel, as softmax attention grows them
      if (r() < 0.05) data[i * cols + Math.floor(r() * cols)] = (r() < 0.5 ? -1 : 1) * 800 * r();
    }
    await checkStats(device, data, [rows, cols]);
    const got = await oneShot(device, data, [rows, cols], 'f32');
    expect(got.kurtosis).toBeGreaterThan(100);
    expect(got.channel[17]).toBeGreaterThan(20 * Math.max(...got.channel.filter((_, j) => j !== 17).slice(0, 10)));
  });

  it('constant rows: the 1e-6 guard, and NaN for a constant tensor', async () => {
    const cols = 64;
    const data = new Float32Array(3 * cols);
    data.fill(2.5, 0, cols); // std 0: 0 / (0 + 1e-6) = 0
    for (let j = 0; j < cols; j++) data[cols + j] = 1 + (j % 2 ? 1e-3 : -1e-3); // std^4 ~ 1e-12 << 1e-6
    data.set(randn(cols, 3), 2 * cols);
    await checkStats(device, data, [3, cols]);
    const { perToken } = await tokenKurtosis(tensor(data, [3, cols], { device }));
    expect(perToken[0]).toBe(0);
    // Without the guard the near-constant row's kurtosis would be ~1; with it, ~1e-6.
    expect(perToken[1]).toBeLessThan(1e-3);
    expect(Number.isNaN(await kurtosis(tensor(new Float32Array(40).fill(2.5), [4, 10], { device })))).toBe(true);
  });

  for (const dtype of ['f16', 'bf16'] as const)
    it(`${dtype} inputs match float64 on the rounded values`, async () => {
      const data = Array.from(randn(37 * 300, 41, 3), (v) => roundTo(dtype, v + 2));
      await checkStats(device, data, [37, 300], dtype);
    });

  it('flattens leading dims into tokens; 1-D is one token; strided views are read correctly', async () => {
    const data = randn(2 * 5 * 24, 12);
    await checkStats(device, data, [2, 5, 24]);
    await checkStats(device, data, [240]);
    const x = tensor(data, [10, 24], { device });
    const t = x.transpose(); // [24, 10], not contiguous
    const want = ref64(Array.from({ length: 240 }, (_, i) => data[(i % 10) * 24 + Math.floor(i / 10)]), 24, 10);
    expectClose(await read(absMax(t, 'channel')), want.channel, EXACT, 'channel max |x| of a transposed view');
    expectClose([await kurtosis(t)], [want.kurtosis], { atol: 0, rtol: tolFor(device).scalar }, 'kurtosis of a view');
  });

  it('streaming over batches equals the one-shot statistics of their concatenation', async () => {
    // Batches of different sizes and means, so the merge really moves the mean.
    const cols = 96, sizes = [1, 7, 100, 192, 3];
    const batches = sizes.map((rows, b) => offset(randn(rows * cols, 100 + b), 3 * b - 4));
    const all = new Float32Array(sizes.reduce((a, b) => a + b, 0) * cols);
    let at = 0;
    for (const b of batches) {
      all.set(b, at);
      at += b.length;
    }
    const acc = new OutlierStats(device);
    batches.forEach((b, i) => acc.update(tensor(b, i === 2 ? [4, 25, cols] : [b.length / cols, cols], { device })));
    const res = await acc.result();
    const rows = all.length / cols, want = ref64(all, rows, cols);
    const tol = { atol: 0, rtol: tolFor(device).scalar };
    expect(res.count).toBe(all.length);
    expect(res.tokens).toBe(rows);
    expectClose([res.kurtosis], [want.kurtosis], tol, 'streamed kurtosis vs float64');
    expectClose([res.tokenKurtosis], [want.tokenMean], tol, 'streamed token kurtosis vs float64');
    expectClose([res.mean], [all.reduce((a, v) => a + v, 0) / all.length], tol, 'streamed mean');
    expectClose([res.absMax], [want.absMax], EXACT, 'streamed max |x|');
    expectClose(res.channelAbsMax, want.channel, EXACT, 'streamed channel max |x|');
    // ... and the one-shot op on the concatenation agrees to the same tolerance.
    const one = await oneShot(device, all, [rows, cols], 'f32');
    expectClose([res.kurtosis], [one.kurtosis], tol, 'streamed vs one-shot kurtosis');
    expectClose([res.tokenKurtosis], [one.tokenMean], tol, 'streamed vs one-shot token kurtosis');
    acc.reset();
    await expect(acc.result()).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  it('streams 8.4M elements with a large, drifting mean', async () => {
    // 16 batches of [256, 2048]: x = 1e4 + b / 2 + N(0,1). The float64
    // reference is two-pass over the regenerated batches.
    const rows = 256, cols = 2048, nb = 16, base = randn(rows * cols, 2024);
    const batch = (b: number) => base.map((v, i) => v * (1 + ((i + b) % 7) / 7) + 1e4 + b / 2);
    const acc = new OutlierStats(device);
    let sum = 0, n = 0;
    for (let b = 0; b < nb; b++) {
      const x = batch(b);
      for (const v of x) sum += v;
      n += x.length;
      acc.update(tensor(x, [rows, cols], { device }));
    }
    const mean = sum / n;
    let m2 = 0, m4 = 0;
    for (let b = 0; b < nb; b++)
      for (const v of batch(b)) {
        const d = v - mean;
        m2 += d * d;
        m4 += d * d * d * d;
      }
    const res = await acc.result();
    expect(res.count).toBe(n);
    const tol = { atol: 0, rtol: tolFor(device).scalar };
    expectClose([res.mean], [mean], tol, 'mean');
    expectClose([res.kurtosis], [(n * m4) / (m2 * m2)], tol, 'kurtosis of 8.4M elements');
  });
});

describe('outlier statistics: typed errors', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(GermError);
      return (e as GermError).code;
    }
    return 'no error';
  };
  it('rejects bad input with the op named', async () => {
    expect(code(() => absMax(tensor([1, 2, 3], [3], { dtype: 'i32' }), 'tensor'))).toBe('ERR_DTYPE');
    expect(code(() => absMax(tensor(new Float32Array(0), [0, 4]), 'channel'))).toBe('ERR_SHAPE');
    expect(code(() => absMax(tensor([1, 2], [2]), 'rows' as 'token'))).toBe('ERR_INVALID_ARGUMENT');
    await expect(kurtosis(tensor([1, 2, 3], [3], { dtype: 'i8' }))).rejects.toMatchObject({ code: 'ERR_DTYPE' });
    await expect(tokenKurtosis(tensor(new Float32Array(0), [3, 0]))).rejects.toThrow(/outlierStats: x is empty \[3, 0\]/);
    const acc = new OutlierStats();
    acc.update(tensor(randn(12, 1), [3, 4]));
    expect(code(() => acc.update(tensor(randn(10, 1), [2, 5])))).toBe('ERR_SHAPE');
    expect(code(() => new OutlierStats('cuda:0').update(tensor([1, 2], [1, 2])))).toBe('ERR_DEVICE');
    await expect(new OutlierStats().result()).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    // A state that is not the 64-byte one the op returned.
    const x = tensor([1, 2, 3, 4], [2, 2]);
    expect(code(() => native().outlierStats(x.handle, tensor([1, 2], [2]).handle))).toBe('ERR_INVALID_ARGUMENT');
  });
});
