import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native work runs on executor threads; the JS side stays in one process.
    pool: 'forks',
    testTimeout: 120_000,
  },
});
