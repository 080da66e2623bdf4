// Float64 references, written plainly: the ground truth every backend is
// checked against.

/** C[b] = A[b] (m x k) @ B[b] (k x n), row-major, float64. */
export function matmul64(a: ArrayLike<number>, b: ArrayLike<number>, batch: number, m: number, k: number, n: number,
  bBatched = true): Float64Array {
  const c = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const ao = p * m * k, bo = bBatched ? p * k * n : 0, co = p * m * n;
    for (let i = 0; i < m; i++)
      for (let l = 0; l < k; l++) {
        const av = a[ao + i * k + l];
        if (av === 0) continue;
        for (let j = 0; j < n; j++) c[co + i * n + j] += av * b[bo + l * n + j];
      }
  }
  return c;
}

/** The transpose of a row-major [rows, cols] matrix. */
export function transpose2d(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
  return out;
}

export interface LayerNorm64 {
  out: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
}

export function layerNorm64(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, rows: number,
  cols: number, eps: number): LayerNorm64 {
  const out = new Float64Array(rows * cols), mean = new Float64Array(rows), rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c];
    const mu = s / cols;
    let v = 0;
    for (let c = 0; c < cols; c++) v += (x[r * cols + c] - mu) ** 2;
    const rs = 1 / Math.sqrt(v / cols + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let c = 0; c < cols; c++) out[r * cols + c] = (x[r * cols + c] - mu) * rs * w[c] + b[c];
  }
  return { out, mean, rstd };
}

/** Analytic LayerNorm gradients in float64. */
export function layerNormBackward64(dout: ArrayLike<number>, x: ArrayLike<number>, w: ArrayLike<number>, rows: number,
  cols: number, eps: number): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const { mean, rstd } = layerNorm64(x, w, new Float64Array(cols), rows, cols, eps);
  const dx = new Float64Array(rows * cols), dw = new Float64Array(cols), db = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    let g1 = 0, g2 = 0;
    for (let c = 0; c < cols; c++) {
      const xhat = (x[r * cols + c] - mean[r]) * rstd[r];
      const g = dout[r * cols + c] * w[c];
      g1 += g;
      g2 += g * xhat;
      dw[c] += dout[r * cols + c] * xhat;
      db[c] += dout[r * cols + c];
    }
    for (let c = 0; c < cols; c++) {
      const xhat = (x[r * cols + c] - mean[r]) * rstd[r];
      const g = dout[r * cols + c] * w[c];
      dx[r * cols + c] = rstd[r] * (g - g1 / cols - xhat * g2 / cols);
    }
  }
  return { dx, dw, db };
}

// erfc(x) for x >= 2.5 by its continued fraction (no 1 - erf cancellation).
function erfcTail(x: number): number {
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (x + f);
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + f);
}

export function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse for a reference; use the series /
  // continued fraction split, accurate to ~1e-14 absolute.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x, sum = x;
    for (let n = 1; n < 80; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  return Math.sign(x) * (1 - erfcTail(ax));
}

/** 1 - erf(x), with full relative accuracy in the tail (x >= 2.5). */
export function erfc(x: number): number {
  return x >= 2.5 ? erfcTail(x) : 1 - erf(x);
}

/** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), written with erfc so x << 0 keeps its digits. */
export const gelu64 = (x: number): number => 0.5 * x * erfc(-x / Math.SQRT2);

export const unary64: Record<string, (x: number, a: number, b: number) => number> = {
  identity: (x) => x,
  affine: (x, a, b) => a * x + b,
  neg: (x) => -x,
  abs: (x) => Math.abs(x),
  exp: (x) => Math.exp(x),
  log: (x) => Math.log(x),
  sqrt: (x) => Math.sqrt(x),
  rsqrt: (x) => 1 / Math.sqrt(x),
  reciprocal: (x) => 1 / x,
  square: (x) => x * x,
  tanh: (x) => Math.tanh(x),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  relu: (x) => Math.max(x, 0),
  silu: (x) => x / (1 + Math.exp(-x)),
  gelu: gelu64,
  geluTanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  powScalar: (x, a) => x ** a,
  clamp: (x, a, b) => Math.min(Math.max(x, a), b),
};

export const binary64: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  pow: (a, b) => a ** b,
};
