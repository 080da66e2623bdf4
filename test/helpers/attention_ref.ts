// Float64 attention, forward and backward, straight from the contract in
// cuda/attention/attention_params.h, over the padded layout [B, S, H, D].
import { dropoutKeep, dropoutThreshold } from './philox';

export interface AttnCase {
  B: number;
  Sq: number;
  Sk: number;
  H: number;
  D: number;
  normalizer: 'softmax' | 'softmax1' | 'clipped';
  causal: boolean;
  slopes: number[] | null;
  symmetric: boolean;
  scale: number;
  zeta: number;
  gamma: number;
  dropout: number;
  seed: number;
  lensQ: number[];
  lensK: number[];
  /** Row index base of each sequence's queries, as the kernels number them (total_q rows). */
  rowStart: number[];
  totalQ: number;
}

interface Row {
  keys: number[];
  p: number[]; // normalised probabilities (plain softmax for clipped)
  used: number[]; // what multiplies V: p, or the clipped p; times keep / (1 - dropout)
  keep: number[];
  lse: number;
}

const at = (c: AttnCase, S: number, b: number, i: number, h: number) => ((b * S + i) * c.H + h) * c.D;

function row(c: AttnCase, q: ArrayLike<number>, k: ArrayLike<number>, b: number, h: number, i: number): Row {
  const lq = c.lensQ[b], lk = c.lensK[b];
  const keys: number[] = [], s: number[] = [];
  for (let j = 0; j < lk; j++) {
    if (c.causal && j > i + lk - lq) continue;
    let dot = 0;
    for (let d = 0; d < c.D; d++) dot += q[at(c, c.Sq, b, i, h) + d] * k[at(c, c.Sk, b, j, h) + d];
    const dist = i + lk - lq - j;
    const bias = c.slopes ? -c.slopes[h] * (c.symmetric ? Math.abs(dist) : dist) : 0;
    keys.push(j);
    s.push(c.scale * dot + bias);
  }
  const one = c.normalizer === 'softmax1';
  let m = one ? 0 : -Infinity;
  for (const x of s) m = Math.max(m, x);
  let l = one ? Math.exp(-m) : 0;
  for (const x of s) l += Math.exp(x - m);
  const lse = keys.length === 0 && !one ? -Infinity : m + Math.log(l);
  const p = s.map((x) => Math.exp(x - lse));
  const clipped = c.normalizer === 'clipped' ? p.map((x) => Math.min(Math.max((c.zeta - c.gamma) * x + c.gamma, 0), 1)) : p;
  const thr = dropoutThreshold(c.dropout);
  const keep = keys.map((j) => (c.dropout > 0 ? (dropoutKeep(c.seed, 0, h * c.totalQ + c.rowStart[b] + i, j, thr) ? 1 : 0) : 1));
  const used = clipped.map((x, n) => (x * keep[n]) / (1 - c.dropout));
  return { keys, p, used, keep, lse };
}

/** One query row's output and lse: for spot checks of sequences too long for the full reference. */
export function attentionRow64(c: AttnCase, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, b: number,
  h: number, i: number): { out: Float64Array; lse: number } {
  const r = row(c, q, k, b, h, i);
  const out = new Float64Array(c.D);
  r.keys.forEach((j, n) => {
    for (let d = 0; d < c.D; d++) out[d] += r.used[n] * v[at(c, c.Sk, b, j, h) + d];
  });
  return { out, lse: r.lse };
}

export function attentionForward64(c: AttnCase, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>) {
  const out = new Float64Array(c.B * c.Sq * c.H * c.D);
  const lse = new Map<string, number>();
  for (let b = 0; b < c.B; b++)
    for (let h = 0; h < c.H; h++)
      for (let i = 0; i < c.lensQ[b]; i++) {
        const r = row(c, q, k, b, h, i);
        lse.set(`${h},${c.rowStart[b] + i}`, r.lse);
        r.keys.forEach((j, n) => {
          for (let d = 0; d < c.D; d++) out[at(c, c.Sq, b, i, h) + d] += r.used[n] * v[at(c, c.Sk, b, j, h) + d];
        });
      }
  return { out, lse };
}

export function attentionBackward64(c: AttnCase, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  dout: ArrayLike<number>) {
  const dq = new Float64Array(q.length), dk = new Float64Array(k.length), dv = new Float64Array(v.length);
  for (let b = 0; b < c.B; b++)
    for (let h = 0; h < c.H; h++)
      for (let i = 0; i < c.lensQ[b]; i++) {
        const r = row(c, q, k, b, h, i);
        const qo = at(c, c.Sq, b, i, h);
        // d(used_n) = dout . v_j ; through dropout and the clip to d p_n
        const dp = r.keys.map((j, n) => {
          let g = 0;
          for (let d = 0; d < c.D; d++) g += dout[qo + d] * v[at(c, c.Sk, b, j, h) + d];
          g *= r.keep[n] / (1 - c.dropout);
          if (c.normalizer === 'clipped') {
            const z = (c.zeta - c.gamma) * r.p[n] + c.gamma;
            g = z > 0 && z < 1 ? g * (c.zeta - c.gamma) : 0;
          }
          return g;
        });
        const Dsum = r.p.reduce((acc, p, n) => acc + p * dp[n], 0);
        r.keys.forEach((j, n) => {
          const ds = r.p[n] * (dp[n] - Dsum);
          const ko = at(c, c.Sk, b, j, h);
          for (let d = 0; d < c.D; d++) {
            dq[qo + d] += c.scale * ds * k[ko + d];
            dk[ko + d] += c.scale * ds * q[qo + d];
            dv[ko + d] += r.used[n] * dout[qo + d];
          }
        });
      }
  return { dq, dk, dv };
}
