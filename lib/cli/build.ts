// `germ build`: compiles the native addon from source inside the installed
// package (scripts/build-native.js through cmake-js), for machines the
// prebuilt binary does not serve. The new build/Release/germ.node is what the
// loader picks first from then on; it is loaded in a child process before the
// command reports success, so a broken build never reaches the caller.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { GermError } from '../errors';
import { packageRoot } from '../native';
import type { CliIO } from './commands';

export interface BuildOptions {
  cuda?: 'auto' | 'on' | 'off';
  cudaArchs?: string;
  jobs?: number;
}

function runNode(args: string[], env: NodeJS.ProcessEnv, io: CliIO, toStdout = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: packageRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    // The compiler's chatter is progress, so it goes to stderr; stdout carries data only.
    child.stdout.on('data', (d: Buffer) => (toStdout ? io.stdout : io.stderr).write(d));
    child.stderr.on('data', (d: Buffer) => io.stderr.write(d));
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

export async function buildCommand(io: CliIO, o: BuildOptions): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (o.cuda) env.GERM_CUDA = o.cuda;
  if (o.cudaArchs) env.GERM_CUDA_ARCHS = o.cudaArchs;
  if (o.jobs) env.GERM_BUILD_JOBS = String(o.jobs);
  const root = packageRoot();
  const status = await runNode([path.join(root, 'scripts', 'build-native.js')], env, io);
  if (status !== 0)
    throw new GermError(
      'the native build failed (see the compiler output above). It needs CMake >= 3.18 and a C++17 compiler ' +
        '(g++ >= 10); for the CUDA backend, nvcc 12 or 13 (GERM_NVCC=/path/to/nvcc), or --cuda off for the CPU alone',
      'ERR_BUILD',
    );
  const binary = path.join(root, 'build', 'Release', 'germ.node');
  const check = `const b = require(${JSON.stringify(binary)}).buildInfo(); console.log(JSON.stringify(b));`;
  if ((await runNode(['-e', check], env, io, true)) !== 0)
    throw new GermError(`the new binary ${binary} does not load`, 'ERR_BUILD');
  io.stderr.write(`germ: built ${binary}; germ loads it from now on\n`);
}
