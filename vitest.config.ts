import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test file gets its own process: tfjs backends are process-global state.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
