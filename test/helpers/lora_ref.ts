// Float64 references for LoRA (merge, fused forward, backward) and the error
// bounds the tests hold germ to, derived from where germ rounds: every GEMM
// accumulates in f32 (error <= K 2^-24 sum |terms| for a reduction of length
// K) and rounds once into the dtype (relative error <= u, the unit roundoff).

/** C [m, n] = op(a) op(b) and the same over |a|, |b| (the magnitude that scales f32 accumulation error). */
export function mm(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number,
  transA = false, transB = false): { v: Float64Array; abs: Float64Array } {
  const v = new Float64Array(m * n), abs = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const av = transA ? a[p * m + i] : a[i * k + p];
      if (av === 0) continue;
      const aa = Math.abs(av);
      for (let j = 0; j < n; j++) {
        const bv = transB ? b[j * k + p] : b[p * n + j];
        v[i * n + j] += av * bv;
        abs[i * n + j] += aa * Math.abs(bv);
      }
    }
  return { v, abs };
}

const absOf = (x: ArrayLike<number>) => Float64Array.from(x, Math.abs);
const F32 = 2 ** -24;

export interface LoraProblem {
  M: number; inF: number; out: number; r: number; s: number;
  x: number[]; W: number[]; A: number[]; B: number[]; bias: number[] | null;
}

export interface Ref {
  want: Float64Array;
  /** Per-element bound on |germ - want|. */
  bound: Float64Array;
}

/**
 * y = x W^T + b + s (x A^T) B^T. germ rounds P = x [W; A]^T + [b; 0] once
 * (so x A^T carries one rounding into the second GEMM) and y = P + s xa B^T once.
 */
export function forwardRef(p: LoraProblem, u: number): Ref & { lora: Float64Array; xa: Float64Array } {
  const { M, inF, out, r, s, x, W, A, B, bias } = p;
  const xw = mm(x, W, M, inF, out, false, true), xa = mm(x, A, M, inF, r, false, true);
  const lora = mm(xa.v, B, M, r, out, false, true), loraMag = mm(xa.abs, absOf(B), M, r, out, false, true);
  const want = new Float64Array(M * out), bound = new Float64Array(M * out);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < out; j++) {
      const e = i * out + j, b = bias ? bias[j] : 0;
      const p1 = xw.v[e] + b;
      want[e] = p1 + s * lora.v[e];
      const roundings = u * (Math.abs(p1) + s * lora.abs[e] + Math.abs(want[e]));
      const accumulation = (inF + r) * F32 * (xw.abs[e] + Math.abs(b) + s * loraMag.v[e]);
      bound[e] = 1.25 * (roundings + accumulation) + 2 ** -24;
    }
  return { want, bound, lora: Float64Array.from(lora.v, (v) => s * v), xa: xa.v };
}

/** dx, dA, dB of sum(y * dy) for the same problem (xa: the exact x A^T). */
export function backwardRef(p: LoraProblem, dy: number[], xa: Float64Array, u: number): Record<'dx' | 'dA' | 'dB', Ref> {
  const { M, inF, out, r, s, x, W, A, B } = p;
  const dyB = mm(dy, B, M, out, r);
  const dB = mm(dy, xa, out, M, r, true);
  const dA = mm(dyB.v, x, r, M, inF, true), dAmag = mm(dyB.abs, absOf(x), r, M, inF, true);
  const dyW = mm(dy, W, M, out, inF), dyBA = mm(dyB.v, A, M, r, inF), dyBAmag = mm(dyB.abs, absOf(A), M, r, inF);
  const make = (n: number, f: (e: number) => [number, number]): Ref => {
    const want = new Float64Array(n), bound = new Float64Array(n);
    for (let e = 0; e < n; e++) [want[e], bound[e]] = f(e);
    return { want, bound };
  };
  return {
    // dB = s dy^T xa: xa was rounded once (u |xa|), the result once.
    dB: make(out * r, (e) => {
      const w = s * dB.v[e];
      return [w, 1.25 * (u * (Math.abs(w) + s * dB.abs[e]) + M * F32 * s * dB.abs[e]) + 2 ** -24];
    }),
    // dA = s dyB^T x: dyB rounded once, the result once.
    dA: make(r * inF, (e) => {
      const w = s * dA.v[e];
      return [w, 1.25 * (u * (Math.abs(w) + s * dA.abs[e]) + (M + out) * F32 * s * dAmag.v[e]) + 2 ** -24];
    }),
    // dx = round(round(dy W) + s dyB A): two roundings plus dyB's.
    dx: make(M * inF, (e) => {
      const w = dyW.v[e] + s * dyBA.v[e];
      const roundings = u * (Math.abs(dyW.v[e]) + Math.abs(w) + s * dyBA.abs[e]);
      return [w, 1.25 * (roundings + (out + r) * F32 * (dyW.abs[e] + s * dyBAmag.v[e])) + 2 ** -24];
    }),
  };
}
