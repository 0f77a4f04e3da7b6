// Where the embedded cluster lives, and the password file that is its only way in.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { benchHome, repoRoot } from '../core/paths.js';
import { POSTGRES_OS_USER, isRoot } from './postgres-os.js';

let resolved: { home: string; dir: string } | undefined;

/** Whether every directory above `dir` lets the postgres user through. */
function postgresCanReach(dir: string): boolean {
  return spawnSync('runuser', ['-u', POSTGRES_OS_USER, '--', 'test', '-x', dirname(dir)]).status === 0;
}

/**
 * .bench/pg (under BENCH_HOME), unless the postgres OS user cannot reach it (a checkout under a
 * private home directory): then a directory under /var/lib/bench keyed by BENCH_HOME's path (by
 * the checkout's when BENCH_HOME is not set, as before BENCH_HOME existed).
 */
export function clusterDir(): string {
  const home = benchHome();
  if (resolved?.home === home) return resolved.dir;
  let dir = join(home, 'pg');
  if (isRoot() && !postgresCanReach(home)) {
    dir = join(
      '/var/lib/bench',
      createHash('sha1')
        .update(process.env.BENCH_HOME ? home : repoRoot())
        .digest('hex')
        .slice(0, 12),
      'pg',
    );
  }
  resolved = { home, dir };
  return dir;
}

/** The embedded cluster's password file (libpq's format, mode 0600, owned by whoever runs bench). */
export function clusterPassfile(): string {
  return join(clusterDir(), 'passfile');
}

/** The directory of the servers' Unix sockets. */
export function clusterSocketDir(): string {
  return join(clusterDir(), 'run');
}
