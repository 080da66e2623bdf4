// Attention with the softmax1 normaliser (GERM), fused with ALiBi, masking,
// varlen batches and dropout; plus the outlier-removal baselines the GERM
// paper compares against: clipped softmax and gated attention.
//
// Layout (FlashAttention's): q [batch, seq, heads, dim] with k, v [batch, seqK,
// heads, dim], and `lengths` for batches of unequal lengths; or packed
// [tokens, heads, dim] with `cuSeqlens` (DNABERT-2 unpads this way).
import type { NativeAttentionOptions } from '../types/native';
import { boolArg, describeValue, finiteArg, oneOf, optionsArg } from './dtype';
import { GermError } from './errors';
import { native } from './native';
import { linear, mul, sigmoid, sum, tensor } from './ops';
import { Tensor, handleOf, tensorArg } from './tensor';

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

function invalid(op: string, message: string): GermError {
  return new GermError(`${op}: ${message}`, 'ERR_INVALID_ARGUMENT');
}

// What the native op takes for `alibi`: true (it derives the slopes), a
// Tensor's handle, or null; host slopes are uploaded here for this call.
function slopesFor(op: string, alibi: AttentionOptions['alibi'], q: Tensor): true | Tensor | null {
  if (alibi === undefined || alibi === null || alibi === false) return null;
  if (alibi === true || alibi instanceof Tensor) return alibi;
  // No element to bias (or no heads dim: the native op names the shape): no slopes are built.
  if (q.size === 0 || q.ndim < 3) return null;
  const heads = q.shape[q.ndim - 2];
  if (!Array.isArray(alibi) && !(alibi instanceof Float32Array))
    throw invalid(op, `alibi must be true, a Tensor, a number[] or a Float32Array of ${heads} slopes, got ${describeValue(alibi)}`);
  return tensor(Float32Array.from(alibi), [heads], { device: q.device });
}

// Runs a native call with the options; slopes made for this call only are freed after.
function withOptions<T>(op: string, q: Tensor, options: AttentionOptions | undefined, seed: number,
  call: (opts: NativeAttentionOptions) => T): T {
  const o = optionsArg(options, op);
  const opts = nativeOptions(op, q, o, seed);
  const slopes = slopesFor(op, o.alibi, q);
  try {
    return call({ ...opts, alibi: slopes instanceof Tensor ? slopes.handle : slopes });
  } finally {
    if (slopes instanceof Tensor && slopes !== o.alibi) slopes.dispose();
  }
}

// Type checks only: every default and range is cpp/ops' (ops.h AttentionOptions),
// so an option the user left out is left out here too.
function nativeOptions(op: string, q: Tensor, o: AttentionOptions, seed: number): NativeAttentionOptions {
  tensorArg(q, op, 'q');
  const clip = optionsArg(o.clip, op, 'clip');
  const finite = (v: unknown, name: string) => (v === undefined ? undefined : finiteArg(v, op, name));
  for (const name of ['cuSeqlens', 'cuSeqlensK', 'lengths'] as const) {
    const v = o[name];
    if (v !== undefined && !Array.isArray(v) && !(v instanceof Int32Array))
      throw invalid(op, `${name} must be a number[] or an Int32Array, got ${describeValue(v)}`);
  }
  return {
    normalizer: o.normalizer,
    scale: finite(o.scale, 'scale'),
    causal: o.causal === undefined ? undefined : boolArg(o.causal, op, 'causal', false),
    alibiSymmetric: o.alibiMode === undefined ? undefined
      : oneOf(o.alibiMode, ['symmetric', 'causal'] as const, op, 'alibiMode') === 'symmetric',
    clipZeta: finite(clip.zeta, 'clip.zeta'),
    clipGamma: finite(clip.gamma, 'clip.gamma'),
    dropout: o.dropout,
    seed,
    cuSeqlens: o.cuSeqlens,
    cuSeqlensK: o.cuSeqlensK,
    lengths: o.lengths,
  };
}

function checkSeed(op: string, seed: unknown, name: string): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)
    throw invalid(op, `${name} must be a non-negative safe integer, got ${describeValue(seed)}`);
  return seed;
}

function seedOf(op: string, options: AttentionOptions | undefined): number {
  const o = optionsArg(options, op);
  return o.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : checkSeed(op, o.seed, 'seed');
}

/** Forward, keeping what the backward needs. */
export function attentionForward(q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions): AttentionSaved {
  const op = 'attention';
  const seed = seedOf(op, options);
  const [out, lse] = withOptions(op, q, options, seed, (opts) =>
    native().attentionForward(handleOf(q, op, 'q'), handleOf(k, op, 'k'), handleOf(v, op, 'v'), opts));
  return { out: new Tensor(out), lse: new Tensor(lse), seed };
}

/** softmax1(q k^T * scale + ALiBi) v, fused: no score matrix is ever stored. */
export function attention(q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions): Tensor {
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
  options?: AttentionOptions): AttentionGrads {
  const op = 'attentionBackward';
  const s = optionsArg(saved, op, 'saved');
  const seed = checkSeed(op, s.seed, 'saved.seed');
  const [dq, dk, dv] = withOptions(op, q, options, seed, (opts) =>
    native().attentionBackward(handleOf(dout, op, 'dout'), handleOf(q, op, 'q'), handleOf(k, op, 'k'), handleOf(v, op, 'v'),
      handleOf(s.out, op, 'saved.out'), handleOf(s.lse, op, 'saved.lse'), opts));
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
/** The gate's tensors, checked. */
function gateArg(op: string, gate: unknown): AttentionGate {
  const g = optionsArg(gate as AttentionGate, op, 'gate');
  return { weight: tensorArg(g.weight, op, 'gate.weight'), bias: tensorArg(g.bias, op, 'gate.bias') };
}

export function gatedAttentionForward(x: Tensor, q: Tensor, k: Tensor, v: Tensor, gate: AttentionGate,
  options?: AttentionOptions): GatedAttentionSaved {
  const op = 'gatedAttentionForward';
  tensorArg(x, op, 'x');
  const g0 = gateArg(op, gate);
  const saved = attentionForward(q, k, v, options);
  const logits = linear(x, g0.weight, g0.bias);
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
  saved: GatedAttentionSaved, options?: AttentionOptions): GatedAttentionGrads {
  const op = 'gatedAttentionBackward';
  for (const [name, t] of [['dgated', dgated], ['x', x], ['q', q], ['k', k], ['v', v]] as const) tensorArg(t, op, name);
  gate = gateArg(op, gate);
  saved = optionsArg(saved, op, 'saved');
  tensorArg(saved.gate, op, 'saved.gate');
  tensorArg(saved.out, op, 'saved.out');
  const temps: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => (temps.push(t), t);
  try {
    const dout = keep(mul(dgated, keep(saved.gate.unsqueeze(-1))));
    // d gate = sum over dim of dgated * out; through the sigmoid: * g (1 - g)
    const dgate = keep(sum(keep(mul(dgated, saved.out)), -1));
    const dlogit = keep(mul(dgate, keep(mul(saved.gate, keep(keep(saved.gate.mul(-1)).add(1))))));
    const hidden = x.shape[x.ndim - 1], heads = gate.weight.shape[0];
    const x2 = keep(x.reshape([-1, hidden])), dl2 = keep(dlogit.reshape([-1, heads]));
    const grads = attentionBackward(dout, q, k, v, saved, options);
    const dx2 = keep(dl2.matmul(gate.weight));
    return { ...grads, dx: dx2.reshape(x.shape), dweight: dl2.matmul(x2, { transA: true }), dbias: sum(dl2, 0) };
  } finally {
    // Queued work holds its own references: the handles can go now (or after a failure).
    for (const t of temps) t.dispose();
  }
}
