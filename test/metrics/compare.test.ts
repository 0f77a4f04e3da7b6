import { describe, expect, it } from 'vitest';
import { compareRuns, exitCodeOf } from '../../src/metrics/compare.js';
import { studentTUpperTail, welchTTest } from '../../src/metrics/stats.js';
import { loadedRun, syntheticRun } from './fixtures.js';

/** n runs of one approach, each `slow` times the base duration, with a little deterministic jitter. */
function side(prefix: string, n: number, slow: number, options: { jitter?: number; approach?: string; segments?: number } = {}) {
  const jitter = options.jitter ?? 0.01;
  return Array.from({ length: n }, (_, i) =>
    loadedRun(syntheticRun({ runId: `${prefix}-${i}`, slow: slow * (1 + jitter * ((i % 3) - 1)), approach: options.approach, segments: options.segments })),
  );
}

describe('stats', () => {
  it("matches known values of Student's t and Welch's test", () => {
    expect(studentTUpperTail(2, 10)).toBeCloseTo(0.036694, 5);
    expect(studentTUpperTail(1, 5)).toBeCloseTo(0.181609, 5);
    expect(studentTUpperTail(-1, 5)).toBeCloseTo(0.818391, 5);
    const w = welchTTest([10, 11, 12], [13, 14, 15]); // scipy: t=3.674, df=4, p(greater)=0.01066
    expect(w.t).toBeCloseTo(3.6742, 4);
    expect(w.df).toBeCloseTo(4, 6);
    expect(w.pGreater).toBeCloseTo(0.010656, 5);
    expect(welchTTest([1, 1, 1], [1, 1, 1]).pGreater).toBe(1);
    expect(welchTTest([1, 1, 1], [2, 2, 2]).pGreater).toBe(0);
  });
});

describe('compareRuns', () => {
  it('passes a clean pair', () => {
    const result = compareRuns(side('a', 3, 1), side('b', 3, 1.02));
    expect(result.kind).toBe('compared');
    if (result.kind !== 'compared') return;
    expect(result.rows.map((r) => r.metric)).toEqual(['executionSeconds', 'epochSeconds', 'etlSeconds']);
    expect(result.rows.every((r) => r.test === 'welch' && !r.regression)).toBe(true);
    expect(exitCodeOf(result)).toBe(0);
  });

  it('fails on an injected slowdown, with the noise test when each side has 3 runs', () => {
    const result = compareRuns(side('a', 3, 1), side('b', 3, 1.5));
    expect(exitCodeOf(result)).toBe(1);
    if (result.kind !== 'compared') throw new Error('expected a comparison');
    const exec = result.rows.find((r) => r.metric === 'executionSeconds')!;
    expect(exec.factor).toBeCloseTo(1.5, 2);
    expect(exec.p).not.toBeNull();
    expect(exec.p!).toBeLessThan(0.05);
    expect(exec.regression).toBe(true);
  });

  it('does not call a slowdown within noise a regression', () => {
    // 20% slower on average, but runs spread by +-40%: the t-test cannot tell.
    const result = compareRuns(side('a', 3, 1, { jitter: 0.4 }), side('b', 3, 1.2, { jitter: 0.4 }));
    if (result.kind !== 'compared') throw new Error('expected a comparison');
    const exec = result.rows.find((r) => r.metric === 'executionSeconds')!;
    expect(exec.factor).toBeGreaterThan(1.1);
    expect(exec.p!).toBeGreaterThan(0.05);
    expect(exec.regression).toBe(false);
    expect(exitCodeOf(result)).toBe(0);
  });

  it('falls back to the factor alone with fewer than 3 runs a side, and says so', () => {
    const slow = compareRuns(side('a', 1, 1), side('b', 2, 1.2));
    if (slow.kind !== 'compared') throw new Error('expected a comparison');
    expect(slow.rows.every((r) => r.test === 'factor only' && r.p === null)).toBe(true);
    expect(slow.notes.join(' ')).toMatch(/factor alone/);
    expect(exitCodeOf(slow)).toBe(1);
    expect(exitCodeOf(compareRuns(side('a', 1, 1), side('b', 1, 1.05)))).toBe(0);
    expect(exitCodeOf(compareRuns(side('a', 1, 1), side('b', 1, 1.05), { maxSlowdown: 1.01 }))).toBe(1);
  });

  it('refuses a pair whose environments differ (but not on the git sha)', () => {
    const b = side('b', 1, 1);
    b[0].info.environment = { ...b[0].info.environment, cpuModel: 'Other CPU', gitSha: 'fff' };
    const result = compareRuns(side('a', 1, 1), b);
    expect(result.kind).toBe('mismatch');
    if (result.kind !== 'mismatch') return;
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(/cpuModel/);
    expect(exitCodeOf(result)).toBe(2);

    const onlySha = side('c', 1, 1);
    onlySha[0].info.environment = { ...onlySha[0].info.environment, gitSha: 'fff', gitDirty: true };
    expect(compareRuns(side('a', 1, 1), onlySha).kind).toBe('compared');
  });

  it('refuses runs of different approaches or segment counts, and incomplete runs', () => {
    const differentApproach = compareRuns(side('a', 1, 1), side('b', 1, 1, { approach: 'udaf' }));
    expect(exitCodeOf(differentApproach)).toBe(2);
    if (differentApproach.kind === 'mismatch') expect(differentApproach.problems.join('\n')).toMatch(/only the baseline has runs of ctq/);

    const differentSegments = compareRuns(side('a', 1, 1), side('b', 1, 1, { segments: 4 }));
    expect(exitCodeOf(differentSegments)).toBe(2);

    const incomplete = [loadedRun(syntheticRun({ runId: 'x', complete: false }), 'incomplete')];
    const result = compareRuns(side('a', 1, 1), incomplete);
    expect(result.kind).toBe('mismatch');
    if (result.kind === 'mismatch') expect(result.problems.join('\n')).toMatch(/incomplete/);
  });
});
