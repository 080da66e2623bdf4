// Runs the PyTorch baseline script (bench/baselines/torch_baseline.py) in the
// same run, on the same GPU, and returns its timings.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export interface TorchBaseline {
  device: string;
  torch: string;
  matmul: { dtype: string; m: number; k: number; n: number; ms: number }[];
  h2d?: { bytes: number; pinned_gbs: number; pageable_gbs: number };
  /** NF4 (blocks of `block`, double-quantized absmax) dequantized in PyTorch, then cuBLAS f16. */
  nf4_matmul?: { m: number; k: number; n: number; block: number; ms: number }[];
}

export function torchBaseline(jobs: object): TorchBaseline | string {
  const python = process.env.GERM_BENCH_PYTHON ?? 'python3';
  const script = path.join(__dirname, '..', 'bench', 'baselines', 'torch_baseline.py');
  const r = spawnSync(python, [script], { input: JSON.stringify(jobs), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return `PyTorch baseline unavailable: ${(r.stderr || String(r.error)).trim().split('\n').pop()}`;
  return JSON.parse(r.stdout) as TorchBaseline;
}
