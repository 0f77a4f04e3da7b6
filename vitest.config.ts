import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The suite's embedded cluster lives apart from the developer's (<repo>/.bench, what `bench db up`
// and `bench run` use): the tests rebuild theirs with 2 segments, which must never delete a user's
// cluster, its loaded datasets or the models of a run in progress. Set here, in the main process,
// so the global setup, the test workers and every `bench` they spawn inherit it.
process.env.BENCH_HOME ??= join(fileURLToPath(new URL('.', import.meta.url)), '.bench-test');

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
