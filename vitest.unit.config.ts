import { defineConfig } from 'vitest/config';

// Fast unit tests of pure logic (schedulers, simulator, summary and breakdown, comparison, run
// folders): no cluster, no engine. `npm run test:unit`.
export default defineConfig({
  test: {
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
