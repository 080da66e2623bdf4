// germ's time per op on a GPU: `reps` ops queued back to back after a warm-up,
// then one synchronize, so the promise round trip is amortised as the GPU's
// own queue would amortise it.
import { synchronize } from '../lib/index';

/** Mean ms of `run` queued back to back, then one synchronize. */
export async function timeMs(device: string, reps: number, run: () => void): Promise<number> {
  for (let i = 0; i < 3; i++) run();
  await synchronize(device);
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  await synchronize(device);
  return (performance.now() - t0) / reps;
}

/** Repetitions for an op of `flops`: about 2 TFLOP of work in all, 5 to 200 of them. */
export function repsForFlops(flops: number): number {
  return Math.max(5, Math.min(200, Math.floor(2e12 / flops)));
}
