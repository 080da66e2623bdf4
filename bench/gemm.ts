// Quantized GEMMs against cuBLAS f16 (torch.matmul, same run, same GPU), y =
// x W^T at M = 16, 128, 4096 tokens x DNABERT-2's layer shapes and 4096^3:
//   W8A8      activations already quantized per token (the GEMM alone), and
//             with the per-token quantization of f16 x included;
//   W4A4      4-bit per-channel weight, activations already 4-bit per token;
//   W4A16     int4, groups of 128, f16 x;
//   NF4-A16   NF4 with double quantization, f16 x; also against PyTorch's
//             dequantize-then-cuBLAS (what bitsandbytes-style layers do, written
//             in plain PyTorch in bench/baselines/torch_baseline.py);
// plus the weight-only targets' case, M = 16 on an 8192 x 8192 weight.
// Issue 5's targets: W8A8 >= 1.5x cuBLAS f16 at 4096^3; weight-only 4-bit
// >= 2.5x cuBLAS f16 at M = 16 on 8192^2. germ's time per op: R ops queued
// back to back, then one synchronize.
import {
  type QuantizedTensor, type Tensor, quantize, quantizeActivations, quantizeNf4, quantizedLinear, tensor,
} from '../lib/index';
import { torchBaseline } from './baseline';
import { repsForFlops, timeMs } from './timing';
import { progress, record } from './report';

// [m, k, n]
const SHAPES: [number, number, number][] = [];
for (const m of [16, 128, 4096])
  for (const [k, n] of [[768, 2304], [768, 768], [768, 6144], [3072, 768]]) SHAPES.push([m, k, n]);
SHAPES.push([4096, 4096, 4096], [16, 8192, 8192]);
// --shapes=16x8192x8192,4096x4096x4096 (m x k x n) times only those.
const shapesArg = process.argv.find((a) => a.startsWith('--shapes='))?.slice(9).split(',');
const PICKED = shapesArg ? SHAPES.filter((s) => shapesArg.includes(s.join('x'))) : SHAPES;

type Kind = 'w8a8' | 'w8a8+quant' | 'w4a4' | 'w4a16' | 'nf4';
const KINDS: Kind[] = ['w8a8', 'w8a8+quant', 'w4a4', 'w4a16', 'nf4'];

function rand(n: number, scale: number): Float32Array {
  return new Float32Array(n).map(() => (Math.random() - 0.5) * scale);
}

async function germMs(kind: Kind, m: number, k: number, n: number, device: string): Promise<number> {
  const x = tensor(rand(m * k, 2), [m, k], { dtype: 'f16', device });
  const w = tensor(rand(n * k, 0.1), [n, k], { device });
  const wq = kind === 'nf4' ? quantizeNf4(w, { blockSize: 64, doubleQuant: true })
    : quantize(w, kind === 'w4a16' ? { bits: 4, granularity: 'group', groupSize: 128 }
      : { bits: kind === 'w4a4' ? 4 : 8, granularity: 'channel' });
  const xq: QuantizedTensor | undefined = kind === 'w8a8' || kind === 'w4a4'
    ? quantizeActivations(x, { bits: kind === 'w4a4' ? 4 : 8 }) : undefined;
  const input: Tensor | QuantizedTensor = xq ?? x;
  const ms = await timeMs(device, repsForFlops(2 * m * k * n), () => quantizedLinear(input, wq, { outDtype: 'f16' }).dispose());
  for (const t of [x, w, wq, xq]) t?.dispose();
  return ms;
}

export async function benchQgemmGpu(device: string): Promise<void> {
  progress('PyTorch / cuBLAS f16 and NF4 dequantize-then-cuBLAS baselines');
  const base = torchBaseline({
    matmul: PICKED.map(([m, k, n]) => ({ dtype: 'f16', m, k, n })),
    nf4_matmul: PICKED.map(([m, k, n]) => ({ m, k, n, block: 64 })),
  });
  if (typeof base === 'string') progress(base);
  for (const [m, k, n] of PICKED)
    for (const kind of KINDS) {
      progress(`qgemm ${kind} ${m}x${k}x${n}`);
      const ms = await germMs(kind, m, k, n, device);
      const tflops = (t: number) => `${((2 * m * k * n) / t / 1e9).toFixed(1)} TFLOP/s`;
      const cublas = typeof base === 'string' ? undefined : base.matmul.find((r) => r.m === m && r.k === k && r.n === n);
      const c = `${kind} ${m}x${k}x${n}`;
      record({ bench: 'qgemm', case: c, germ: tflops(ms), baselineName: 'cuBLAS f16 (torch)',
        baseline: cublas ? tflops(cublas.ms) : 'n/a', ratio: cublas ? cublas.ms / ms : null });
      if (kind !== 'nf4') continue;
      const deq = typeof base === 'string' ? undefined : base.nf4_matmul?.find((r) => r.m === m && r.k === k && r.n === n);
      record({ bench: 'qgemm', case: c, germ: tflops(ms), baselineName: 'NF4 dequant + cuBLAS (torch)',
        baseline: deq ? tflops(deq.ms) : 'n/a', ratio: deq ? deq.ms / ms : null });
    }
}
