import { defineConfig } from 'tsup';

// One CommonJS bundle for the library, with its .d.ts, one for the bench
// runner, and the `germ` command (package.json "bin"). The native addon is
// loaded at run time (lib/native.ts), not bundled; dependencies stay external.
export default defineConfig([
  {
    entry: { index: 'lib/index.ts' },
    format: ['cjs'],
    dts: true,
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    clean: true,
    external: ['node-gyp-build'],
  },
  {
    entry: { bench: 'bench/index.ts' },
    format: ['cjs'],
    target: 'node20',
    platform: 'node',
    external: ['node-gyp-build', 'tinybench'],
  },
  {
    entry: { cli: 'lib/cli/bin.ts' },
    format: ['cjs'],
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    banner: { js: '#!/usr/bin/env node' },
    external: ['node-gyp-build'],
  },
]);
