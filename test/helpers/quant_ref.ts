// Float64 references for quantization. Each value is computed in float64 and
// rounded to f32 (Math.fround) exactly where the kernels store or compute an
// f32, so the integer codes, scales and zero points can be compared exactly.
// (An f32 division done in float64 and rounded once equals the f32 division.)
const f = Math.fround;

/** Round half to even. */
export function rne(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : r;
}

export interface RefParams { scale: number; zero: number }

export function qrange(bits: number, symmetric: boolean): [number, number] {
  return symmetric ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
}

export function refParams(values: ArrayLike<number>, ratio: number, bits: number, symmetric: boolean): RefParams {
  let mn = Infinity, mx = -Infinity;
  for (let i = 0; i < values.length; i++) {
    mn = Math.min(mn, values[i]);
    mx = Math.max(mx, values[i]);
  }
  const [, hiQ] = qrange(bits, symmetric);
  if (symmetric) {
    let s = f(f(Math.max(Math.abs(mn), Math.abs(mx)) * ratio) / hiQ);
    if (!(s > 0)) s = 1;
    return { scale: s, zero: 0 };
  }
  const lo = f(Math.min(mn, 0) * ratio), hi = f(Math.max(mx, 0) * ratio);
  let s = f(f(hi - lo) / hiQ);
  if (!(s > 0)) s = 1;
  return { scale: s, zero: Math.min(Math.max(rne(f(-lo / s)), 0), hiQ) + 0 };
}

export function refCode(x: number, p: RefParams, bits: number, symmetric: boolean): number {
  const [lo, hi] = qrange(bits, symmetric);
  return Math.min(Math.max(rne(f(x / p.scale)) + p.zero, lo), hi);
}

/** Codes out of q's bytes (4-bit: per row of `cols`, low nibble first). */
export function unpackCodes(q: ArrayLike<number>, rows: number, cols: number, bits: number, symmetric: boolean): number[] {
  if (bits !== 4) return Array.from(q);
  const out: number[] = [], qcols = Math.ceil(cols / 2);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const b = q[r * qcols + (c >> 1)], v = c & 1 ? b >> 4 : b & 15;
      out.push(symmetric ? (v ^ 8) - 8 : v);
    }
  return out;
}

// ---- NF4 (published values: QLoRA appendix, bitsandbytes' NF4 table)
export const NF4_PUBLISHED = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
];
// bitsandbytes' dQuantizeNF4 thresholds (midpoints of neighbouring values, as f32 literals).
const NF4_MIDPOINTS = [
  -0.8480964004993439, -0.6106329262256622, -0.4599952697753906, -0.33967943489551544, -0.23460740596055984,
  -0.13791173323988914, -0.045525018125772476, 0.03979014977812767, 0.1202552504837513, 0.2035212516784668,
  0.2920137718319893, 0.3893125355243683, 0.5016634166240692, 0.6427869200706482, 0.8614784181118011,
].map(f);

export function nf4Code(x: number): number {
  let c = 0;
  for (const t of NF4_MIDPOINTS) if (x > t) c++;
  return c;
}

/** bitsandbytes' create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8), in float64, rounded to f32. */
export function dynamicMap(): number[] {
  const v: number[] = [0, 1];
  for (let i = 0; i < 7; i++) {
    const items = 2 ** i + 1;
    for (let k = 0; k + 1 < items; k++) {
      const b0 = 0.1 + (0.9 * k) / (items - 1), b1 = 0.1 + (0.9 * (k + 1)) / (items - 1);
      const m = 10 ** (i - 6) * ((b0 + b1) / 2);
      v.push(m, -m);
    }
  }
  return v.sort((a, b) => a - b).map(f);
}

/** Nearest map entry, ties to the lower index (argmin). */
export function nearestIndex(map: number[], x: number): number {
  let best = 0;
  for (let i = 1; i < map.length; i++) if (f(Math.abs(f(x - map[i])) ) < f(Math.abs(f(x - map[best])))) best = i;
  return best;
}

export interface RefNf4 {
  codes: number[];      // one per element
  absmax: number[];
  qabsmax: number[];
  absmax2: number[];
  offset: number;
  scales: number[];     // the absmax values dequantization reads (double-quantized)
}

export function refNf4(x: ArrayLike<number>, block: number): RefNf4 {
  const n = x.length, nb = Math.ceil(n / block), codes: number[] = [], absmax: number[] = [];
  for (let b = 0; b < nb; b++) {
    let m = 0;
    for (let i = b * block; i < Math.min(n, (b + 1) * block); i++) m = Math.max(m, Math.abs(x[i]));
    absmax.push(m);
    const inv = m > 0 ? f(1 / m) : 0;
    for (let i = b * block; i < Math.min(n, (b + 1) * block); i++) codes.push(nf4Code(f(x[i] * inv)));
  }
  const offset = f(absmax.reduce((a, b) => a + b, 0) / nb);
  const map = dynamicMap(), qabsmax: number[] = [], absmax2: number[] = [], scales: number[] = [];
  for (let g = 0; g * 256 < nb; g++) {
    const part = absmax.slice(g * 256, (g + 1) * 256).map((a) => f(a - offset));
    const m = part.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    absmax2.push(m);
    const inv = m > 0 ? f(1 / m) : 0;
    for (const v of part) {
      const q = nearestIndex(map, Math.min(Math.max(f(v * inv), -1), 1));
      qabsmax.push(q);
      scales.push(f(f(map[q] * m) + offset));
    }
  }
  return { codes, absmax, qabsmax, absmax2, offset, scales };
}
