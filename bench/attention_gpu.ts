// Attention against PyTorch on the same GPU in the same run (f16, head dim 64,
// batch * heads = 384): germ softmax1 + ALiBi vs (a) SDPA's flash path with
// plain softmax and no bias, (b) softmax1 + ALiBi as PyTorch users must write
// it (float mask + a zero null key/value column), (c) FlexAttention with an
// ALiBi score_mod and the null column; and PyTorch's default SDPA choice
// (cuDNN on Hopper), the fastest plain path it has. TFLOP/s count 4 B H N^2 d for the
// forward and 2.5x that for the backward (FlashAttention's convention).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { type AttentionOptions, attentionBackward, attentionForward, synchronize, tensor } from '../lib/index';
import { progress, record } from './report';

interface TorchRow { B: number; H: number; N: number; D: number; mode: string; fwd_ms: number | null; fwdbwd_ms: number | null; error?: string }

// --attention-lengths=512,4096 narrows the sweep (the full one, FlexAttention
// compiles included, takes more than 10 minutes on an H100).
const LENGTHS = (process.argv.find((a) => a.startsWith('--attention-lengths='))?.split('=')[1] ?? '128,512,1024,4096,16384')
  .split(',').map(Number);
const H = 12, D = 64;

function torchRows(cases: object[]): TorchRow[] | string {
  const python = process.env.GERM_BENCH_PYTHON ?? 'python3';
  const script = path.join(__dirname, '..', 'bench', 'baselines', 'torch_attention.py');
  const r = spawnSync(python, [script], {
    input: JSON.stringify({ cases, modes: ['flash', 'sdpa', 'mask_null', 'flex'] }), encoding: 'utf8', maxBuffer: 1 << 24,
  });
  if (r.status !== 0) return `PyTorch baseline unavailable: ${(r.stderr || String(r.error)).trim().split('\n').pop()}`;
  return JSON.parse(r.stdout) as TorchRow[];
}

async function germMs(B: number, N: number, opts: AttentionOptions, backward: boolean, device: string): Promise<number> {
  const n = B * N * H * D;
  const mk = (seed: number) => tensor(new Float32Array(n).map((_, i) => Math.sin(i * 0.37 + seed)), [B, N, H, D], { dtype: 'f16', device });
  const q = mk(1), k = mk(2), v = mk(3), dout = mk(4);
  const flops = 4 * B * H * N * N * D;
  const reps = Math.max(3, Math.min(100, Math.floor(2e13 / flops)));
  const once = () => {
    const saved = attentionForward(q, k, v, opts);
    if (backward) {
      const g = attentionBackward(dout, q, k, v, saved, opts);
      g.dq.dispose(); g.dk.dispose(); g.dv.dispose();
    }
    saved.out.dispose(); saved.lse.dispose();
  };
  for (let i = 0; i < 2; i++) once();
  await synchronize(device);
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) once();
  await synchronize(device);
  const ms = (performance.now() - t0) / reps;
  for (const t of [q, k, v, dout]) t.dispose();
  return ms;
}

export async function benchAttentionGpu(device: string): Promise<void> {
  const cases = LENGTHS.map((N) => ({ B: 384 / H, H, N, D }));
  progress('PyTorch attention baselines (flash, mask + null column, FlexAttention)');
  const base = torchRows(cases);
  if (typeof base === 'string') progress(base);
  const germ: AttentionOptions = { normalizer: 'softmax1', alibi: true };
  for (const { B, N } of cases) {
    for (const backward of [false, true]) {
      progress(`attention N=${N} ${backward ? 'fwd+bwd' : 'fwd'}`);
      const flops = 4 * B * H * N * N * D * (backward ? 3.5 : 1);
      const tf = (ms: number) => flops / ms / 1e9;
      const mine = await germMs(B, N, germ, backward, device);
      const plain = await germMs(B, N, { normalizer: 'softmax' }, backward, device);
      const label = `${device} N=${N} ${backward ? 'fwd+bwd' : 'fwd'}`;
      // What softmax1 + ALiBi costs over germ's own plain softmax.
      record({ bench: 'attention', case: `${label} softmax1+ALiBi`, germ: `${tf(mine).toFixed(0)} TFLOP/s`,
        baselineName: 'germ softmax    ', baseline: `${tf(plain).toFixed(0)} TFLOP/s`, ratio: plain / mine });
      for (const mode of ['flash', 'sdpa', 'mask_null', 'flex']) {
        const row = typeof base === 'string' ? undefined : base.find((r) => r.N === N && r.mode === mode);
        const ms = row ? (backward ? row.fwdbwd_ms : row.fwd_ms) : null;
        record({ bench: 'attention', case: `${label} softmax1+ALiBi`, germ: `${tf(mine).toFixed(0)} TFLOP/s`,
          baselineName: `torch ${mode}`.padEnd(15), baseline: ms ? `${tf(ms).toFixed(0)} TFLOP/s` : (row?.error ?? 'n/a').slice(0, 40),
          ratio: ms ? ms / mine : null });
      }
    }
  }
}
