// Comparisons with stated tolerances: |got - want| <= atol + rtol * |want|,
// element by element, with the worst offender in the failure message.
import { expect } from 'vitest';

export interface Tolerance {
  atol: number;
  rtol: number;
}

export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance, what = ''): void {
  expect(got.length, `${what} length`).toBe(want.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (w === g) continue; // equal infinities too
    const excess = Math.abs(g - w) - (tol.atol + tol.rtol * Math.abs(w));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0)
    expect.fail(`${what}: element ${worst} is ${got[worst]}, want ${want[worst]} (atol ${tol.atol}, rtol ${tol.rtol})`);
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
