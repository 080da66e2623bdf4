// The devices every test runs on: the CPU always, the first GPU where there
// is one. Where there is none the CUDA suites are skipped visibly: their name
// says "skipped: no CUDA device" and a line goes to stderr, never a silent pass.
import { describe } from 'vitest';
import { devices } from '../../lib/index';

export const HAS_CUDA = devices().length > 0;
export const DEVICES = ['cpu', 'cuda:0'] as const;
export type TestDevice = (typeof DEVICES)[number];

let warned = false;

/** describe() once per device; the CUDA one is skipped (and says so) without a GPU. */
export function describeDevices(name: string, body: (device: TestDevice) => void): void {
  for (const device of DEVICES) {
    if (device !== 'cpu' && !HAS_CUDA) {
      if (!warned) {
        process.stderr.write('germ tests: cuda:0 suites skipped: no CUDA device\n');
        warned = true;
      }
      describe.skip(`${name} [${device}] (skipped: no CUDA device)`, () => body(device));
    } else {
      describe(`${name} [${device}]`, () => body(device));
    }
  }
}
