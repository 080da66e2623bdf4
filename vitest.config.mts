import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native work runs on executor threads; the JS side stays in one process.
    pool: 'forks',
    // --expose-gc lets the leak test drive the FinalizationRegistry.
    execArgv: ['--expose-gc'],
    testTimeout: 120_000,
  },
});
