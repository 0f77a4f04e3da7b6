// The harness keeps its promises: an interrupted run is marked incomplete with everything measured
// so far on disk, and `--resume` finishes it without repeating or losing a sub-epoch.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSpec } from '../../approaches/resolve.js';
import { runEventSchema, type RunEvent } from '../../src/core/events.js';
import { summarySchema } from '../../src/core/records.js';
import { resolveWorkload } from '../../workloads/index.js';
import { testTopology } from '../helpers/cluster.js';

const runsDir = mkdtempSync(join(tmpdir(), 'bench-harness-'));

function events(runDir: string): RunEvent[] {
  return readFileSync(join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => runEventSchema.parse(JSON.parse(line)));
}

describe('harness', () => {
  it.each(['export', 'udaf'])(
    '%s: an interrupted run is marked incomplete and resumes to exactly the full set of sub-epochs',
    async (approach) => {
      const topology = await testTopology();
      const workload = resolveWorkload('criteo', 'tiny', 1);
      const totalUnits = workload.configs.length * topology.segments.length * workload.epochs;
      const controller = new AbortController();
      let units = 0;
      let runDir = '';
      const interrupted = runSpec({
        approach,
        workload: 'criteo',
        scale: 'tiny',
        topology,
        runsDir,
        sampleIntervalMs: 0,
        signal: controller.signal,
        onEvent: (event) => {
          // Stop in the middle of the second epoch.
          if (event.type === 'unit' && ++units === totalUnits / 2 + 1) controller.abort(new Error('test interrupt'));
        },
      });
      await expect(interrupted).rejects.toThrow(/incomplete.*--resume (\S+)/s);
      const message = (await interrupted.catch((e: Error) => e.message)) as string;
      runDir = /--resume (\S+)/.exec(message)?.[1] ?? '';
      expect(existsSync(join(runDir, 'summary.json'))).toBe(true);
      const partial = summarySchema.parse(JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')));
      expect(partial.status).toBe('incomplete');
      expect(partial.finishedAt).toBeNull();
      const before = events(runDir).filter((e) => e.type === 'unit').length;
      expect(before).toBeGreaterThan(totalUnits / 2);
      expect(before).toBeLessThan(totalUnits);

      const { summary } = await runSpec({
        approach,
        workload: 'criteo',
        scale: 'tiny',
        topology,
        resume: runDir,
        sampleIntervalMs: 0,
      });
      expect(summary.status).toBe('complete');
      const unitEvents = events(runDir).filter((e): e is Extract<RunEvent, { type: 'unit' }> => e.type === 'unit');
      expect(unitEvents).toHaveLength(totalUnits);
      expect(new Set(unitEvents.map((u) => `${u.config}/${u.segment}/${u.epoch}`)).size).toBe(totalUnits);
      // Every config has metrics for every epoch, and the resumed epoch's training loss covers all of its examples.
      expect(summary.metrics).toHaveLength(workload.configs.length * workload.epochs);
      const examples = events(runDir).filter((e): e is Extract<RunEvent, { type: 'epoch' }> => e.type === 'epoch');
      const perEpoch = (epoch: number): number[] =>
        examples
          .filter((e) => e.epoch === epoch)
          .map((e) => e.trainExamples)
          .sort();
      expect(perEpoch(workload.epochs - 1)).toEqual(perEpoch(0));
    },
  );

  it('refuses an unknown approach, listing the valid ones', async () => {
    await expect(
      runSpec({ approach: 'nope', workload: 'criteo', scale: 'tiny', topology: await testTopology() }),
    ).rejects.toThrow(/unknown approach "nope"; valid approaches: .*udaf.*export/);
  });
});
