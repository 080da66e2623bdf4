// Finds and loads the native addon. Order (node-gyp-build's): a local build in
// build/Release (the developer's), then prebuilds/<platform>-<arch>/ shipped in
// the package. GERM_NATIVE_PATH names an exact .node file instead. No install
// script is involved: npm 11 does not run dependencies' install scripts.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { NativeAddon } from '../types/native';
import { GermError } from './errors';

let cached: NativeAddon | undefined;
let loadedFrom: string | undefined;

/** The installed package's folder (prebuilds/, build/, scripts/). */
export function packageRoot(): string {
  // dist/index.js (built) and lib/native.ts (tests) both sit one level down.
  return path.resolve(__dirname, '..');
}

function explainMissing(cause: unknown): GermError {
  const where = `${process.platform}-${process.arch}, Node ${process.version}`;
  const detail = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new GermError(
    `germ: no native binary loads on this machine (${where}): ${detail}\n` +
      'Possible solutions:\n' +
      '  - build it from source: `npx germ build` (needs CMake >= 3.18 and g++ >= 10; with nvcc 12 or 13 the CUDA\n' +
      '    backend is built too, GERM_NVCC=/path/to/nvcc picks one; `npx germ build --cuda off` builds the CPU backend alone)\n' +
      '  - the prebuilt binary covers linux-x64 with glibc >= 2.28 (Debian 10+, Ubuntu 20.04+, RHEL 8+);\n' +
      '    other platforms and C libraries (musl) must build from source',
    'ERR_NO_BINARY',
  );
}

export function native(): NativeAddon {
  if (cached) return cached;
  let addon: NativeAddon;
  try {
    const explicit = process.env.GERM_NATIVE_PATH;
    const load = createRequire(path.join(packageRoot(), 'package.json'));
    // node-gyp-build's resolve() is the search its load runs; the file is kept for `germ doctor`.
    const file = explicit ? path.resolve(explicit) : (load('node-gyp-build') as NodeGypBuild).resolve(packageRoot());
    addon = load(file) as NativeAddon;
    loadedFrom = file;
  } catch (e) {
    throw explainMissing(e);
  }
  addon.setErrorClass(GermError);
  cached = addon;
  return addon;
}

interface NodeGypBuild {
  resolve(dir: string): string;
}

/** The .node file native() loaded; undefined until it has loaded one. */
export function nativePath(): string | undefined {
  return loadedFrom;
}
