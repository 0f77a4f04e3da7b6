import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Suites share one embedded cluster and 2 cores: run files one at a time.
    fileParallelism: false,
    globalSetup: ['test/global-setup.ts'],
  },
});
