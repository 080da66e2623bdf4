// GPU matmul against cuBLAS (torch.matmul, same run, same GPU): x[m, k] @
// W[n, k]^T, the nn.Linear layout, at DNABERT-2's layer shapes and 4096^3.
// germ's time per op: R ops queued back to back, then one synchronize, so the
// promise round trip is amortised as the GPU's own queue would amortise it.
import { matmul, tensor } from '../lib/index';
import { type TorchBaseline, torchBaseline } from './baseline';
import { progress, record } from './report';
import { repsForFlops, timeMs } from './timing';

const SHAPES: [number, number, number][] = [
  // m (tokens), k (in), n (out)
  [4096, 4096, 4096],
  [4096, 768, 2304], // Wqkv
  [4096, 768, 768], // attention output
  [4096, 768, 6144], // GLU gated_layers
  [4096, 3072, 768], // mlp.wo
  [128, 768, 2304],
  [16, 768, 2304],
];

async function germMs(dtype: 'f16' | 'bf16' | 'f32', m: number, k: number, n: number, device: string): Promise<number> {
  const x = tensor(new Float32Array(m * k).map(() => Math.random() - 0.5), [m, k], { dtype, device });
  const w = tensor(new Float32Array(n * k).map(() => Math.random() - 0.5), [n, k], { dtype, device });
  const ms = await timeMs(device, repsForFlops(2 * m * k * n), () => matmul(x, w, { transB: true }).dispose());
  x.dispose();
  w.dispose();
  return ms;
}

export async function benchMatmulGpu(device: string): Promise<TorchBaseline | string> {
  const jobs = [];
  for (const dtype of ['f16', 'bf16', 'f32'] as const)
    for (const [m, k, n] of SHAPES) if (dtype !== 'f32' || m * k * n <= 4096 ** 3) jobs.push({ dtype, m, k, n });
  progress('PyTorch / cuBLAS baseline');
  const base = torchBaseline({ matmul: jobs, h2d_bytes: 256 << 20 });
  for (const job of jobs) {
    progress(`gpu matmul ${job.dtype} ${job.m}x${job.k}x${job.n}`);
    const ms = await germMs(job.dtype, job.m, job.k, job.n, device);
    const tflops = (t: number) => (2 * job.m * job.k * job.n) / t / 1e9;
    const b = typeof base === 'string' ? undefined : base.matmul.find((r) => r.dtype === job.dtype && r.m === job.m && r.k === job.k && r.n === job.n);
    record({ bench: 'matmul', case: `${device} ${job.dtype} ${job.m}x${job.k}x${job.n}`, germ: `${tflops(ms).toFixed(1)} TFLOP/s`,
      baselineName: 'cuBLAS (torch)', baseline: b ? `${tflops(b.ms).toFixed(1)} TFLOP/s` : 'n/a', ratio: b ? b.ms / ms : null });
  }
  return base;
}
