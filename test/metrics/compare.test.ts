import { describe, expect, it } from 'vitest';
import {
  comparableRun,
  compareRuns,
  exitCodeOf,
  type ComparableRun,
  type Comparison,
} from '../../src/metrics/compare.js';
import { studentTUpperTail, welchTTest } from '../../src/metrics/stats.js';
import type { RunInfo } from '../../src/core/records.js';
import { loadedRun, syntheticRun } from './fixtures.js';

interface SideOptions {
  jitter?: number;
  approach?: string;
  segments?: number;
  raw?: number;
  environment?: Partial<RunInfo['environment']>;
  threads?: number;
  options?: RunInfo['options'];
}

/** n runs of one approach, each `slow` times the base duration, with a little deterministic jitter. */
function side(prefix: string, n: number, slow: number, o: SideOptions = {}): ComparableRun[] {
  const jitter = o.jitter ?? 0.01;
  return Array.from({ length: n }, (_, i) =>
    comparableRun(
      loadedRun(
        syntheticRun({
          runId: `${prefix}-${i}`,
          slow: slow * (1 + jitter * ((i % 3) - 1)),
          approach: o.approach,
          segments: o.segments,
          rawExamplesPerSecond: o.raw,
          environment: o.environment,
          threads: o.threads,
          options: o.options,
        }),
      ),
    ),
  );
}

function compared(result: Comparison): Extract<Comparison, { kind: 'compared' }> {
  if (result.kind !== 'compared') throw new Error(`expected a comparison, got: ${result.problems.join('; ')}`);
  return result;
}

function problems(result: Comparison): string {
  if (result.kind !== 'mismatch') throw new Error('expected a refusal');
  return result.problems.join('\n');
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
  it('passes a clean pair, with any number of runs per side, and reports n, mean and spread', () => {
    const result = compared(compareRuns(side('a', 5, 1), side('b', 4, 1.02)));
    expect(result.rows.map((r) => r.metric)).toEqual(['executionSeconds', 'epochSeconds', 'etlSeconds']);
    expect(result.rows.every((r) => r.test === 'welch' && r.verdict === 'ok')).toBe(true);
    const exec = result.rows[0];
    expect(exec.baseline.n).toBe(5);
    expect(exec.candidate.n).toBe(4);
    // 2 epochs x 2 rounds x 1 s, times the jitter: 4 s on average, spread by 1%.
    expect(exec.baseline.mean).toBeCloseTo(4 * (1 + (0.01 * (-1 + 0 + 1 - 1 + 0)) / 5), 9);
    expect(exec.baseline.sd).toBeGreaterThan(0);
    expect(exec.baseline.min).toBeLessThan(exec.baseline.max);
    expect(result.runs).toEqual({ baseline: 5, candidate: 4 });
    expect(exitCodeOf(result)).toBe(0);
  });

  it('fails on an injected slowdown, with the noise test when each side has 3 runs', () => {
    const result = compared(compareRuns(side('a', 3, 1), side('b', 3, 1.5)));
    expect(exitCodeOf(result)).toBe(1);
    const exec = result.rows.find((r) => r.metric === 'executionSeconds')!;
    expect(exec.factor).toBeCloseTo(1.5, 2);
    expect(exec.p!).toBeLessThan(0.05);
    expect(exec.verdict).toBe('regression');
  });

  it('calls a significant speed-up faster, never a failure', () => {
    const result = compared(compareRuns(side('a', 3, 1), side('b', 3, 0.5)));
    expect(result.rows.every((r) => r.verdict === 'faster')).toBe(true);
    expect(exitCodeOf(result)).toBe(0);
  });

  it('does not call a slowdown within noise a regression', () => {
    // 20% slower on average, but runs spread by +-40%: the t-test cannot tell.
    const result = compared(compareRuns(side('a', 3, 1, { jitter: 0.4 }), side('b', 3, 1.2, { jitter: 0.4 })));
    const exec = result.rows.find((r) => r.metric === 'executionSeconds')!;
    expect(exec.factor).toBeGreaterThan(1.1);
    expect(exec.p!).toBeGreaterThan(0.05);
    expect(exec.verdict).toBe('ok');
    expect(exitCodeOf(result)).toBe(0);
  });

  it('falls back to the factor alone with fewer than 3 runs a side, and says so', () => {
    const slow = compared(compareRuns(side('a', 1, 1), side('b', 2, 1.2)));
    expect(slow.rows.every((r) => r.test === 'factor only' && r.p === null)).toBe(true);
    expect(slow.notes.join(' ')).toMatch(/factor alone/);
    expect(exitCodeOf(slow)).toBe(1);
    expect(exitCodeOf(compareRuns(side('a', 1, 1), side('b', 1, 1.05)))).toBe(0);
    expect(exitCodeOf(compareRuns(side('a', 1, 1), side('b', 1, 1.05), { maxSlowdown: 1.01 }))).toBe(1);
  });

  it('refuses an environment difference naming the field, and accepts it when allowed', () => {
    const other = side('b', 2, 1, { environment: { cpuModel: 'Other CPU' } });
    const refused = compareRuns(side('a', 2, 1), other);
    expect(exitCodeOf(refused)).toBe(2);
    expect(problems(refused)).toMatch(
      /environment differs: cpuModel is "Test CPU" \(all 2 baseline runs\) vs "Other CPU" \(all 2 candidate runs\)/,
    );
    expect(problems(refused)).toMatch(/--allow-env-diff cpuModel/);
    // Runs are named where a value is not a whole side's.
    const mixed = compareRuns(side('a', 2, 1), [
      ...side('b', 1, 1),
      ...side('c', 1, 1, { environment: { cpuModel: 'X' } }),
    ]);
    expect(problems(mixed)).toMatch(
      /cpuModel is "Test CPU" \(all 2 baseline runs; candidate b-0\) vs "X" \(candidate c-0\)/,
    );

    const allowed = compared(compareRuns(side('a', 2, 1), other, { allowEnvDiff: ['cpuModel'] }));
    expect(allowed.environment).toEqual([
      {
        field: 'cpuModel',
        effect: 'allowed',
        values: [
          { value: 'Test CPU', baseline: ['a-0', 'a-1'], candidate: [] },
          { value: 'Other CPU', baseline: [], candidate: ['b-0', 'b-1'] },
        ],
        recorded: { baseline: 2, candidate: 2 },
      },
    ]);
  });

  it('refuses each incomparable field: affinity, threads, versions, settings', () => {
    const cases: [SideOptions, RegExp][] = [
      [{ environment: { cpuAffinity: '0' } }, /cpuAffinity is "0-1".*vs "0"/],
      [{ threads: 2 }, /threads is "1".*vs "2"/],
      [{ environment: { torch: '9.9.9' } }, /torch is "2\.1\.0".*vs "9\.9\.9"/],
      [{ environment: { node: 'v22.0.0' } }, /node is/],
      [{ environment: { python: '3.12.0' } }, /python is/],
      [{ environment: { postgres: '16.1' } }, /postgres is/],
      [{ environment: { postgresSettings: { jit: 'on' } } }, /postgresSettings is "jit=off" .*vs "jit=on"/],
      [{ environment: { gpu: 'NVIDIA H100' } }, /gpu is "none".*vs "NVIDIA H100"/],
      [{ environment: { cpuCores: 64 } }, /cpuCores is "2".*vs "64"/],
    ];
    for (const [options, pattern] of cases) {
      const base = side('a', 1, 1, { environment: { cpuAffinity: '0-1' }, threads: 1 });
      const candidate = side('b', 1, 1, {
        threads: 1,
        ...options,
        environment: { cpuAffinity: '0-1', ...options.environment },
      });
      const result = compareRuns(base, candidate);
      expect(exitCodeOf(result), String(pattern)).toBe(2);
      expect(problems(result)).toMatch(pattern);
    }
  });

  it('reports the git sha and a dirty tree but never refuses them', () => {
    const head = side('b', 1, 1, { environment: { gitSha: 'fff', gitDirty: true } });
    const result = compared(compareRuns(side('a', 1, 1), head));
    expect(result.environment.map((d) => [d.field, d.effect])).toEqual([
      ['gitSha', 'reported'],
      ['gitDirty', 'reported'],
    ]);
  });

  it('names an unknown --allow-env-diff field with a did-you-mean', () => {
    expect(problems(compareRuns(side('a', 1, 1), side('b', 1, 1), { allowEnvDiff: ['cpuAfinity'] }))).toMatch(
      /unknown field "cpuAfinity"; did you mean "cpuAffinity"\?/,
    );
  });

  it('checks a field only where runs recorded it, with a note', () => {
    const old = side('a', 1, 1); // written before cpuAffinity was recorded
    const result = compared(compareRuns(old, side('b', 1, 1, { environment: { cpuAffinity: '0' } })));
    expect(result.notes.join('\n')).toMatch(/cpuAffinity is not recorded in 1 run/);
  });

  it('refuses runs of different approaches, segment counts or options, and incomplete runs', () => {
    expect(problems(compareRuns(side('a', 1, 1), side('b', 1, 1, { approach: 'udaf' })))).toMatch(
      /only the baseline has runs of ctq criteo\/tiny, 2 segments/,
    );
    expect(exitCodeOf(compareRuns(side('a', 1, 1), side('b', 1, 1, { segments: 4 })))).toBe(2);
    const options = compareRuns(
      side('a', 1, 1, { options: { modelsIn: 'files' } }),
      side('b', 1, 1, { options: { modelsIn: 'db' } }),
    );
    expect(problems(options)).toMatch(
      /only the baseline has runs of ctq criteo\/tiny, 2 segments, 2 epochs, 2 configs, modelsIn=files/,
    );
    const incomplete = [comparableRun(loadedRun(syntheticRun({ runId: 'x', complete: false }), 'incomplete'))];
    expect(problems(compareRuns(side('a', 1, 1), incomplete))).toMatch(/candidate run x .* is incomplete/);
  });

  it('refuses runs whose names match but whose configs differ (a head that changed the grid)', () => {
    const changed = side('b', 1, 1).map((r) => ({ ...r, workDigest: 'ffffffffffffffff' }));
    const result = compareRuns(side('a', 1, 1), changed);
    expect(problems(result)).toMatch(
      /ctq criteo\/tiny, 2 segments: the sides trained different work under the same names .* in the candidate\)/,
    );
    expect(problems(result)).toMatch(/digest [0-9a-f]{16} in the baseline, ffffffffffffffff in the candidate/);
    expect(problems(result)).not.toMatch(/only the/);
    const run = loadedRun(syntheticRun({ runId: 'x' }));
    const wider = { ...run, info: { ...run.info, configs: run.info.configs.map((c) => ({ ...c, hidden: [16] })) } };
    expect(comparableRun(wider).workDigest).not.toBe(comparableRun(run).workDigest);
  });

  it('judges many kinds of run at once, each on its own', () => {
    const baseline = [...side('a', 3, 1), ...side('u', 3, 1, { approach: 'udaf' })];
    const candidate = [...side('b', 3, 1), ...side('v', 3, 1.6, { approach: 'udaf' })];
    const result = compared(compareRuns(baseline, candidate));
    expect(new Set(result.rows.map((r) => r.group))).toEqual(
      new Set(['ctq criteo/tiny, 2 segments', 'udaf criteo/tiny, 2 segments']),
    );
    expect(result.rows.filter((r) => r.verdict === 'regression').every((r) => r.approach === 'udaf')).toBe(true);
    expect(exitCodeOf(result)).toBe(1);
  });
});

describe('compareRuns --metric ratio-to-raw', () => {
  // 2 configs x 2 epochs x 1000 examples on 2 workers; at 1000 examples/s per worker the raw loop
  // takes 2 s, and a run of `slow` 1 executes in 4 s: an execution ratio of 2.
  it('divides by the raw loop each run measured', () => {
    const result = compared(
      compareRuns(side('a', 3, 1, { raw: 1000 }), side('b', 3, 1, { raw: 1000 }), { metric: 'ratio-to-raw' }),
    );
    expect(result.rows.map((r) => r.metric)).toEqual(['executionRatio', 'epochRatio', 'etlRatio']);
    expect(result.rows[0].baseline.mean).toBeCloseTo(2, 1);
    expect(result.rows[0].unit).toBe('x');
  });

  it('gives no false alarm on a slower machine where seconds do, and still sees a real slowdown', () => {
    // Machine B is twice as slow: its runs take twice as long AND its raw loop is half as fast.
    const a = side('a', 3, 1, { raw: 1000, environment: { cpuAffinity: '0-1' } });
    const b = side('b', 3, 2, { raw: 500, environment: { cpuAffinity: '0' } });
    const seconds = compareRuns(a, b, { allowEnvDiff: ['cpuAffinity'] });
    expect(exitCodeOf(seconds)).toBe(1);
    expect(compared(seconds).rows.find((r) => r.metric === 'executionSeconds')!.factor).toBeCloseTo(2, 1);

    const ratios = compared(compareRuns(a, b, { metric: 'ratio-to-raw' }));
    expect(exitCodeOf(ratios)).toBe(0);
    expect(ratios.rows.find((r) => r.metric === 'executionRatio')!.factor).toBeCloseTo(1, 2);
    // The machine difference is reported, not refused.
    expect(ratios.environment.find((d) => d.field === 'cpuAffinity')!.effect).toBe('reported');

    // On that slower machine, code that is 1.5x slower still fails.
    const worse = side('c', 3, 3, { raw: 500, environment: { cpuAffinity: '0' } });
    expect(exitCodeOf(compareRuns(a, worse, { metric: 'ratio-to-raw' }))).toBe(1);
  });

  it('still refuses setup differences (threads, versions) under ratio-to-raw', () => {
    const result = compareRuns(side('a', 1, 1, { raw: 1000, threads: 1 }), side('b', 1, 1, { raw: 1000, threads: 2 }), {
      metric: 'ratio-to-raw',
    });
    expect(problems(result)).toMatch(/threads is "1".*vs "2"/);
  });

  it('refuses runs without a calibration, naming them', () => {
    const result = compareRuns(side('a', 1, 1), side('b', 1, 1, { raw: 1000 }), { metric: 'ratio-to-raw' });
    expect(problems(result)).toMatch(/baseline run a-0 .* has no raw-loop calibration/);
  });
});
