// Host-to-device copy: tensor(Float32Array, { device }) end to end (JS buffer
// -> pinned staging -> GPU), against the link's bandwidth as PyTorch measures
// it in the same run (cudaMemcpy from pinned memory, the best case).
import { synchronize, tensor } from '../lib/index';
import type { TorchBaseline } from './baseline';
import { progress, record } from './report';

export async function benchCopyGpu(device: string, base: TorchBaseline | string): Promise<void> {
  const bytes = 256 << 20;
  const host = new Float32Array(bytes / 4).fill(1);
  progress('host-to-device copy');
  for (let i = 0; i < 2; i++) tensor(host, undefined, { device }).dispose(); // pins the upload buffer once
  await synchronize(device);
  const reps = 5;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) tensor(host, undefined, { device }).dispose();
  await synchronize(device);
  const gbs = (bytes * reps) / (performance.now() - t0) / 1e6;
  const h2d = typeof base === 'string' ? undefined : base.h2d;
  record({ bench: 'copy', case: `host->${device} 256 MiB`, germ: `${gbs.toFixed(1)} GB/s`,
    baselineName: 'pinned cudaMemcpy', baseline: h2d ? `${h2d.pinned_gbs.toFixed(1)} GB/s` : 'n/a',
    ratio: h2d ? gbs / h2d.pinned_gbs : null });
}
