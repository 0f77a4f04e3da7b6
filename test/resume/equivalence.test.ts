// A resume's results equal an uninterrupted run's (docs/resume.md). The bench process is killed
// (SIGKILL, BENCH_INJECT) at several points of a real run: mid sub-epoch, after a worker wrote a
// new model version but before its unit was recorded, between units, and mid validation. The
// resumed run must then record every sub-epoch exactly once, and every sub-epoch's training loss
// and every epoch's metrics must equal a replay: each config trained alone, without interruption,
// over the same schedule, from the same seed and packed shards. The async random scheduler makes
// the schedule (which shard a config visits when) depend on timing, so two uninterrupted runs may
// visit shards in different orders; a given schedule's result is deterministic, which the first
// test of each approach shows on an uninterrupted run.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSpec } from '../../approaches/resolve.js';
import { resolveWorkload } from '../../workloads/index.js';
import { testTopology } from '../helpers/cluster.js';
import {
  epochMetrics,
  freshRunsDir,
  onlyRunFolder,
  readEvents,
  readSummary,
  relativeDifference,
  replayRun,
  runCli,
  unitEvents,
} from './helpers.js';

const TOLERANCE = 1e-6;
const workload = resolveWorkload('criteo', 'tiny', 1);

const POINTS = [
  { point: 'mid sub-epoch', inject: 'fleet:training:kill:5' },
  { point: 'after a new model version was written, before its unit was recorded', inject: 'fleet:checkpointed:kill:5' },
  { point: 'between units', inject: 'fleet:recorded:kill:6' },
  { point: 'mid validation', inject: 'fleet:validated:kill:2' },
];

async function expectEqualToReplay(runDir: string): Promise<void> {
  const topology = await testTopology();
  const replay = await replayRun(runDir, topology);
  const events = readEvents(runDir);
  const units = unitEvents(events);
  for (const config of workload.configs) {
    const recorded = units.filter((u) => u.config === config.id);
    const replayed = replay.units.filter((u) => u.config === config.id);
    expect(recorded.map((u) => `${u.epoch}/${u.segment}`)).toEqual(replayed.map((u) => `${u.epoch}/${u.segment}`));
    for (const [i, unit] of recorded.entries()) {
      expect(unit.modelVersion).toBe(i + 1);
      expect(unit.examples).toBe(replayed[i].examples);
      expect(relativeDifference(unit.lossSum, replayed[i].lossSum)).toBeLessThan(TOLERANCE);
    }
  }
  const metrics = epochMetrics(events);
  expect(metrics.size).toBe(workload.configs.length * workload.epochs);
  for (const [key, expected] of replay.metrics) {
    const got = metrics.get(key);
    expect(got, key).toBeDefined();
    expect(relativeDifference(got!.trainLoss, expected.trainLoss), `${key} train loss`).toBeLessThan(TOLERANCE);
    expect(relativeDifference(got!.validLoss, expected.validLoss), `${key} validation loss`).toBeLessThan(TOLERANCE);
    expect(got!.validAccuracy).toBe(expected.validAccuracy);
  }
}

describe.each(['export', 'da'])('%s resumes to the results of an uninterrupted run', (approach) => {
  const totalUnits = workload.configs.length * 2 * workload.epochs;

  it('an uninterrupted run equals the replay of its schedule (the comparison is exact)', async () => {
    const runsDir = freshRunsDir(`equal-${approach}`);
    const { runDir, summary } = await runSpec({
      approach,
      workload: 'criteo',
      scale: 'tiny',
      topology: await testTopology(),
      runsDir,
      sampleIntervalMs: 0,
    });
    expect(summary.status).toBe('complete');
    await expectEqualToReplay(runDir);
  });

  it.each(POINTS)(
    'killed $point: the resume records every sub-epoch once and equals the replay',
    async ({ inject }) => {
      const runsDir = freshRunsDir(`kill-${approach}`);
      const killed = await runCli(
        ['run', '-a', approach, '-w', 'criteo', '-s', 'tiny', '--runs-dir', runsDir, '--sample-ms', '0'],
        { BENCH_INJECT: inject },
      );
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      const runDir = onlyRunFolder(runsDir);
      const before = unitEvents(readEvents(runDir));
      expect(before.length).toBeGreaterThan(0);
      expect(before.length).toBeLessThan(totalUnits);
      expect(existsSync(join(runDir, 'summary.json'))).toBe(false);

      const models = join(runDir, 'work', 'models');
      if (inject.startsWith('fleet:checkpointed')) {
        // The killed attempt left one model a version ahead of its recorded units.
        const recorded = new Map<number, number>();
        for (const u of before) recorded.set(u.config, (recorded.get(u.config) ?? 0) + 1);
        const ahead = readdirSync(models).filter((name) => {
          const m = /^config-(\d+)\.v(\d+)\.pt$/.exec(name);
          return m !== null && Number(m[2]) === (recorded.get(Number(m[1])) ?? 0) + 1;
        });
        expect(ahead.length).toBeGreaterThan(0);
      }

      const { summary } = await runSpec({
        approach,
        workload: 'criteo',
        scale: 'tiny',
        topology: await testTopology(),
        resume: runDir,
        sampleIntervalMs: 0,
      });
      expect(summary.status).toBe('complete');
      expect(readSummary(runDir).status).toBe('complete');
      const events = readEvents(runDir);
      const units = unitEvents(events);
      expect(units).toHaveLength(totalUnits);
      expect(new Set(units.map((u) => `${u.config}/${u.segment}/${u.epoch}`)).size).toBe(totalUnits);
      // Every (config, epoch) validated exactly once, across both attempts.
      expect(events.filter((e) => e.type === 'epoch')).toHaveLength(workload.configs.length * workload.epochs);
      if (inject.startsWith('fleet:checkpointed')) {
        expect(
          events.some(
            (e) =>
              e.type === 'log' && /was written but that sub-epoch was never recorded; it is discarded/.test(e.message),
          ),
        ).toBe(true);
      }
      await expectEqualToReplay(runDir);
    },
  );
});
