// Runs an op on a device and checks it against a float64 reference; on a GPU
// the same op also runs on the CPU backend and the two must agree.
import type { Tensor } from '../../lib/index';
import { type Tolerance, expectClose } from './compare';

export async function read(t: Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

export async function checkOp(device: string, build: (device: string) => Tensor, want: ArrayLike<number>,
  tol: Tolerance, what: string): Promise<void> {
  const got = await read(build(device));
  expectClose(got, want, tol, `${what} on ${device} vs float64`);
  if (device !== 'cpu') {
    const cpu = await read(build('cpu'));
    expectClose(got, cpu, tol, `${what}: ${device} vs the cpu backend`);
  }
}
