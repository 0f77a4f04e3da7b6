// Unusable paths end a run cleanly (docs/resume.md): a runs directory that cannot hold run folders
// is refused before the cluster's run lock is taken (`--runs-dir /proc/forbidden` used to spin
// forever in a recursive mkdir while holding it), and a run folder that becomes unwritable mid-run
// ends the run with the file named and the folder still resumable (it used to crash with a raw
// EPERM, no summary, no hint). Faults are real: /proc, a file in the way, `chattr +i` as root
// (chmod otherwise).
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runSpec } from '../../approaches/resolve.js';
import { lockCluster } from '../../src/run/lock.js';
import { resolveWorkload } from '../../workloads/index.js';
import { TEST_SEGMENTS, testTopology } from '../helpers/cluster.js';
import { freshRunsDir, onlyRunFolder, readEvents, readSummary, runCli, unitEvents } from '../resume/helpers.js';

const workload = resolveWorkload('criteo', 'tiny', 1);
const isRoot = process.getuid?.() === 0;

/** Makes files and folders unwritable even for root (the immutable attribute), or by mode otherwise. */
function freeze(paths: string[]): void {
  for (const path of paths) {
    if (isRoot) execFileSync('chattr', ['+i', path]);
    else chmodSync(path, 0o555);
  }
}

function thaw(paths: string[]): void {
  for (const path of paths) {
    if (isRoot) execFileSync('chattr', ['-i', path]);
    else chmodSync(path, 0o755);
  }
}

let frozen: string[] = [];
afterEach(() => {
  thaw(frozen);
  frozen = [];
});

describe('an unusable runs directory is refused before the lock', () => {
  it('bench run --runs-dir /proc/forbidden exits 2 at once, naming the folder', async () => {
    const done = await runCli(
      ['run', '-a', 'export', '-w', 'criteo', '-s', 'tiny', '--runs-dir', '/proc/forbidden', '--sample-ms', '0'],
      {},
      60_000,
    );
    expect(done.code).toBe(2);
    expect(done.stderr).toContain(
      'bench: the runs directory (--runs-dir, BENCH_RUNS) /proc/forbidden is unusable: ' +
        'cannot create /proc/forbidden (ENOENT',
    );
  });

  it('refuses a file in the way, in-process, and the lock is free', async () => {
    const parent = freshRunsDir('paths-file');
    writeFileSync(join(parent, 'taken'), 'not a folder');
    const topology = await testTopology();
    const run = runSpec({
      approach: 'export',
      workload: 'criteo',
      scale: 'tiny',
      topology,
      runsDir: join(parent, 'taken', 'runs'),
      sampleIntervalMs: 0,
    });
    await expect(run).rejects.toThrow(
      `the runs directory (--runs-dir, BENCH_RUNS) ${join(parent, 'taken', 'runs')} is unusable: ` +
        `${join(parent, 'taken')} is a file, not a folder`,
    );
    const lock = await lockCluster(topology);
    await lock.release();
  });
});

describe('a run folder that becomes unwritable', () => {
  it('ends the run naming the file; made writable again, the folder resumes', async () => {
    const runsDir = freshRunsDir('paths-unwritable');
    const topology = await testTopology();
    let runDir = '';
    const run = runSpec({
      approach: 'export',
      workload: 'criteo',
      scale: 'tiny',
      topology,
      runsDir,
      sampleIntervalMs: 0,
      onEvent: (event) => {
        if (event.type === 'unit' && frozen.length === 0) {
          runDir = onlyRunFolder(runsDir);
          frozen = [join(runDir, 'events.jsonl'), runDir];
          freeze(frozen);
        }
      },
    });
    const message = await run.then(
      () => 'finished',
      (e: Error) => e.message,
    );
    const code = isRoot ? 'EPERM' : 'EACCES';
    expect(message).toContain(`cannot write ${join(runDir, 'events.jsonl')} (${code}: `);
    expect(message).toContain(
      'the run stopped because its folder became unwritable; the summary could not be written either ' +
        `(cannot write ${join(runDir, 'summary.json')} (${code}: `,
    );
    expect(message).toContain(`Make ${runDir} writable again, then continue the run with --resume ${runDir}`);
    // The run let go of the cluster: another run can take the lock.
    const lock = await lockCluster(topology);
    await lock.release();

    thaw(frozen);
    frozen = [];
    const { summary } = await runSpec({
      approach: 'export',
      workload: 'criteo',
      scale: 'tiny',
      topology,
      resume: runDir,
      sampleIntervalMs: 0,
    });
    expect(summary.status).toBe('complete');
    expect(readSummary(runDir).status).toBe('complete');
    const units = unitEvents(readEvents(runDir));
    expect(new Set(units.map((u) => `${u.config}/${u.segment}/${u.epoch}`)).size).toBe(
      workload.configs.length * TEST_SEGMENTS * workload.epochs,
    );
  });
});
