// Philox4x32-10 in TypeScript, written from the paper (Salmon et al. 2011),
// to check that both backends drop exactly the probabilities the contract
// names (cuda/common/philox.h).
const M0 = 0xd2511f53n, M1 = 0xcd9e8d57n, W0 = 0x9e3779b9, W1 = 0xbb67ae85;
const MASK = 0xffffffffn;

function philox(c: [number, number, number, number], k0: number, k1: number): [number, number, number, number] {
  let [x, y, z, w] = c;
  for (let r = 0; r < 10; r++) {
    const p0 = M0 * BigInt(x), p1 = M1 * BigInt(z);
    const hi0 = Number(p0 >> 32n), lo0 = Number(p0 & MASK), hi1 = Number(p1 >> 32n), lo1 = Number(p1 & MASK);
    [x, y, z, w] = [(hi1 ^ y ^ k0) >>> 0, lo1, (hi0 ^ w ^ k1) >>> 0, lo0];
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [x, y, z, w];
}

export function dropoutThreshold(p: number): number {
  const keep = (1 - Math.fround(p)) * 4294967296;
  return keep >= 4294967295 ? 4294967295 : Math.floor(keep + 0.5);
}

export function dropoutKeep(seed: number, offset: number, row: number, col: number, threshold: number): boolean {
  const r = philox([Math.floor(col / 4) >>> 0, row >>> 0, Math.floor(row / 2 ** 32) >>> 0, offset >>> 0],
    seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0);
  return r[col & 3] < threshold;
}
