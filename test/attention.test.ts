import { expect, it } from 'vitest';
import {
  type AttentionOptions, type DType, alibiSlopes, attention, attentionBackward, attentionForward,
  gatedAttentionBackward, gatedAttentionForward, tensor,
} from '../lib/index';
import { read } from './helpers/check';
import { expectClose } from './helpers/compare';
import { describeDevices } from './helpers/devices';
import { roundTo } from './helpers/float16';
import { type AttnCase, attentionBackward64, attentionForward64, attentionRow64 } from './helpers/attention_ref';
import { randn } from './helpers/random';

interface Spec {
  B?: number; Sq: number; Sk?: number; H?: number; D?: number;
  normalizer?: AttnCase['normalizer']; causal?: boolean; alibi?: boolean; alibiMode?: 'symmetric' | 'causal';
  lengths?: number[]; packed?: boolean; dropout?: number; logitScale?: number; backward?: boolean;
  /** Scores of size |s| carry ~|s| sqrt(D) 2^-24 absolute error in f32, which moves p by that much. */
  tolScale?: number;
}

// Errors against float64: f32 is exact up to accumulation; the fused f16 / bf16
// kernels round P to the input dtype before P V, so their error is a few units
// of that dtype's rounding, relative to the output's scale.
const TOL: Record<string, { atol: number; rtol: number }> = {
  f32: { atol: 2e-5, rtol: 1e-4 }, f16: { atol: 4e-3, rtol: 4e-3 }, bf16: { atol: 3e-2, rtol: 3e-2 },
};

function build(spec: Spec, dtype: DType, seed: number) {
  const B = spec.B ?? 2, Sq = spec.Sq, Sk = spec.Sk ?? spec.Sq, H = spec.H ?? 3, D = spec.D ?? 32;
  const lensQ = spec.lengths ?? Array(B).fill(Sq), lensK = spec.lengths ?? Array(B).fill(Sk);
  const packed = spec.packed ?? false;
  const rowStart = packed ? lensQ.map((_, b) => lensQ.slice(0, b).reduce((a, x) => a + x, 0)) : lensQ.map((_, b) => b * Sq);
  const c: AttnCase = {
    B, Sq, Sk, H, D, normalizer: spec.normalizer ?? 'softmax1', causal: spec.causal ?? false,
    slopes: spec.alibi ? Array.from(alibiSlopes(H)) : null,
    symmetric: (spec.alibiMode ?? (spec.causal ? 'causal' : 'symmetric')) === 'symmetric',
    scale: 1 / Math.sqrt(D), zeta: 1, gamma: -0.03, dropout: spec.dropout ?? 0, seed: 1234 + seed, lensQ, lensK, rowStart,
    totalQ: packed ? lensQ.reduce((a, x) => a + x, 0) : B * Sq,
  };
  const ls = spec.logitScale ?? 1;
  const rnd = (n: number, s: number, scale: number) => Array.from(randn(n, s, scale), (x) => roundTo(dtype, x));
  const q = rnd(B * Sq * H * D, seed + 1, ls), k = rnd(B * Sk * H * D, seed + 2, ls), v = rnd(B * Sk * H * D, seed + 3, 1);
  const dout = rnd(B * Sq * H * D, seed + 4, 1);
  return { c, q, k, v, dout, packed };
}

// Packs the valid rows of a padded [B, S, H, D] array: the varlen layout.
function pack(x: number[], c: AttnCase, S: number, lens: number[]): number[] {
  const out: number[] = [], row = c.H * c.D;
  for (let b = 0; b < c.B; b++) for (let i = 0; i < lens[b]; i++) out.push(...x.slice((b * S + i) * row, (b * S + i + 1) * row));
  return out;
}

function optionsOf(spec: Spec, c: AttnCase): AttentionOptions {
  const cu = (lens: number[]) => [0, ...lens.map((_, b) => lens.slice(0, b + 1).reduce((a, x) => a + x, 0))];
  return {
    normalizer: c.normalizer, causal: c.causal, alibi: spec.alibi, alibiMode: spec.alibiMode, dropout: c.dropout, seed: c.seed,
    clip: { zeta: c.zeta, gamma: c.gamma },
    ...(spec.packed ? { cuSeqlens: cu(c.lensQ), cuSeqlensK: cu(c.lensK) } : spec.lengths ? { lengths: spec.lengths } : {}),
  };
}

async function runCase(device: string, dtype: DType, spec: Spec, seed = 0) {
  const { c, q, k, v, dout, packed } = build(spec, dtype, seed);
  const shape = (S: number, lens: number[]) => (packed ? [lens.reduce((a, x) => a + x, 0), c.H, c.D] : [c.B, S, c.H, c.D]);
  const lay = (x: number[], S: number, lens: number[]) => (packed ? pack(x, c, S, lens) : x);
  const opts = optionsOf(spec, c);
  const run = async (dev: string) => {
    const t = (x: number[], S: number, lens: number[]) => tensor(lay(x, S, lens), shape(S, lens), { dtype, device: dev });
    const tq = t(q, c.Sq, c.lensQ), tk = t(k, c.Sk, c.lensK), tv = t(v, c.Sk, c.lensK);
    const saved = attentionForward(tq, tk, tv, opts);
    const res: Record<string, Float32Array> = { out: (await saved.out.data()) as Float32Array, lse: (await saved.lse.data()) as Float32Array };
    if (spec.backward) {
      const g = attentionBackward(t(dout, c.Sq, c.lensQ), tq, tk, tv, saved, opts);
      res.dq = await read(g.dq);
      res.dk = await read(g.dk);
      res.dv = await read(g.dv);
    }
    return res;
  };
  const ref = attentionForward64(c, q, k, v);
  const tol = { atol: TOL[dtype].atol * (spec.tolScale ?? 1), rtol: TOL[dtype].rtol * (spec.tolScale ?? 1) };
  const got = await run(device);
  expectClose(got.out, lay(Array.from(ref.out), c.Sq, c.lensQ), tol, `out ${dtype} vs float64`);
  for (let h = 0; h < c.H; h++)
    for (const [key, want] of ref.lse) {
      const [hh, r] = key.split(',').map(Number);
      if (hh !== h) continue;
      const g = got.lse[h * c.totalQ + r];
      if (want === -Infinity) expect(g).toBe(-Infinity);
      else expect(Math.abs(g - want), `lse[${h},${r}] ${g} vs ${want}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want)) + (dtype === 'f32' ? 0 : 2e-3));
    }
  if (spec.backward) {
    const g = attentionBackward64(c, q, k, v, dout);
    const gt = { atol: tol.atol * 4, rtol: tol.rtol * 4 };
    expectClose(got.dq, lay(Array.from(g.dq), c.Sq, c.lensQ), gt, `dq ${dtype} vs float64`);
    expectClose(got.dk, lay(Array.from(g.dk), c.Sk, c.lensK), gt, `dk ${dtype} vs float64`);
    expectClose(got.dv, lay(Array.from(g.dv), c.Sk, c.lensK), gt, `dv ${dtype} vs float64`);
  }
  if (device !== 'cpu') {
    const cpu = await run('cpu');
    for (const key of Object.keys(got)) expectClose(got[key], cpu[key], { atol: tol.atol * 4, rtol: tol.rtol * 4 }, `${key}: ${device} vs cpu`);
  }
}

describeDevices('attention', (device) => {
  for (const dtype of ['f32', 'f16', 'bf16'] as const) {
    for (const normalizer of ['softmax1', 'softmax', 'clipped'] as const)
      for (const causal of [false, true])
        for (const alibi of [false, true])
          it(`${normalizer} ${dtype} causal=${causal} alibi=${alibi}, lengths 1/7/129, fwd+bwd`, async () => {
            for (const Sq of [1, 7, 129]) await runCase(device, dtype, { Sq, normalizer, causal, alibi, backward: Sq < 129 || dtype !== 'f32' }, Sq);
          });
    for (const D of [32, 64, 128])
      it(`head dim ${D} ${dtype}, softmax1 + ALiBi`, () => runCase(device, dtype, { Sq: 65, H: 2, D, alibi: true, backward: true }));
    it(`padded batch with a fully masked sequence ${dtype}`, () =>
      runCase(device, dtype, { B: 3, Sq: 70, lengths: [70, 33, 0], alibi: true, backward: true }));
    it(`packed varlen batch (cuSeqlens) ${dtype}`, () =>
      runCase(device, dtype, { B: 3, Sq: 70, lengths: [70, 33, 1], packed: true, alibi: true, causal: true, backward: true }));
    it(`cross attention, bottom-right causal, ${dtype}`, () =>
      runCase(device, dtype, { B: 1, Sq: 9, Sk: 40, causal: true, alibi: true, backward: true }));
    it(`extreme logits (|s| ~ 1e4) stay finite, ${dtype}`, () =>
      runCase(device, dtype, { B: 1, Sq: 33, D: 64, logitScale: 12, normalizer: 'softmax1', alibi: true, tolScale: 20 }));
    it(`dropout 0.1 with the contract's Philox mask, ${dtype}`, () =>
      runCase(device, dtype, { Sq: 40, dropout: 0.1, alibi: true, backward: true }));
  }
  it('a 1000-token sequence, f16', () => runCase(device, 'f16', { B: 1, Sq: 1000, H: 2, D: 64, alibi: true, causal: true }));

  it('a 16384-token sequence, f16: sampled rows vs float64, everything vs the cpu backend', async () => {
    const N = 16384, H = 2, D = 64;
    const { c, q, k, v } = build({ B: 1, Sq: N, H, D, alibi: true }, 'f16', 5);
    const run = async (dev: string) => {
      const t = (x: number[]) => tensor(x, [1, N, H, D], { dtype: 'f16', device: dev });
      const saved = attentionForward(t(q), t(k), t(v), { alibi: true });
      return { out: await read(saved.out), lse: await read(saved.lse) };
    };
    const got = await run(device);
    for (const i of [0, 1, 4095, 8191, 12345, N - 2, N - 1])
      for (let h = 0; h < H; h++) {
        const ref = attentionRow64(c, q, k, v, 0, h, i);
        const off = (i * H + h) * D;
        expectClose(got.out.subarray(off, off + D), Array.from(ref.out, (x) => roundTo('f16', x)), TOL.f16, `row ${i} head ${h}`);
        expect(Math.abs(got.lse[h * N + i] - ref.lse)).toBeLessThan(2e-3);
      }
    if (device !== 'cpu') {
      const cpu = await run('cpu');
      expectClose(got.out, cpu.out, { atol: 4 * TOL.f16.atol, rtol: 4 * TOL.f16.rtol }, `16k: ${device} vs cpu`);
    }
  });

  it('softmax1 lets a head attend to nothing: all-negative scores give ~0 output', async () => {
    const q = tensor(Array(1 * 4 * 1 * 8).fill(1), [1, 4, 1, 8], { device }), k = tensor(Array(32).fill(-4), [1, 4, 1, 8], { device });
    const v = tensor(Array(32).fill(1), [1, 4, 1, 8], { device });
    const one = await read(attention(q, k, v, { scale: 1 }));
    const plain = await read(attention(q, k, v, { scale: 1, normalizer: 'softmax' }));
    expect(Math.max(...one)).toBeLessThan(1e-12);
    expect(Math.min(...plain)).toBeCloseTo(1, 6);
  });

  it('gated attention: forward and gradients against float64', async () => {
    const B = 2, S = 5, H = 2, D = 4, C = 6;
    const x = Array.from(randn(B * S * C, 1)), wg = Array.from(randn(H * C, 2, 0.5)), bg = Array.from(randn(H, 3));
    const { c, q, k, v, dout } = build({ B, Sq: S, H, D, normalizer: 'softmax1' }, 'f32', 7);
    const ref = attentionForward64(c, q, k, v);
    const gate: number[] = [];
    for (let t = 0; t < B * S; t++)
      for (let h = 0; h < H; h++) {
        let z = bg[h];
        for (let j = 0; j < C; j++) z += x[t * C + j] * wg[h * C + j];
        gate.push(1 / (1 + Math.exp(-z)));
      }
    const want = Array.from(ref.out, (o, i) => o * gate[Math.floor(i / D)]);
    const t = (a: number[], s: number[]) => tensor(a, s, { device });
    const [tx, tq, tk, tv] = [t(x, [B, S, C]), t(q, [B, S, H, D]), t(k, [B, S, H, D]), t(v, [B, S, H, D])];
    const gp = { weight: t(wg, [H, C]), bias: t(bg, [H]) };
    const saved = gatedAttentionForward(tx, tq, tk, tv, gp);
    expectClose(await saved.gated.data(), want, TOL.f32, 'gated out');
    const g = gatedAttentionBackward(t(dout, [B, S, H, D]), tx, tq, tk, tv, gp, saved);
    // float64: d gate logit = sum_d dout * out * g (1 - g); d attention out = dout * g
    const dlogit = gate.map((gv, th) => {
      let s = 0;
      for (let d = 0; d < D; d++) s += dout[th * D + d] * ref.out[th * D + d];
      return s * gv * (1 - gv);
    });
    const dbias = Array.from({ length: H }, (_, h) => dlogit.filter((_, th) => th % H === h).reduce((a, b) => a + b, 0));
    const dW = Array.from({ length: H * C }, (_, i) => {
      const h = Math.floor(i / C), j = i % C;
      let s = 0;
      for (let tk2 = 0; tk2 < B * S; tk2++) s += dlogit[tk2 * H + h] * x[tk2 * C + j];
      return s;
    });
    const inner = attentionBackward64(c, q, k, v, dout.map((d, i) => d * gate[Math.floor(i / D)]));
    expectClose(await read(g.dbias), dbias, TOL.f32, 'dbias');
    expectClose(await read(g.dweight), dW, TOL.f32, 'dweight');
    expectClose(await read(g.dq), inner.dq, TOL.f32, 'dq through the gate');
  });

  it('rejects bad layouts, lengths and options with typed errors', () => {
    const q = tensor(new Float32Array(2 * 5 * 2 * 8), [2, 5, 2, 8], { device });
    const bad = tensor(new Float32Array(2 * 5 * 3 * 8), [2, 5, 3, 8], { device });
    expect(() => attention(q, bad, bad)).toThrow(expect.objectContaining({ code: 'ERR_SHAPE' }));
    expect(() => attention(q, q, q, { lengths: [5, 6] })).toThrow(expect.objectContaining({ code: 'ERR_SHAPE' }));
    expect(() => attention(q, q, q, { lengths: [5] })).toThrow(expect.objectContaining({ code: 'ERR_SHAPE' }));
    const packed = tensor(new Float32Array(10 * 2 * 8), [10, 2, 8], { device });
    expect(() => attention(packed, packed, packed)).toThrow(expect.objectContaining({ code: 'ERR_SHAPE', message: expect.stringContaining('cuSeqlens') }));
    expect(() => attention(packed, packed, packed, { cuSeqlens: [0, 4, 9] })).toThrow(expect.objectContaining({ code: 'ERR_SHAPE' }));
    expect(() => attention(q, q, q, { dropout: 1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => attention(q, q, q, { normalizer: 'sparsemax' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => attention(q, q, tensor(new Float32Array(160), [2, 5, 2, 8], { device, dtype: 'f16' }))).toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
    for (const dropout of [1, -0.5, NaN, '0.1'])
      expect(() => attentionBackward(q, q, q, q, { out: q, lse: q, seed: 1 }, { dropout: dropout as number }))
        .toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('dropout') }));
  });

  it('the native defaults: alibi: true is alibiSlopes(heads), alibiMode follows causal, clip is zeta 1, gamma -0.03', async () => {
    const [B, S, H, D] = [2, 5, 12, 8];
    const mk = (seed: number) => tensor(randn(B * S * H * D, seed), [B, S, H, D], { device });
    const q = mk(1), k = mk(2), v = mk(3);
    const same = async (a: AttentionOptions, b: AttentionOptions) =>
      expect(Array.from(await read(attention(q, k, v, a)))).toEqual(Array.from(await read(attention(q, k, v, b))));
    await same({ alibi: true }, { alibi: alibiSlopes(H), alibiMode: 'symmetric' });
    await same({ alibi: true, causal: true }, { alibi: alibiSlopes(H), alibiMode: 'causal', causal: true });
    await same({ normalizer: 'clipped' }, { normalizer: 'clipped', clip: { zeta: 1, gamma: -0.03 } });
  });
});

it('ALiBi slopes follow the published rule, for powers of two and not', () => {
  expect(Array.from(alibiSlopes(8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => Math.fround(2 ** -i)));
  // 12 heads (DNABERT-2): the 8-head slopes, then every other 16-head slope.
  const want = [...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => 2 ** -i), ...[0.5, 1.5, 2.5, 3.5].map((i) => 2 ** -i)];
  expect(Array.from(alibiSlopes(12))).toEqual(want.map(Math.fround));
});

it('the float64 reference gradients match central finite differences', () => {
  for (const normalizer of ['softmax1', 'softmax', 'clipped'] as const) {
    const { c, q, k, v, dout } = build({ B: 1, Sq: 4, H: 1, D: 3, normalizer, alibi: true, causal: true }, 'f32', 3);
    if (normalizer === 'clipped') c.gamma = -0.5; // makes the clip bind on some probabilities
    const loss = (qq: number[], kk: number[], vv: number[]) =>
      attentionForward64(c, qq, kk, vv).out.reduce((s, o, i) => s + o * dout[i], 0);
    const g = attentionBackward64(c, q, k, v, dout);
    const h = 1e-6;
    for (const [name, arr, grad] of [['q', q, g.dq], ['k', k, g.dk], ['v', v, g.dv]] as const)
      arr.forEach((_, i) => {
        const p = [...arr], m = [...arr];
        p[i] += h;
        m[i] -= h;
        const args = (x: number[]) => (name === 'q' ? [x, k, v] : name === 'k' ? [q, x, v] : [q, k, x]) as [number[], number[], number[]];
        const fd = (loss(...args(p)) - loss(...args(m))) / (2 * h);
        expect(Math.abs(grad[i] - fd), `${normalizer} d${name}[${i}]`).toBeLessThan(1e-6 + 1e-5 * Math.abs(fd));
      });
  }
});
