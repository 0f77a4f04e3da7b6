import { defineConfig } from 'vitest/config';

// Fast unit tests of pure logic (schedulers, simulator, summary and breakdown, comparison, run
// folders): no cluster, no engine. `npm run test:unit`.
export default defineConfig({
  test: {
    // The TPE tests start Python (optuna); on a loaded 2-core machine that can take over vitest's default 5 s.
    testTimeout: 60_000,
    include: [
      'test/sched/**/*.test.ts',
      'test/search/**/*.test.ts',
      'test/metrics/**/*.test.ts',
      'test/store/**/*.test.ts',
      'test/approaches/model-recovery.test.ts',
      'test/studies/plan.test.ts',
      'test/studies/render.test.ts',
      'test/studies/claims.test.ts',
      'test/studies/estimate.test.ts',
      'test/architecture/**/*.test.ts',
    ],
  },
});
