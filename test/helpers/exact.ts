// Exact comparisons and typed-error expectations shared by the quantization
// tests (integer codes and int32 sums must match element for element).
import { expect } from 'vitest';
import { GermError } from '../../lib/index';

export function expectExact(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what} length`).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (got[i] !== want[i]) expect.fail(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
}

export function expectGermError(fn: () => unknown, code: string, text: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GermError);
    expect((e as GermError).code).toBe(code);
    expect((e as GermError).message).toMatch(text);
    return;
  }
  expect.fail(`expected a GermError ${code}`);
}
