// ALiBi head slopes (Press et al. 2022), as DNABERT-2's bert_layers.py builds
// them: a geometric sequence starting at 2^(-8/n) for n a power of two; for
// other head counts, the slopes of the nearest lower power of two followed by
// every other slope of twice that count.
export function alibiSlopes(heads: number): Float32Array {
  const pow2 = (n: number) => {
    const start = 2 ** (-(2 ** -(Math.log2(n) - 3)));
    return Array.from({ length: n }, (_, i) => start * start ** i);
  };
  const build = (n: number): number[] => {
    if (Number.isInteger(Math.log2(n))) return pow2(n);
    const closest = 2 ** Math.floor(Math.log2(n));
    return [...pow2(closest), ...build(2 * closest).filter((_, i) => i % 2 === 0).slice(0, n - closest)];
  };
  return Float32Array.from(build(heads));
}
