// LoRA on the GPU, against PyTorch in the same run (bench/baselines/torch_lora.py):
//   - the fused LoraLinear forward (one GEMM over [W; A], one rank-r GEMM added
//     in place) against germ's own base linear (the overhead the issue bounds at
//     15% for r = 8) and against PEFT's unfused forward (base + two cuBLAS GEMMs);
//   - merge W += (alpha / r) B A in place, as bandwidth: bytes of W read and
//     written over the time, against the card's peak and torch's addmm_.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { LoraLinear, type Tensor, devices, linear, loraMerge, tensor } from '../lib/index';
import { progress, record } from './report';
import { timeMs } from './timing';

const CASES = [
  // m (tokens), k (in), n (out), r
  [4096, 768, 2304, 8], [4096, 768, 768, 8], [4096, 3072, 768, 8], [4096, 768, 2304, 64], [16384, 768, 2304, 16],
  [4096, 4096, 4096, 8],
] as const;
const MERGES = [[768, 2304, 8], [3072, 768, 16], [4096, 4096, 64], [8192, 8192, 8]] as const;
const HBM_GBS: Record<string, number> = { 'NVIDIA H100 80GB HBM3': 3350, 'NVIDIA H200': 4800 };

interface TorchLora { cases: { m: number; k: number; n: number; r: number; base_ms: number; lora_ms: number }[];
  merge: { k: number; n: number; r: number; ms: number }[] }

function torchLora(jobs: object): TorchLora | string {
  const python = process.env.GERM_BENCH_PYTHON ?? 'python3';
  const script = path.join(__dirname, '..', 'bench', 'baselines', 'torch_lora.py');
  const r = spawnSync(python, [script], { input: JSON.stringify(jobs), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return `PyTorch baseline unavailable: ${(r.stderr || String(r.error)).trim().split('\n').pop()}`;
  return JSON.parse(r.stdout) as TorchLora;
}

const rand = (shape: number[], scale: number, device: string): Tensor =>
  tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => (Math.random() - 0.5) * scale), shape,
    { dtype: 'f16', device });

export async function benchLora(device: string): Promise<void> {
  progress('LoRA: PyTorch baseline');
  const base = torchLora({ cases: CASES.map(([m, k, n, r]) => ({ m, k, n, r, dtype: 'f16' })),
    merge: MERGES.map(([k, n, r]) => ({ k, n, r, dtype: 'f16' })) });
  if (typeof base === 'string') progress(base);
  for (const [m, k, n, r] of CASES) {
    progress(`lora forward ${m}x${k}x${n} r=${r}`);
    const x = rand([m, k], 2, device), w = rand([n, k], 0.04, device), b = rand([n], 1, device);
    const A = rand([r, k], 0.04, device), B = rand([n, r], 0.04, device);
    const layer = new LoraLinear({ weight: w, bias: b, A, B, alpha: 16 });
    const reps = Math.max(20, Math.min(300, Math.floor(1e11 / (m * k * n))));
    const germBase = await timeMs(device, reps, () => linear(x, w, b).dispose());
    const germLora = await timeMs(device, reps, () => layer.forward(x).dispose());
    const row = typeof base === 'string' ? undefined : base.cases.find((c) => c.m === m && c.k === k && c.n === n && c.r === r);
    const label = `${device} f16 ${m}x${k}x${n} r${r}`;
    record({ bench: 'lora', case: `${label} overhead`, germ: `+${((germLora / germBase - 1) * 100).toFixed(1)}%`,
      baselineName: 'germ base GEMM', baseline: `${(germBase * 1000).toFixed(1)} us`, ratio: germBase / germLora });
    record({ bench: 'lora', case: `${label} forward`, germ: `${(germLora * 1000).toFixed(1)} us`,
      baselineName: 'torch unfused ', baseline: row ? `${(row.lora_ms * 1000).toFixed(1)} us` : 'n/a',
      ratio: row ? row.lora_ms / germLora : null });
    layer.dispose();
    for (const t of [x, w, b, A, B]) t.dispose();
  }
  const peak = HBM_GBS[devices().find((d) => d.device === device)?.name ?? ''];
  for (const [k, n, r] of MERGES) {
    progress(`lora merge ${n}x${k} r=${r}`);
    const w = rand([n, k], 0.04, device), A = rand([r, k], 0.04, device), B = rand([n, r], 0.04, device);
    // Alternating merge / unmerge keeps W bounded; each is one pass over W.
    let sign = 1;
    const ms = await timeMs(device, 50, () => { loraMerge(w, { A, B, alpha: 16 * sign }); sign = -sign; });
    const gbs = (2 * n * k * 2) / ms / 1e6;
    const row = typeof base === 'string' ? undefined : base.merge.find((c) => c.k === k && c.n === n && c.r === r);
    record({ bench: 'lora', case: `${device} merge f16 ${n}x${k} r${r}`, germ: `${gbs.toFixed(0)} GB/s`,
      baselineName: peak ? `peak ${peak} GB/s` : 'torch addmm_ ', baseline: row ? `torch ${((2 * n * k * 2) / row.ms / 1e6).toFixed(0)} GB/s` : 'n/a',
      ratio: peak ? gbs / peak : row ? row.ms / ms : null });
    for (const t of [w, A, B]) t.dispose();
  }
}
