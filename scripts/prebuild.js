#!/usr/bin/env node
// Writes prebuilds/linux-x64/germ-dna.glibc.node (prebuildify's naming, which
// node-gyp-build matches at run time) from a cmake-js build. Runs as
// `npm run prebuild`, and by npm's pre-hook before `npm run build`.
// This is the shipped binary, so it takes the release toolchain (CUDA 12 and a
// Debian 11 sysroot: scripts/release/toolchain.sh) unless GERM_TOOLCHAIN says
// otherwise.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const shim = path.join(__dirname, 'node-gyp-shim.js');
const r = spawnSync(
  process.execPath,
  [require.resolve('prebuildify/bin.js'), '--napi', '--tag-libc', '--strip'],
  {
    cwd: root,
    stdio: 'inherit',
    // prebuildify spawns PREBUILD_NODE_GYP through PREBUILD_SHELL with its args appended.
    env: { GERM_TOOLCHAIN: 'release', ...process.env, PREBUILD_SHELL: '/bin/sh', PREBUILD_NODE_GYP: `"${process.execPath}" "${shim}"` },
  },
);
process.exit(r.status ?? 1);
