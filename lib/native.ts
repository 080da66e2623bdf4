// Finds and loads the native addon. Order (node-gyp-build's): a local build in
// build/Release (the developer's), then prebuilds/<platform>-<arch>/ shipped in
// the package. GERM_NATIVE_PATH names an exact .node file instead. No install
// script is involved: npm 11 does not run dependencies' install scripts.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { NativeAddon } from '../types/native';
import { GermError } from './errors';

let cached: NativeAddon | undefined;

function packageRoot(): string {
  // dist/index.js (built) and lib/native.ts (tests) both sit one level down.
  return path.resolve(__dirname, '..');
}

function explainMissing(cause: unknown): GermError {
  const where = `${process.platform}-${process.arch}, Node ${process.version}`;
  const detail = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new GermError(
    `germ: no native binary loads on this machine (${where}): ${detail}\n` +
      'Possible solutions:\n' +
      '  - build it from source in the package folder: `npm run build:native`\n' +
      '    (needs CMake >= 3.18 and a C++17 compiler; with CUDA 12+ nvcc on PATH the CUDA backend is built too;\n' +
      '     GERM_CUDA=off builds the CPU backend alone)\n' +
      '  - without CMake: `npx node-gyp rebuild` builds the CPU-only addon from binding.gyp\n' +
      '  - prebuilt binaries cover linux-x64 with glibc >= 2.34; other platforms must build from source',
    'ERR_NO_BINARY',
  );
}

export function native(): NativeAddon {
  if (cached) return cached;
  let addon: NativeAddon;
  try {
    const explicit = process.env.GERM_NATIVE_PATH;
    const load = createRequire(path.join(packageRoot(), 'package.json'));
    addon = explicit ? load(path.resolve(explicit)) : load('node-gyp-build')(packageRoot());
  } catch (e) {
    throw explainMissing(e);
  }
  addon.setErrorClass(GermError);
  cached = addon;
  return addon;
}
