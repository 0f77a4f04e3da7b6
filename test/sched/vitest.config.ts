// The scheduler suites need no database: run them without the cluster's global setup.
//   npx vitest run --config test/sched/vitest.config.ts
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/sched/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
