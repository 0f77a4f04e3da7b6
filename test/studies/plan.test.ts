// The study planner on run folders written to a temporary folder: which requests a stored run
// answers (same approach, workload, scale, segments, seed and every declared option, complete),
// which are missing, that requests asked twice are run once, and the registry's studies.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getApproach } from '../../approaches/index.js';
import { SEARCH_APPROACHES } from '../../studies/fig12-table7.js';
import { STUDIES, getStudy } from '../../studies/index.js';
import { expectedRecord, planRuns, requestKey, scanStoredRuns } from '../../studies/plan.js';
import { grid, SEGMENTS_AT_SCALE, type RunRequest } from '../../studies/types.js';
import type { RunInfo } from '../../src/core/records.js';
import { runInfo, syntheticRun, writeRunFolder } from '../metrics/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'bench-plan-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const request = (over: Partial<RunRequest> = {}): RunRequest => ({
  approach: 'ctq',
  workload: 'hetero',
  scale: 'tiny',
  segments: 2,
  options: { p: '0.5' },
  seed: 1,
  ...over,
});

/** A run folder whose run.json records what `r` asks for (every declared option with its value). */
function storedFor(
  dir: string,
  runId: string,
  r: RunRequest,
  over: Partial<RunInfo> = {},
  status: 'complete' | 'incomplete' = 'complete',
): string {
  const e = expectedRecord(r);
  const run = syntheticRun({ runId, approach: r.approach, workload: r.workload, segments: r.segments });
  run.info = runInfo({
    ...run.info,
    scale: r.scale,
    seed: r.seed,
    options: e.options,
    workloadOptions: e.workloadOptions,
    ...over,
  });
  return writeRunFolder(dir, run, { status });
}

describe('planRuns', () => {
  it('reuses a complete stored run that records the same request, and runs the rest', () => {
    const dir = join(root, 'reuse');
    const stored = storedFor(dir, 'ctq-p05', request());
    const plan = planRuns([request(), request({ approach: 'udaf' })], scanStoredRuns(dir));
    expect(plan.reuse.get(requestKey(request()))?.dir).toBe(stored);
    expect(plan.missing).toEqual([request({ approach: 'udaf' })]);
  });

  it('does not reuse a run that differs in a workload option, seed, segments, scale or an approach option', () => {
    const dir = join(root, 'differ');
    const base = request();
    storedFor(dir, 'p09', request({ options: { p: '0.9' } }));
    storedFor(dir, 'seed2', request({ seed: 2 }));
    storedFor(dir, 'seg4', request({ segments: 4 }));
    storedFor(dir, 'small', base, { scale: 'small' });
    const e = expectedRecord(base);
    const [key] = Object.keys(e.options);
    expect(key).toBeDefined();
    const changed =
      typeof e.options[key] === 'number'
        ? Number(e.options[key]) + 1
        : typeof e.options[key] === 'boolean'
          ? !e.options[key]
          : `${e.options[key]}x`;
    storedFor(dir, 'option', base, { options: { ...e.options, [key]: changed } });
    const plan = planRuns([base], scanStoredRuns(dir));
    expect(scanStoredRuns(dir)).toHaveLength(5);
    expect(plan.reuse.size).toBe(0);
    expect(plan.missing).toEqual([base]);
  });

  it('does not reuse an incomplete run, and picks the latest of two complete ones', () => {
    const dir = join(root, 'status');
    storedFor(dir, 'dead', request(), { startedAt: '2025-03-01T00:00:00.000Z' }, 'incomplete');
    storedFor(dir, 'old', request(), { startedAt: '2025-01-01T00:00:00.000Z' });
    const newer = storedFor(dir, 'new', request(), { startedAt: '2025-02-01T00:00:00.000Z' });
    const plan = planRuns([request()], scanStoredRuns(dir));
    expect(plan.reuse.get(requestKey(request()))?.dir).toBe(newer);
  });

  it('asks for a request made twice once, and orders the missing runs by segment count', () => {
    const plan = planRuns(
      [
        request({ segments: 4 }),
        request({ segments: 1 }),
        request({ segments: 4 }),
        request({ segments: 2, approach: 'udaf' }),
      ],
      [],
    );
    expect(plan.requests).toHaveLength(3);
    expect(plan.missing.map((r) => r.segments)).toEqual([1, 2, 4]);
  });

  it('keys a request by its resolved options, so a default given explicitly is the same request', () => {
    const e = expectedRecord(request());
    const [key] = Object.keys(e.options);
    expect(requestKey(request({ options: { p: '0.5', [key]: String(e.options[key]) } }))).toBe(requestKey(request()));
  });

  it('skips folders without a readable run.json', () => {
    const dir = join(root, 'junk');
    storedFor(dir, 'good', request());
    writeRunFolder(dir, syntheticRun({ runId: 'other' }));
    rmSync(join(dir, 'other', 'run.json'));
    expect(scanStoredRuns(dir).map((s) => s.info.runId)).toEqual(['good']);
  });
});

describe('the study registry', () => {
  it('has the studies of the paper, each with runs at every scale and the same list every time', () => {
    expect(STUDIES.map((s) => s.id)).toEqual([
      'fig16',
      'table2-table3',
      'table6-fig9',
      'fig11',
      'fig15',
      'fig10',
      'fig12-table7',
    ]);
    // fig16 is computed by the simulator: it has no runs.
    const computed = new Set(['fig16']);
    for (const study of STUDIES) {
      for (const scale of ['tiny', 'small'] as const) {
        const ctx = { scale, repeats: 2 };
        expect(study.runs(ctx).map(requestKey)).toEqual(study.runs(ctx).map(requestKey));
        if (computed.has(study.id)) expect(study.runs(ctx), study.id).toEqual([]);
        else expect(study.runs(ctx).length, study.id).toBeGreaterThan(0);
      }
    }
  });

  it('shares the table6-fig9 Criteo runs with table2-table3', () => {
    const ctx = { scale: 'tiny' as const, repeats: 3 };
    const table6 = new Set(getStudy('table6-fig9').runs(ctx).map(requestKey));
    const table3 = getStudy('table2-table3').runs(ctx).map(requestKey);
    expect(table3.length).toBe(8);
    for (const key of table3) expect(table6.has(key), key).toBe(true);
  });

  it('plans fig10 on 1, 2, 4 and 8 segments with UDAF in every size', () => {
    const runs = getStudy('fig10').runs({ scale: 'tiny', repeats: 1 });
    expect([...new Set(runs.map((r) => r.segments))]).toEqual([1, 2, 4, 8]);
    for (const n of [1, 2, 4, 8]) expect(runs.some((r) => r.approach === 'udaf' && r.segments === n)).toBe(true);
  });

  it("plans fig15 as one udaf and one ctq run per model size on modelsize, at the scale's segments", () => {
    const runs = getStudy('fig15').runs({ scale: 'small', repeats: 2 });
    expect(runs).toHaveLength(12);
    expect(new Set(runs.map((r) => `${r.approach}/${r.options.size}`))).toEqual(
      new Set(['small', 'medium', 'large'].flatMap((size) => [`udaf/${size}`, `ctq/${size}`])),
    );
    for (const r of runs) expect([r.workload, r.segments]).toEqual(['modelsize', SEGMENTS_AT_SCALE.small]);
    expect(new Set(runs.map(requestKey)).size).toBe(12);
  });

  it('expands repeats into seeds 1..K', () => {
    const runs = grid({ scale: 'tiny', repeats: 3 }, [{ approach: 'ctq', workload: 'criteo', segments: 2 }]);
    expect(runs.map((r) => r.seed)).toEqual([1, 2, 3]);
  });

  it('refuses fig12-table7 exactly while some approach it needs cannot run a search, naming each', () => {
    const unable = SEARCH_APPROACHES.filter((id) => getApproach(id).searches !== true);
    const problems = getStudy('fig12-table7').check?.({ scale: 'tiny', repeats: 1 }) ?? [];
    if (unable.length === 0) expect(problems).toEqual([]);
    else {
      expect(problems).toHaveLength(1);
      expect(problems[0].message).toMatch(/cannot run a search yet/);
      for (const id of unable) expect(problems[0].message).toContain(id);
    }
  });
});
