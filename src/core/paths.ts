// Where the repository and bench's own state live.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** bench's private state (the embedded cluster, caches): BENCH_HOME or <repo>/.bench. */
export function benchHome(): string {
  return process.env.BENCH_HOME ? resolve(process.env.BENCH_HOME) : join(repoRoot(), '.bench');
}
