// Crash safety of the in-DBMS approaches (docs/indb.md): a run is killed for real at a named point
// (an instance stopped with `pg_ctl stop -m immediate`, or the bench process SIGKILLed, through
// BENCH_INJECT), the cluster is brought up again, and the resumed run must complete with every
// sub-epoch exactly once, every model version made exactly once, and, where the approach is
// deterministic (udaf, ma), the validation losses of an uninterrupted run with the same seed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSpec } from '../../approaches/resolve.js';
import { repoRoot } from '../../src/core/paths.js';
import type { RunEvent } from '../../src/core/events.js';
import { ensureCluster } from '../../src/db/cluster.js';
import { withClient } from '../../src/db/connect.js';
import { indbObjectName } from '../../src/engine/indb.js';
import { resolveWorkload } from '../../workloads/index.js';
import { testTopology, TEST_SEGMENTS } from '../helpers/cluster.js';

const WORKLOAD = 'criteo';
const workload = resolveWorkload(WORKLOAD, 'tiny', 1);
const unitsPerRun = workload.configs.length * TEST_SEGMENTS * workload.epochs;

function events(runDir: string): RunEvent[] {
  return readFileSync(join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RunEvent);
}

function validLosses(runDir: string): Map<string, number> {
  const losses = new Map<string, number>();
  for (const e of events(runDir)) if (e.type === 'epoch') losses.set(`${e.config}/${e.epoch}`, e.validLoss);
  return losses;
}

/** `bench run` in a child process with a fault injected; resolves with its exit and output. */
function crashedRun(
  approach: string,
  options: Record<string, string>,
  inject: string,
  runsDir: string,
): Promise<{ code: number | null; signal: string | null; output: string }> {
  const args = [
    '--import',
    'tsx',
    'src/cli/main.ts',
    'run',
    '--approach',
    approach,
    '--workload',
    WORKLOAD,
    '--scale',
    'tiny',
    '--runs-dir',
    runsDir,
    '--sample-ms',
    '0',
  ];
  for (const [key, value] of Object.entries(options)) args.push('--option', `${key}=${value}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot(), env: { ...process.env, BENCH_INJECT: inject } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

const references = new Map<string, Map<string, number>>();

async function reference(approach: string, options: Record<string, string>): Promise<Map<string, number>> {
  const key = `${approach}${JSON.stringify(options)}`;
  if (!references.has(key)) {
    const topology = await testTopology();
    const runsDir = mkdtempSync(join(tmpdir(), 'bench-crash-ref-'));
    const { runDir } = await runSpec({
      approach,
      workload: WORKLOAD,
      scale: 'tiny',
      topology,
      runsDir,
      options,
      sampleIntervalMs: 0,
    });
    references.set(key, validLosses(runDir));
  }
  return references.get(key) as Map<string, number>;
}

interface Scenario {
  approach: string;
  options?: Record<string, string>;
  inject: string;
  /** What the interrupted run must say (an instance named as down), when an instance was stopped. */
  says?: RegExp;
  /** Deterministic approaches resume to exactly the uninterrupted losses. */
  deterministic: boolean;
}

const hopSteps = ['hop:copied', 'hop:verified', 'hop:deleted'];
const SCENARIOS: Scenario[] = [
  // The 3rd move is the first model hop of the second batch (2 models, 2 segments).
  ...hopSteps.flatMap((step) => [
    {
      approach: 'udaf',
      inject: `${step}=stop-source@3`,
      says: /seg\d \(127\.0\.0\.1:\d+\) is down/,
      deterministic: true,
    },
    {
      approach: 'udaf',
      inject: `${step}=stop-destination@3`,
      says: /seg\d \(127\.0\.0\.1:\d+\) is down/,
      deterministic: true,
    },
    {
      approach: 'udaf',
      inject: `${step}=stop-coordinator@3`,
      says: /coordinator \(127\.0\.0\.1:\d+\) is down/,
      deterministic: true,
    },
  ]),
  { approach: 'udaf', inject: 'hop:copied=kill@3', deterministic: true },
  // Between a batch's commit on the segments and its events: the models are a version ahead.
  { approach: 'udaf', inject: 'udaf:batch-done=kill@3', deterministic: true },
  // Mid-statement: a segment, then the coordinator, dies while the segments train.
  {
    approach: 'udaf',
    inject: 'udaf:batch-running=stop-seg1@3',
    says: /seg1 \(127\.0\.0\.1:\d+\) is down/,
    deterministic: true,
  },
  {
    approach: 'udaf',
    inject: 'udaf:batch-running=stop-coordinator@5',
    says: /coordinator \(127\.0\.0\.1:\d+\) is down/,
    deterministic: true,
  },
  {
    approach: 'ma',
    inject: 'ma:broadcast=stop-seg1@3',
    says: /seg1 \(127\.0\.0\.1:\d+\) is down/,
    deterministic: true,
  },
  { approach: 'ma', inject: 'ma:averaged=kill@2', deterministic: true },
  { approach: 'ctq', inject: 'ctq:unit-done=kill@5', deterministic: false },
  { approach: 'ctq', options: { modelsIn: 'db' }, inject: 'ctq:unit-done=kill@5', deterministic: false },
  {
    approach: 'ctq',
    options: { modelsIn: 'db' },
    inject: 'hop:verified=stop-source@2',
    says: /seg\d \(127\.0\.0\.1:\d+\) is down/,
    deterministic: false,
  },
];

describe('in-DBMS runs survive crashes at every step', () => {
  it.each(SCENARIOS)('$approach $options with $inject resumes to the uninterrupted result', async (scenario) => {
    const options = scenario.options ?? {};
    const topology = await testTopology();
    // Whatever an earlier scenario left stopped is started again.
    await ensureCluster({ segments: TEST_SEGMENTS });
    const expected = scenario.deterministic ? await reference(scenario.approach, options) : undefined;
    const runsDir = mkdtempSync(join(tmpdir(), 'bench-crash-'));
    const crashed = await crashedRun(scenario.approach, options, scenario.inject, runsDir);
    expect(crashed.code === 0 && crashed.signal === null, crashed.output).toBe(false);
    if (scenario.says) expect(crashed.output).toMatch(scenario.says);
    const [runName] = readdirSync(runsDir);
    const runDir = join(runsDir, runName);

    await ensureCluster({ segments: TEST_SEGMENTS });
    const { summary } = await runSpec({
      approach: scenario.approach,
      workload: WORKLOAD,
      scale: 'tiny',
      topology,
      options,
      resume: runDir,
      sampleIntervalMs: 0,
    });
    expect(summary.status).toBe('complete');
    expect(summary.unitsCompleted).toBe(unitsPerRun);
    expect(summary.unitsRetried).toBe(0);

    // Every model version was made once: no sub-epoch trained twice or lost.
    const units = events(runDir).filter((e): e is Extract<RunEvent, { type: 'unit' }> => e.type === 'unit');
    for (const config of workload.configs) {
      const versions = units.filter((u) => u.config === config.id).map((u) => u.modelVersion as number);
      const expectedVersions =
        scenario.approach === 'ma'
          ? Array.from(
              { length: workload.epochs * TEST_SEGMENTS },
              (_, i) => (Math.floor(i / TEST_SEGMENTS) + 1) * TEST_SEGMENTS,
            )
          : Array.from({ length: workload.epochs * TEST_SEGMENTS }, (_, i) => i + 1);
      expect(versions.sort((a, b) => a - b)).toEqual(expectedVersions);
    }

    const losses = validLosses(runDir);
    expect(losses.size).toBe(workload.configs.length * workload.epochs);
    if (expected) {
      for (const [key, loss] of expected) expect(losses.get(key), key).toBeCloseTo(loss, 9);
    } else {
      // An async schedule depends on timing, so no two runs train in the same order: the losses
      // must continue (the last epoch learned more than the first), not restart.
      for (const config of workload.configs)
        expect(losses.get(`${config.id}/${workload.epochs - 1}`)).toBeLessThan(losses.get(`${config.id}/0`) as number);
    }
  });
});

describe('a resume that would lose trained work', () => {
  it('is refused before anything is changed, naming the config whose model is gone', async () => {
    const topology = await testTopology();
    await ensureCluster({ segments: TEST_SEGMENTS });
    const runsDir = mkdtempSync(join(tmpdir(), 'bench-crash-'));
    const crashed = await crashedRun('udaf', {}, 'udaf:batch-done=kill@3', runsDir);
    expect(crashed.signal).toBe('SIGKILL');
    const runDir = join(runsDir, readdirSync(runsDir)[0]);
    const runId = (JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as { runId: string }).runId;
    const table = indbObjectName(runId, 'models');
    for (const segment of topology.segments)
      await withClient(segment, (c) => c.query(`DELETE FROM ${table} WHERE config = 1`));
    const before = events(runDir).filter((e) => e.type === 'unit').length;
    await expect(
      runSpec({ approach: 'udaf', workload: WORKLOAD, scale: 'tiny', topology, resume: runDir, sampleIntervalMs: 0 }),
    ).rejects.toThrow(/cannot resume .*config 1: its model is missing \(the run recorded \d+ sub-epochs of it\)/s);
    // Nothing was recorded or rebuilt: the other models are as the crash left them.
    expect(events(runDir).filter((e) => e.type === 'unit').length).toBe(before);
    const left = await Promise.all(
      topology.segments.map((s) =>
        withClient(s, async (c) => (await c.query(`SELECT config FROM ${table}`)).rowCount ?? 0),
      ),
    );
    expect(left.reduce((a, b) => a + b, 0)).toBe(workload.configs.length - 1);
  });
});
