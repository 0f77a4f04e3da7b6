// The planner's estimates (studies/estimate.ts) on synthetic run folders: the schedule models give
// the makespans their definitions say, a request is estimated from the unit times of stored runs of
// the same workload and scale (scaled by the approach's own overhead), and one with nothing
// comparable stored says what to run first.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  estimateRun,
  planMarkdown,
  planStudies,
  readRunEstimate,
  simulatedExecution,
  writeRunEstimate,
} from '../../studies/estimate.js';
import { getStudy } from '../../studies/index.js';
import type { RunRequest } from '../../studies/types.js';
import { loadRun } from '../../src/store/read.js';
import { syntheticRun, writeRunFolder } from '../metrics/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'bench-estimate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const request = (approach: string, segments: number): RunRequest => ({
  approach,
  workload: 'criteo',
  scale: 'tiny',
  segments,
  options: {},
  seed: 1,
});

describe('schedule models', () => {
  it('give the makespans their definitions say', () => {
    // 4 configs of 1 s of work each on 2 workers, one epoch: every model keeps both workers busy.
    for (const model of ['sync', 'async', 'all-workers', 'whole-config'] as const) {
      expect(simulatedExecution(model, [1, 1, 1, 1], 2, 1, 1), model).toBeCloseTo(2, 9);
    }
    // One slow config: sync waits for it at every batch, whole-config puts it alone on a worker.
    expect(simulatedExecution('all-workers', [4, 1, 1, 1], 2, 3, 1)).toBeCloseTo(10.5, 9);
    expect(simulatedExecution('whole-config', [4, 1, 1, 1], 2, 1, 1)).toBeCloseTo(4, 9);
    expect(simulatedExecution('sync', [4, 1, 1, 1], 2, 1, 1)).toBeGreaterThan(
      simulatedExecution('async', [4, 1, 1, 1], 2, 1, 1) - 1e-9,
    );
  });
});

describe('estimateRun', () => {
  it('simulates from stored unit times, scaled by the approach overhead, and says so', async () => {
    const stored = [
      await loadRun(
        writeRunFolder(root, syntheticRun({ runId: 'ctq-2', approach: 'ctq', workload: 'criteo', segments: 2 })),
      ),
    ];
    const own = estimateRun(request('ctq', 4), stored);
    expect(own.method).toBe('simulated');
    expect(own.executionSeconds).toBeGreaterThan(0);
    expect(own.basis).toMatch(
      /async schedule simulated from the unit times of 1 stored criteo\/tiny run\(s\) of the approach/,
    );
    expect(own.basis).toMatch(/the approach's measured overhead over its simulated schedule \(1 run/);
    expect(own.etlSeconds).toBeCloseTo(stored[0].summary.etlSeconds, 9);
    // The fixture's two configs are not the workload's: the others are given the median config's work.
    expect(own.basis).toMatch(/configs never ran here: the median config's work is used/);
    // Twice the segments, about half the time (the same work spread wider).
    const onTwo = estimateRun(request('ctq', 2), stored);
    expect(onTwo.executionSeconds! / own.executionSeconds!).toBeGreaterThan(1.5);

    const other = estimateRun(request('udaf', 2), stored);
    expect(other.method).toBe('simulated');
    expect(other.basis).toMatch(/no stored run of the approach/);
  });

  it('says what to run first when nothing comparable is stored', () => {
    const none = estimateRun(request('da', 2), []);
    expect(none).toMatchObject({ method: 'none', executionSeconds: null, etlSeconds: null });
    expect(none.basis).toMatch(/run criteo at tiny scale once/);
  });

  it('plans a study: every request listed, stored ones marked, missing ones estimated', async () => {
    const plan = await planStudies([getStudy('fig11')], { scale: 'tiny', repeats: 1 }, join(root, 'empty'));
    expect(plan.runs).toHaveLength(4);
    expect(plan.runs.every((r) => !r.stored && r.estimate?.method === 'none')).toBe(true);
    const md = planMarkdown(plan, { scale: 'paper', repeats: 1 });
    expect(md).toMatch(/4 requests: 0 stored, 4 to run/);
    expect(md).toMatch(/Paper scale needs the real datasets/);
  });

  it('keeps an estimate with its run folder, and reads back nothing from a folder without one', async () => {
    const dir = writeRunFolder(root, syntheticRun({ runId: 'kept-estimate' }));
    expect(await readRunEstimate(dir)).toBeUndefined();
    const estimate = estimateRun(request('da', 2), []);
    await writeRunEstimate(dir, estimate);
    expect(await readRunEstimate(dir)).toEqual(estimate);
  });

  it('counts a run two studies ask for once, under the first that asks', async () => {
    const plan = await planStudies(
      [getStudy('table2-table3'), getStudy('table6-fig9')],
      { scale: 'tiny', repeats: 1 },
      join(root, 'empty'),
    );
    const again = plan.runs.filter((r) => r.sharedWith !== undefined);
    expect(again.length).toBeGreaterThan(0);
    expect(again.every((r) => r.study === 'table6-fig9' && r.sharedWith === 'table2-table3')).toBe(true);
    expect(again.every((r) => r.request.workload === 'criteo' && r.estimate === null)).toBe(true);
    expect(planMarkdown(plan, { scale: 'tiny', repeats: 1 })).toMatch(
      new RegExp(`, ${again.length} asked again by a later study \\(run once\\)`),
    );
  });
});
