// Reference roundings to f16 and bf16 (round to nearest, ties to even),
// written from the IEEE 754 definitions, independent of the addon's code.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds a number to the nearest f16 value (returned as a JS number). */
export function roundF16(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 65520) return Math.sign(x) * Infinity; // halfway to the next binade past 65504
  if (ax < 2 ** -24 * 0.5) return x < 0 || Object.is(x, -0) ? -0 : 0;
  // Spacing of f16 values around ax: 2^(e-10) for normals, 2^-24 for subnormals.
  const e = Math.max(Math.floor(Math.log2(ax)), -14);
  const ulp = 2 ** (e - 10);
  const q = ax / ulp;
  let r = Math.round(q);
  if (Math.abs(q - Math.trunc(q) - 0.5) === 0 && r % 2 !== 0) r -= 1; // ties to even
  return Math.sign(x) * r * ulp;
}

/** Rounds a number to the nearest bf16 value (via f32, as the hardware does). */
export function roundBF16(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000) return f32[0]; // inf / nan
  const lsb = (bits >>> 16) & 1;
  u32[0] = ((bits + 0x7fff + lsb) & 0xffff0000) >>> 0;
  return f32[0];
}

export function roundTo(dtype: string, x: number): number {
  if (dtype === 'f16') return roundF16(x);
  if (dtype === 'bf16') return roundBF16(x);
  if (dtype === 'f32') return Math.fround(x);
  return x;
}

/** Unit roundoff of each float dtype: the relative error of one rounding. */
export const EPS: Record<string, number> = { f32: 2 ** -24, f16: 2 ** -11, bf16: 2 ** -8 };
