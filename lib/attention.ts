// Attention with the softmax1 normaliser (GERM), fused with ALiBi, masking,
// varlen batches and dropout; plus the outlier-removal baselines the GERM
// paper compares against: clipped softmax and gated attention.
//
// Layout (FlashAttention's): q [batch, seq, heads, dim] with k, v [batch, seqK,
// heads, dim], and `lengths` for batches of unequal lengths; or packed
// [tokens, heads, dim] with `cuSeqlens` (DNABERT-2 unpads this way).
import type { NativeAttentionOptions } from '../types/native';
import { alibiSlopes } from './alibi';
import { GermError } from './errors';
import { native } from './native';
import { linear, mul, sigmoid, sum, tensor } from './ops';
import { Tensor } from './tensor';

export type Normalizer = 'softmax1' | 'softmax' | 'clipped';

export interface AttentionOptions {
  /** 'softmax1' (GERM, the default), 'softmax' (DNABERT-2), or 'clipped' (baseline, unfused). */
  normalizer?: Normalizer;
  /** Score scale; default 1 / sqrt(dim). */
  scale?: number;
  /** Causal mask (bottom-right aligned when seqK > seq, as FlashAttention). */
  causal?: boolean;
  /** ALiBi: true derives the slopes from the head count; or the slopes ([heads] f32). */
  alibi?: boolean | Tensor | number[] | Float32Array;
  /** ALiBi distance: |i - j| ('symmetric', encoders; default) or i - j ('causal', decoders; default when causal). */
  alibiMode?: 'symmetric' | 'causal';
  /** Clipped softmax: clip((zeta - gamma) * softmax + gamma, 0, 1). Default zeta 1, gamma -0.03. */
  clip?: { zeta: number; gamma: number };
  /** Dropout probability on the attention probabilities (training). */
  dropout?: number;
  /** Philox seed for dropout; drawn at random when omitted, and returned by attentionForward. */
  seed?: number;
  /** Padded layout: each sequence's length ([batch]); keys past it are masked, queries past it give zeros. */
  lengths?: number[] | Int32Array;
  /** Packed layout: [batch + 1] token offsets (for k too unless cuSeqlensK). */
  cuSeqlens?: number[] | Int32Array;
  cuSeqlensK?: number[] | Int32Array;
}

export interface AttentionSaved {
  /** The attention output, [.., heads, dim] like q. */
  out: Tensor;
  /** [heads, tokens] f32 log-normaliser, for the backward. */
  lse: Tensor;
  /** The dropout seed used (reuse it in the backward). */
  seed: number;
}

const slopeCache = new Map<string, Tensor>();

function slopesFor(alibi: AttentionOptions['alibi'], heads: number, device: string): Tensor | null {
  if (!alibi) return null;
  if (alibi instanceof Tensor) return alibi;
  if (alibi === true) {
    const key = `${device}/${heads}`;
    let t = slopeCache.get(key);
    if (!t) slopeCache.set(key, (t = tensor(alibiSlopes(heads), [heads], { device })));
    return t;
  }
  return tensor(Float32Array.from(alibi), [heads], { device });
}

// Runs a native call with the options; slopes made for this call only are freed after.
function withOptions<T>(q: Tensor, o: AttentionOptions, seed: number, call: (opts: NativeAttentionOptions) => T): T {
  const opts = nativeOptions(q, o, seed);
  try {
    return call(opts);
  } finally {
    const made = opts.alibiSlopes;
    if (made && (Array.isArray(o.alibi) || o.alibi instanceof Float32Array)) made.dispose();
  }
}

function nativeOptions(q: Tensor, o: AttentionOptions, seed: number): NativeAttentionOptions {
  const heads = q.shape[q.ndim - 2];
  if (o.dropout !== undefined && !(o.dropout >= 0 && o.dropout < 1))
    throw new GermError(`attention: dropout must be in [0, 1), got ${o.dropout}`, 'ERR_INVALID_ARGUMENT');
  const clip = o.clip ?? { zeta: 1, gamma: -0.03 };
  return {
    normalizer: o.normalizer ?? 'softmax1',
    scale: o.scale,
    causal: o.causal ?? false,
    alibiSlopes: slopesFor(o.alibi, heads, q.device)?.handle ?? null,
    alibiSymmetric: (o.alibiMode ?? (o.causal ? 'causal' : 'symmetric')) === 'symmetric',
    clipZeta: clip.zeta,
    clipGamma: clip.gamma,
    dropout: o.dropout ?? 0,
    seed,
    cuSeqlens: o.cuSeqlens,
    cuSeqlensK: o.cuSeqlensK,
    lengths: o.lengths,
  };
}

function seedOf(o: AttentionOptions): number {
  if (o.seed === undefined) return Math.floor(Math.random() * 2 ** 32);
  if (!Number.isSafeInteger(o.seed) || o.seed < 0)
    throw new GermError(`attention: seed must be a non-negative safe integer, got ${o.seed}`, 'ERR_INVALID_ARGUMENT');
  return o.seed;
}

/** Forward, keeping what the backward needs. */
export function attentionForward(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): AttentionSaved {
  const seed = seedOf(options);
  const [out, lse] = withOptions(q, options, seed, (opts) => native().attentionForward(q.handle, k.handle, v.handle, opts));
  return { out: new Tensor(out), lse: new Tensor(lse), seed };
}

/** softmax1(q k^T * scale + ALiBi) v, fused: no score matrix is ever stored. */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const { out, lse } = attentionForward(q, k, v, options);
  lse.dispose();
  return out;
}

export interface AttentionGrads {
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
}

/** dq, dk, dv from the saved output and log-normaliser (scores recomputed, FlashAttention-2 style). */
export function attentionBackward(dout: Tensor, q: Tensor, k: Tensor, v: Tensor, saved: AttentionSaved,
  options: AttentionOptions = {}): AttentionGrads {
  const [dq, dk, dv] = withOptions(q, options, saved.seed, (opts) =>
    native().attentionBackward(dout.handle, q.handle, k.handle, v.handle, saved.out.handle, saved.lse.handle, opts));
  return { dq: new Tensor(dq), dk: new Tensor(dk), dv: new Tensor(dv) };
}

// ---- gated attention (Bondarenko et al. 2023): a per-token, per-head sigmoid
// gate computed from the layer input scales each head's output.

export interface AttentionGate {
  /** [heads, hidden] */
  weight: Tensor;
  /** [heads] */
  bias: Tensor;
}

export interface GatedAttentionSaved extends AttentionSaved {
  /** sigmoid(x W^T + b): [.., heads] */
  gate: Tensor;
  /** The gated output: out * gate. */
  gated: Tensor;
}

/** x [.., hidden] is the layer input the gate reads; q, k, v as for attention(). */
export function gatedAttentionForward(x: Tensor, q: Tensor, k: Tensor, v: Tensor, gate: AttentionGate,
  options: AttentionOptions = {}): GatedAttentionSaved {
  const saved = attentionForward(q, k, v, options);
  const logits = linear(x, gate.weight, gate.bias);
  const g = sigmoid(logits); // [.., heads]
  const gated = mul(saved.out, g.unsqueeze(-1));
  logits.dispose();
  return { ...saved, gate: g, gated };
}

export interface GatedAttentionGrads extends AttentionGrads {
  dx: Tensor;
  dweight: Tensor;
  dbias: Tensor;
}

export function gatedAttentionBackward(dgated: Tensor, x: Tensor, q: Tensor, k: Tensor, v: Tensor, gate: AttentionGate,
  saved: GatedAttentionSaved, options: AttentionOptions = {}): GatedAttentionGrads {
  const temps: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => (temps.push(t), t);
  const dout = keep(mul(dgated, keep(saved.gate.unsqueeze(-1))));
  // d gate = sum over dim of dgated * out; through the sigmoid: * g (1 - g)
  const dgate = keep(sum(keep(mul(dgated, saved.out)), -1));
  const dlogit = keep(mul(dgate, keep(mul(saved.gate, keep(keep(saved.gate.mul(-1)).add(1))))));
  const hidden = x.shape[x.ndim - 1], heads = gate.weight.shape[0];
  const x2 = keep(x.reshape([-1, hidden])), dl2 = keep(dlogit.reshape([-1, heads]));
  const grads = attentionBackward(dout, q, k, v, saved, options);
  const dx2 = keep(dl2.matmul(gate.weight));
  const result = { ...grads, dx: dx2.reshape(x.shape), dweight: dl2.matmul(x2, { transA: true }), dbias: sum(dl2, 0) };
  // Queued work holds its own references: the handles can go now.
  for (const t of temps) t.dispose();
  return result;
}
