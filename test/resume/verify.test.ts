// A resume verifies what it resumes from, and refuses before anything destructive happens
// (docs/resume.md): a request that differs from run.json is refused before the cluster is even
// looked at (so a --segments mismatch never rebuilds it), a new run does not rebuild the cluster
// under an interrupted run that could be resumed, and the model store must hold every unfinished
// config's model at the version its recorded units describe.
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runSpec } from '../../approaches/resolve.js';
import type { RunEvent } from '../../src/core/events.js';
import { clusterStatus, ensureCluster } from '../../src/db/cluster.js';
import { lockCluster } from '../../src/run/lock.js';
import { resolveWorkload } from '../../workloads/index.js';
import { TEST_SEGMENTS, testTopology } from '../helpers/cluster.js';
import { freshRunsDir, onlyRunFolder, readEvents, readSummary, runCli, unitEvents } from './helpers.js';

const workload = resolveWorkload('criteo', 'tiny', 1);
const totalUnits = workload.configs.length * TEST_SEGMENTS * workload.epochs;

/** Runs `approach` in-process and stops it (as Ctrl-C would) after `units` sub-epochs were recorded. */
async function interruptedRun(approach: string, runsDir: string, units: number): Promise<string> {
  const controller = new AbortController();
  let seen = 0;
  const run = runSpec({
    approach,
    workload: 'criteo',
    scale: 'tiny',
    topology: await testTopology(),
    runsDir,
    sampleIntervalMs: 0,
    signal: controller.signal,
    onEvent: (event) => {
      if (event.type === 'unit' && ++seen === units) controller.abort(new Error('test interrupt'));
    },
  });
  await expect(run).rejects.toThrow(/incomplete.*--resume/s);
  return onlyRunFolder(runsDir);
}

/** Events appended to a run folder since `before` was read. */
function appendedAfter(before: RunEvent[], runDir: string): RunEvent[] {
  return readEvents(runDir).slice(before.length);
}

describe('resume refuses before changing anything', () => {
  let runsDir: string;
  let runDir: string;

  beforeAll(async () => {
    runsDir = freshRunsDir('verify');
    runDir = await interruptedRun('export', runsDir, 6);
    expect(unitEvents(readEvents(runDir)).length).toBeLessThan(totalUnits);
  });

  it('bench run --segments 3 --resume <a 2-segment run> is refused before the cluster is touched', async () => {
    const done = await runCli([
      'run',
      '-a',
      'export',
      '-w',
      'criteo',
      '-s',
      'tiny',
      '--segments',
      '3',
      '--resume',
      runDir,
      '--runs-dir',
      runsDir,
      '--sample-ms',
      '0',
    ]);
    expect(done.code).toBe(2);
    expect(done.stderr).toMatch(
      /cannot resume \S+ with a different request: segments was 2, now 3 \(nothing was changed\)/,
    );
    const status = await clusterStatus();
    expect(status).toHaveLength(TEST_SEGMENTS + 1);
    expect(status!.every((s) => s.running)).toBe(true);
  });

  it('a resume with other options is refused before the lock, naming them', async () => {
    const before = readEvents(runDir);
    const resume = runSpec({
      approach: 'export',
      workload: 'criteo',
      scale: 'tiny',
      options: { compression: 'none' },
      topology: await testTopology(),
      resume: runDir,
      sampleIntervalMs: 0,
    });
    await expect(resume).rejects.toThrow(/options was \{"compression":"lz4"\}, now \{"compression":"none"\}/);
    expect(readEvents(runDir)).toEqual(before);
  });

  it('bench run --segments 3 does not rebuild the cluster under an interrupted run that could be resumed', async () => {
    const done = await runCli([
      'run',
      '-a',
      'export',
      '-w',
      'criteo',
      '-s',
      'tiny',
      '--segments',
      '3',
      '--runs-dir',
      runsDir,
      '--sample-ms',
      '0',
    ]);
    expect(done.code).toBe(2);
    expect(done.stderr).toContain('--segments 3 would rebuild the embedded cluster (it has 2 segments)');
    expect(done.stderr).toContain(runDir);
    expect(done.stderr).toContain('--rebuild-cluster');
    expect(await clusterStatus()).toHaveLength(TEST_SEGMENTS + 1);
    expect(readdirSync(runsDir)).toHaveLength(1);
  });

  it('nothing rebuilds the cluster while a run holds it, not even --rebuild-cluster or bench db up', async () => {
    // The lock exactly as a run in progress holds it (src/run/lock.ts), on the suite's cluster.
    const lock = await lockCluster(await testTopology());
    try {
      const done = await runCli([
        'run',
        '-a',
        'export',
        '-w',
        'criteo',
        '-s',
        'tiny',
        '--segments',
        '3',
        '--rebuild-cluster',
        '--runs-dir',
        runsDir,
        '--sample-ms',
        '0',
      ]);
      expect(done.code).toBe(2);
      expect(done.stderr).toMatch(
        /a bench run is using the embedded cluster \(coordinator backend pid \d+, bench-run-lock\)/,
      );
      expect(done.stderr).toContain(
        'so it cannot be rebuilt from 2 to 3 segments for this run now; nothing was changed',
      );
      expect(done.stderr).not.toContain('rebuilding the embedded cluster');
      await expect(ensureCluster({ segments: 3 })).rejects.toThrow(/cannot be rebuilt from 2 to 3 segments now/);
      expect(await clusterStatus()).toHaveLength(TEST_SEGMENTS + 1);
      expect((await clusterStatus())?.every((s) => s.running)).toBe(true);
      expect(readdirSync(runsDir)).toHaveLength(1);
    } finally {
      await lock.release();
    }
  });

  it('a missing, torn or wrong checkpoint refuses the resume, naming the config, before the ETL', async () => {
    const models = join(runDir, 'work', 'models');
    const saved = mkdtempSync(join(tmpdir(), 'bench-models-'));
    for (const name of readdirSync(models)) copyFileSync(join(models, name), join(saved, name));
    const restore = (): void => {
      for (const name of readdirSync(models)) rmSync(join(models, name));
      for (const name of readdirSync(saved)) copyFileSync(join(saved, name), join(models, name));
    };
    const resume = async (): Promise<string> => {
      const before = readEvents(runDir);
      const error = await runSpec({
        approach: 'export',
        workload: 'criteo',
        scale: 'tiny',
        topology: await testTopology(),
        resume: runDir,
        sampleIntervalMs: 0,
      }).then(
        () => 'resumed',
        (e: Error) => e.message,
      );
      // A refused resume leaves the folder as it was.
      expect(appendedAfter(before, runDir)).toEqual([]);
      return error;
    };
    // The checkpoint each config's recorded units describe.
    const recorded = new Map<number, number>();
    for (const u of unitEvents(readEvents(runDir))) recorded.set(u.config, (recorded.get(u.config) ?? 0) + 1);
    const checkpoints = [...recorded].map(([c, v]) => `config-${c}.v${v}.pt`);
    expect(readdirSync(models)).toEqual(expect.arrayContaining(checkpoints));
    const [first] = checkpoints;
    const [, config, version] = /^config-(\d+)\.v(\d+)\.pt$/.exec(first)!;

    // Today's symptom: the models were recreated from their initial weights (here: the store emptied).
    rmSync(models, { recursive: true });
    expect(await resume()).toMatch(
      new RegExp(
        `config ${config} \\(.*\\) has ${version} recorded sub-epochs, ` +
          `but its checkpoint after ${version} sub-epochs is missing`,
      ),
    );
    restore();

    const size = statSync(join(models, first)).size;
    truncateSync(join(models, first), size - 100);
    expect(await resume()).toMatch(
      new RegExp(`config ${config} .* holds ${size - 100} bytes, its header announces ${size}`),
    );
    restore();

    // Six or seven recorded units over four configs: some model is at another version than `first`.
    const other = readdirSync(saved).find((n) => !n.endsWith(`.v${version}.pt`));
    expect(other).toBeDefined();
    const otherVersion = /\.v(\d+)\.pt$/.exec(other!)![1];
    copyFileSync(join(saved, other!), join(models, first));
    expect(await resume()).toMatch(
      new RegExp(`config ${config} .* holds the model after ${otherVersion} sub-epochs, the events record ${version}`),
    );
    restore();
    expect(readSummary(runDir).status).toBe('incomplete');

    // With the checkpoints back, the same folder resumes to the full set of sub-epochs.
    const { summary } = await runSpec({
      approach: 'export',
      workload: 'criteo',
      scale: 'tiny',
      topology: await testTopology(),
      resume: runDir,
      sampleIntervalMs: 0,
    });
    expect(summary.status).toBe('complete');
    expect(unitEvents(readEvents(runDir))).toHaveLength(totalUnits);
  });
});

describe('ddp refuses --resume before its ETL', () => {
  it('names why: its models lived in the interrupted process', async () => {
    const runsDir = freshRunsDir('ddp-resume');
    const runDir = await interruptedRun('ddp', runsDir, 1);
    const before = readEvents(runDir);
    const resume = runSpec({
      approach: 'ddp',
      workload: 'criteo',
      scale: 'tiny',
      topology: await testTopology(),
      resume: runDir,
      sampleIntervalMs: 0,
    });
    await expect(resume).rejects.toThrow(
      new RegExp(
        "ddp keeps its models only in the interrupted attempt's process memory, which is gone, " +
          'so \\S+ cannot be resumed .*fix: start a new run',
        's',
      ),
    );
    expect(appendedAfter(before, runDir)).toEqual([]);
  });
});
