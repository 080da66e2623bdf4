// npm run bench [-- --json] [-- --cpu-only] [-- --only=matmul|qgemm|attention|encoder|encoder-parts|lora|encoder-cpu]
// [-- --shapes=16x8192x8192] (qgemm: m x k x n of its shapes): every figure is a ratio to a named
// baseline measured in this same run on this same machine.
import { devices } from '../lib/index';
import { benchAttentionGpu } from './attention_gpu';
import { benchCopyGpu } from './copy_gpu';
import { benchEncoder } from './encoder';
import { benchEncoderParts } from './encoder_parts';
import { benchQgemmGpu } from './gemm';
import { benchLora } from './lora';
import { benchMatmulCpu } from './matmul_cpu';
import { benchMatmulGpu } from './matmul_gpu';
import { progress, rows } from './report';

// --only=a,b picks benches by name; default all.
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const want = (name: string): boolean => !only || only.includes(name);

async function main(): Promise<void> {
  const gpus = devices();
  if (gpus.length > 0 && !process.argv.includes('--cpu-only')) {
    progress(`GPU: ${gpus[0].name} (sm_${gpus[0].computeCapability.replace('.', '')})`);
    if (want('matmul') || want('copy')) {
      const base = await benchMatmulGpu('cuda:0');
      if (typeof base === 'string') progress(base);
      await benchCopyGpu('cuda:0', base);
    }
    if (want('qgemm')) await benchQgemmGpu('cuda:0');
    if (want('attention')) await benchAttentionGpu('cuda:0');
    if (want('encoder')) await benchEncoder('cuda:0');
    if (want('encoder-parts')) await benchEncoderParts('cuda:0');
    if (want('lora')) await benchLora('cuda:0');
  } else {
    progress('no CUDA device: CPU benches only');
  }
  if (want('matmul')) await benchMatmulCpu();
  if (want('encoder-cpu')) await benchEncoder('cpu');
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
