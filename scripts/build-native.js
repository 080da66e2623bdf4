#!/usr/bin/env node
// Builds the addon with cmake-js into build/Release/germ.node.
//
// Environment:
//   GERM_CUDA=auto|on|off     CUDA backend (auto: when nvcc is found)
//   GERM_CUDA_ARCHS="90"      narrow the CUDA architectures (default: all five
//                             shipped ones, 75 80 86 89 90, plus compute_90 PTX)
//   GERM_BUILD_JOBS=N         parallel compile jobs (default: CPU count)
// cmake-js ignores new -D options on an existing build folder, so the options
// are stamped into build/germ-options.json and a change forces a clean rebuild.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const buildDir = path.join(root, 'build');
const stampFile = path.join(buildDir, 'germ-options.json');

const cuda = (process.env.GERM_CUDA || 'auto').toUpperCase();
if (!['AUTO', 'ON', 'OFF'].includes(cuda)) {
  console.error(`germ: GERM_CUDA must be auto, on or off (got ${process.env.GERM_CUDA})`);
  process.exit(2);
}
const options = { GERM_CUDA: cuda };
if (process.env.GERM_CUDA_ARCHS) options.GERM_CUDA_ARCHS = process.env.GERM_CUDA_ARCHS.replace(/[ ,]+/g, ';');

let previous = null;
try {
  previous = fs.readFileSync(stampFile, 'utf8');
} catch {}
const wanted = JSON.stringify(options);
const command = previous === wanted ? 'compile' : 'rebuild';

const jobs = process.env.GERM_BUILD_JOBS || String(os.availableParallelism ? os.availableParallelism() : os.cpus().length);
const args = [require.resolve('cmake-js/bin/cmake-js'), command, '--out', buildDir, '--parallel', jobs];
for (const [k, v] of Object.entries(options)) args.push(`--CD${k}=${v}`);

console.error(`germ: cmake-js ${command} (${wanted}, ${jobs} jobs)`);
const started = Date.now();
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('germ: native build failed');
  process.exit(r.status || 1);
}
fs.writeFileSync(stampFile, wanted);
const out = path.join(buildDir, 'Release', 'germ.node');
const mb = (fs.statSync(out).size / 1048576).toFixed(1);
console.error(`germ: built ${path.relative(root, out)} (${mb} MB) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
