#!/usr/bin/env node
// Builds the addon with cmake-js into build/Release/germ.node. This is also
// what `npx germ build` runs inside an installed package.
//
// Environment:
//   GERM_TOOLCHAIN=system|release
//                             system (default): the compilers on this machine, and
//                             nvcc from GERM_NVCC, CUDACXX, PATH or /usr/local/cuda.
//                             release: the shipped binary's toolchain (scripts/release/
//                             toolchain.sh): CUDA 12 and a Debian 11 sysroot with gcc-10,
//                             fetched from Debian's archive and cached on first use.
//   GERM_NVCC=/path/to/nvcc   build with this CUDA (any 12.x or 13.x) in either toolchain
//   GERM_CUDA=auto|on|off     CUDA backend (auto: when nvcc is found)
//   GERM_CUDA_ARCHS="90"      narrow the CUDA architectures (default: all five
//                             shipped ones, 75 80 86 89 90, plus compute_90 PTX)
//   GERM_BUILD_JOBS=N         parallel compile jobs (default: CPU count)
// cmake-js ignores new -D options on an existing build folder, so the options
// are stamped into build/germ-options.json and a change forces a clean rebuild.
'use strict';
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const buildDir = path.join(root, 'build');
const stampFile = path.join(buildDir, 'germ-options.json');

function fail(message, code = 2) {
  console.error(`germ: ${message}`);
  process.exit(code);
}

const cuda = (process.env.GERM_CUDA || 'auto').toUpperCase();
if (!['AUTO', 'ON', 'OFF'].includes(cuda)) fail(`GERM_CUDA must be auto, on or off (got ${process.env.GERM_CUDA})`);
const toolchain = (process.env.GERM_TOOLCHAIN || 'system').toLowerCase();
if (!['system', 'release'].includes(toolchain)) fail(`GERM_TOOLCHAIN must be system or release (got ${process.env.GERM_TOOLCHAIN})`);

const options = { GERM_CUDA: cuda };
if (process.env.GERM_CUDA_ARCHS) options.GERM_CUDA_ARCHS = process.env.GERM_CUDA_ARCHS.replace(/[ ,]+/g, ';');
if (process.env.GERM_NVCC) options.CMAKE_CUDA_COMPILER = path.resolve(process.env.GERM_NVCC);

if (toolchain === 'release') {
  // The release toolchain prints GERM_RELEASE_{CUDA,ROOT,CC,CXX}=... lines.
  const lines = execFileSync('bash', [path.join(__dirname, 'release', 'toolchain.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const env = Object.fromEntries(lines.trim().split('\n').map((l) => l.split('=')));
  Object.assign(options, {
    CMAKE_C_COMPILER: env.GERM_RELEASE_CC,
    CMAKE_CXX_COMPILER: env.GERM_RELEASE_CXX,
    CMAKE_CUDA_HOST_COMPILER: env.GERM_RELEASE_CXX,
  });
  if (!options.CMAKE_CUDA_COMPILER) options.CMAKE_CUDA_COMPILER = `${env.GERM_RELEASE_CUDA}/bin/nvcc`;
}

let previous = null;
try {
  previous = fs.readFileSync(stampFile, 'utf8');
} catch {}
const wanted = JSON.stringify(options);
const command = previous === wanted ? 'compile' : 'rebuild';

let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js');
} catch {
  fail('cmake-js is missing: run `npm install` in the package folder first');
}
const jobs = process.env.GERM_BUILD_JOBS || String(os.availableParallelism ? os.availableParallelism() : os.cpus().length);
const args = [cmakeJs, command, '--out', buildDir, '--parallel', jobs];
for (const [k, v] of Object.entries(options)) args.push(`--CD${k}=${v}`);

console.error(`germ: cmake-js ${command} (${toolchain} toolchain, ${wanted}, ${jobs} jobs)`);
const started = Date.now();
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) fail('native build failed', r.status || 1);
fs.writeFileSync(stampFile, wanted);
const out = path.join(buildDir, 'Release', 'germ.node');
const mb = (fs.statSync(out).size / 1048576).toFixed(1);
console.error(`germ: built ${path.relative(root, out)} (${mb} MB) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
