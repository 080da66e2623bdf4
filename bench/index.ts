// npm run bench [-- --json] [-- --cpu-only] [-- --only=matmul|attention]: every figure is a ratio to a named
// baseline measured in this same run on this same machine.
import { devices } from '../lib/index';
import { benchAttentionGpu } from './attention_gpu';
import { benchCopyGpu } from './copy_gpu';
import { benchMatmulCpu } from './matmul_cpu';
import { benchMatmulGpu } from './matmul_gpu';
import { progress, rows } from './report';

async function main(): Promise<void> {
  const gpus = devices();
  if (gpus.length > 0 && !process.argv.includes('--cpu-only')) {
    progress(`GPU: ${gpus[0].name} (sm_${gpus[0].computeCapability.replace('.', '')})`);
    const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
    if (!only || only === 'matmul' || only === 'copy') {
      const base = await benchMatmulGpu('cuda:0');
      if (typeof base === 'string') progress(base);
      await benchCopyGpu('cuda:0', base);
    }
    if (!only || only === 'attention') await benchAttentionGpu('cuda:0');
  } else {
    progress('no CUDA device: CPU benches only');
  }
  await benchMatmulCpu();
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
