// CPU matmul: germ's blocked, multithreaded kernel against the plain triple
// loop a Node developer would write (f32 typed arrays, i-j-k order).
import { Bench } from 'tinybench';
import { matmul, numThreads, tensor } from '../lib/index';
import { progress, record } from './report';

function tripleLoop(a: Float32Array, b: Float32Array, c: Float32Array, n: number): void {
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
      c[i * n + j] = s;
    }
}

export async function benchMatmulCpu(): Promise<void> {
  for (const n of [256, 512, 1024]) {
    progress(`cpu matmul ${n}^3`);
    const a = new Float32Array(n * n).map(() => Math.random() - 0.5);
    const b = new Float32Array(n * n).map(() => Math.random() - 0.5);
    const c = new Float32Array(n * n);
    const ta = tensor(a, [n, n]), tb = tensor(b, [n, n]);
    const bench = new Bench({ iterations: 5, time: n >= 1024 ? 2000 : 500 });
    bench.add('germ', async () => {
      const out = matmul(ta, tb);
      await out.data();
      out.dispose();
    });
    bench.add('loop', () => tripleLoop(a, b, c, n));
    await bench.run();
    const [g, l] = bench.tasks.map((t) => t.result!);
    const gms = g.latency.mean, lms = l.latency.mean;
    const gflops = (ms: number) => (2 * n ** 3) / ms / 1e6;
    record({ bench: 'matmul', case: `cpu f32 ${n}^3 (${numThreads()} threads)`, germ: `${gflops(gms).toFixed(1)} GFLOP/s`,
      baselineName: 'triple loop', baseline: `${gflops(lms).toFixed(2)} GFLOP/s`, ratio: lms / gms });
    ta.dispose();
    tb.dispose();
  }
}
