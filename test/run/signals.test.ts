// Signals end a run the same way whichever process of it gets them (docs/resume.md, "Signals"):
// Ctrl-C (SIGINT to the whole process group, as a terminal sends it), SIGINT to the top-level
// `npx`, SIGTERM to `bin/bench.js` or to the CLI process itself. Each time: a clear message, an
// `interrupted` event, the summary marked incomplete, the engine workers gone, no connection left
// and the cluster's run lock free, exit status 128 + the signal. A second Ctrl-C a moment later
// forces the exit, and the folder still resumes. Real `npx bench run` processes, real signals.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSpec } from '../../approaches/resolve.js';
import { withClient } from '../../src/db/connect.js';
import { resolveWorkload } from '../../workloads/index.js';
import { TEST_SEGMENTS, testTopology } from '../helpers/cluster.js';
import {
  freshRunsDir,
  readEvents,
  readSummary,
  startCommand,
  unitEvents,
  waitFor,
  type Finished,
} from '../resume/helpers.js';

const RUN_LOCK_KEY = 0x62656e63;
const workload = resolveWorkload('criteo', 'tiny', 1);

function childrenOf(pid: number): { pid: number; args: string }[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [, id, args] = /^\s*(\d+)\s+(.*)$/.exec(line)!;
      return { pid: Number(id), args };
    });
}

function groupMembers(pgid: number): number[] {
  try {
    return execFileSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is dead.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/**
 * Connections of bench processes to any instance, and holders of the run lock, once the servers
 * noticed the clients are gone (a backend whose client was killed ends within moments).
 */
async function leftovers(): Promise<{ connections: number; lockHolders: number }> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = await countLeftovers();
    if ((found.connections === 0 && found.lockHolders === 0) || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function countLeftovers(): Promise<{ connections: number; lockHolders: number }> {
  const topology = await testTopology();
  let connections = 0;
  let lockHolders = 0;
  for (const instance of [topology.coordinator, ...topology.segments]) {
    await withClient(instance, async (client) => {
      const a = await client.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'bench%' AND pid <> pg_backend_pid()",
      );
      const l = await client.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1",
        [RUN_LOCK_KEY],
      );
      connections += Number(a.rows[0].n);
      lockHolders += Number(l.rows[0].n);
    });
  }
  return { connections, lockHolders };
}

interface StartedRun {
  npx: number;
  benchJs: number;
  cli: number;
  workers: number[];
  runDir: string;
  done: Promise<Finished>;
}

/** `npx bench run` in its own process group (a terminal's foreground job), up to its engine workers. */
async function startRun(runsDir: string): Promise<StartedRun> {
  const { child, done } = startCommand([
    'npx',
    'bench',
    'run',
    '-a',
    'export',
    '-w',
    'criteo',
    '-s',
    'tiny',
    '--runs-dir',
    runsDir,
    '--sample-ms',
    '0',
  ]);
  const npx = child.pid!;
  const runDir = await waitFor('the run folder', () => {
    const names = existsSync(runsDir) ? readdirSync(runsDir) : [];
    return names.length === 1 ? join(runsDir, names[0]) : undefined;
  });
  // Both workers spawned and answered: their engine-init spans are written.
  await waitFor('the engine workers', () =>
    existsSync(join(runDir, 'events.jsonl')) &&
    readEvents(runDir).filter((e) => e.type === 'span' && e.kind === 'engine-init').length === TEST_SEGMENTS
      ? true
      : undefined,
  );
  const benchJs = childrenOf(npx).find((c) => /\bbench\b/.test(c.args))?.pid;
  expect(benchJs, 'npx runs bin/bench.js directly (no shell in between)').toBeDefined();
  const cli = childrenOf(benchJs!).find((c) => c.args.includes('src/cli/main.ts'))?.pid;
  expect(cli).toBeDefined();
  const workers = childrenOf(cli!)
    .filter((c) => c.args.includes('bench_engine.worker'))
    .map((c) => c.pid);
  expect(workers).toHaveLength(TEST_SEGMENTS);
  return { npx, benchJs: benchJs!, cli: cli!, workers, runDir, done };
}

async function expectEndedCleanly(run: StartedRun, finished: Finished, signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  expect(finished.code, finished.stderr).toBe(signal === 'SIGINT' ? 130 : 143);
  const said = signal === 'SIGINT' ? 'SIGINT \\(Ctrl-C\\)' : 'SIGTERM';
  expect(finished.stderr).toMatch(new RegExp(`bench: ${said}: stopping the run; its folder stays resumable`));
  expect(finished.stderr).toContain(
    `The run is marked incomplete in ${run.runDir}; continue it with --resume ${run.runDir}`,
  );
  const events = readEvents(run.runDir);
  expect(events.filter((e) => e.type === 'interrupted')).toHaveLength(1);
  expect(events.find((e) => e.type === 'interrupted')).toMatchObject({
    reason: signal === 'SIGINT' ? 'SIGINT (Ctrl-C)' : 'SIGTERM',
  });
  expect(readSummary(run.runDir)).toMatchObject({ status: 'incomplete', finishedAt: null });
  expect(groupMembers(run.npx)).toEqual([]);
  for (const worker of run.workers) expect(alive(worker), `engine worker ${worker}`).toBe(false);
  expect(await leftovers()).toEqual({ connections: 0, lockHolders: 0 });
}

async function expectResumes(runDir: string): Promise<void> {
  const { summary } = await runSpec({
    approach: 'export',
    workload: 'criteo',
    scale: 'tiny',
    topology: await testTopology(),
    resume: runDir,
    sampleIntervalMs: 0,
  });
  expect(summary.status).toBe('complete');
  expect(unitEvents(readEvents(runDir))).toHaveLength(workload.configs.length * TEST_SEGMENTS * workload.epochs);
}

describe('a signal to any process of a run ends it the same way', () => {
  it('Ctrl-C (SIGINT to the process group)', async () => {
    const run = await startRun(freshRunsDir('signal-group'));
    process.kill(-run.npx, 'SIGINT');
    await expectEndedCleanly(run, await run.done, 'SIGINT');
    await expectResumes(run.runDir);
  });

  it('SIGINT to the top-level npx process only', async () => {
    const run = await startRun(freshRunsDir('signal-npx'));
    process.kill(run.npx, 'SIGINT');
    await expectEndedCleanly(run, await run.done, 'SIGINT');
  });

  it('SIGTERM to bin/bench.js only', async () => {
    const run = await startRun(freshRunsDir('signal-benchjs'));
    process.kill(run.benchJs, 'SIGTERM');
    await expectEndedCleanly(run, await run.done, 'SIGTERM');
  });

  it('SIGTERM to the CLI process only', async () => {
    const run = await startRun(freshRunsDir('signal-cli'));
    process.kill(run.cli, 'SIGTERM');
    await expectEndedCleanly(run, await run.done, 'SIGTERM');
  });

  it('a second Ctrl-C forces the exit at once, and the folder still resumes', async () => {
    const run = await startRun(freshRunsDir('signal-force'));
    // Stopped workers cannot finish what the first Ctrl-C waits for.
    for (const worker of run.workers) process.kill(worker, 'SIGSTOP');
    process.kill(-run.npx, 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const forcedAt = Date.now();
    process.kill(-run.npx, 'SIGINT');
    const finished = await run.done;
    expect(Date.now() - forcedAt).toBeLessThan(4000);
    expect(finished.code, finished.stderr).toBe(130);
    expect(finished.stderr).toContain('bench: SIGINT (Ctrl-C) again: stopping at once');
    expect(finished.stderr).toContain(`continue it with --resume ${run.runDir}`);
    // One interrupted event; the forced exit is recorded as its reason, or after it when the first
    // Ctrl-C had already closed the attempt and was waiting for the workers to close.
    const events = readEvents(run.runDir);
    expect(events.filter((e) => e.type === 'interrupted')).toHaveLength(1);
    expect(
      events.some(
        (e) =>
          (e.type === 'interrupted' && e.reason === 'SIGINT (Ctrl-C), forced') ||
          (e.type === 'log' && e.message === 'stopped at once: SIGINT (Ctrl-C), forced'),
      ),
    ).toBe(true);
    expect(readSummary(run.runDir).status).toBe('incomplete');
    expect(groupMembers(run.npx)).toEqual([]);
    for (const worker of run.workers) expect(alive(worker), `engine worker ${worker}`).toBe(false);
    expect(await leftovers()).toEqual({ connections: 0, lockHolders: 0 });
    await expectResumes(run.runDir);
  });
});
