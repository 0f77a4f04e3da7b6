import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/core/events.js';
import {
  ciExitCode,
  collectRatios,
  compareToBaseline,
  parseCiBaseline,
  runRatios,
  type CiBaseline,
  type CiComparison,
} from '../../src/metrics/ci-ratios.js';

function epochEvent(config: number, epoch: number, trainExamples: number): RunEvent {
  return { type: 'epoch', config, epoch, trainLoss: 0.5, validLoss: 0.5, validAccuracy: 0.7, trainExamples, at: 0 };
}

/** A baseline-shaped side: per approach, `n` values around `level` (ratios), spread by +-jitter. */
function side(level: Record<string, number>, options: { n?: number; jitter?: number; workload?: string; scale?: string; segments?: number } = {}): CiBaseline {
  const n = options.n ?? 3;
  const jitter = options.jitter ?? 0.01;
  const values = (x: number) => Array.from({ length: n }, (_, i) => x * (1 + jitter * ((i % 3) - 1)));
  return {
    formatVersion: 1,
    workload: options.workload ?? 'criteo',
    scale: options.scale ?? 'tiny',
    segments: options.segments ?? 2,
    createdAt: '2025-01-01T00:00:00.000Z',
    environment: { cpuModel: 'Test CPU', cpuCores: 2, torch: '2.1.0', postgres: '15.10' },
    approaches: Object.fromEntries(
      Object.entries(level).map(([a, x]) => [a, { executionRatio: values(x), etlRatio: values(x / 4), epochRatio: values(x / 2) }]),
    ),
  };
}

function compared(result: CiComparison): Extract<CiComparison, { kind: 'compared' }> {
  if (result.kind !== 'compared') throw new Error(`expected a comparison, got: ${result.problems.join('; ')}`);
  return result;
}

describe('runRatios', () => {
  it('divides by the raw loop time for the same examples on the same number of workers', () => {
    // 2 configs x 2 epochs x 1000 examples = 4000 examples; the raw loop does 500 examples/s per
    // worker, so 2 workers would take 4000 / 500 / 2 = 4 s.
    const events: RunEvent[] = [epochEvent(0, 0, 1000), epochEvent(1, 0, 1000), epochEvent(0, 1, 1000), epochEvent(1, 1, 1000)];
    const r = runRatios({ summary: { executionSeconds: 20, etlSeconds: 2, epochSeconds: [9, 11] }, events, segments: 2 }, 500);
    expect(r.examplesTrained).toBe(4000);
    expect(r.epochs).toBe(2);
    expect(r.rawSeconds).toBeCloseTo(4, 12);
    expect(r.executionRatio).toBeCloseTo(5, 12);
    expect(r.etlRatio).toBeCloseTo(0.5, 12);
    // mean epoch 10 s against 4 s / 2 epochs = 2 s per raw epoch.
    expect(r.epochRatio).toBeCloseTo(5, 12);
  });

  it('counts a (config, epoch) once when it was recorded twice (a resumed run), the last event winning', () => {
    const events: RunEvent[] = [epochEvent(0, 0, 999), epochEvent(0, 0, 1000)];
    const r = runRatios({ summary: { executionSeconds: 4, etlSeconds: 0, epochSeconds: [] }, events, segments: 1 }, 1000);
    expect(r.examplesTrained).toBe(1000);
    expect(r.executionRatio).toBeCloseTo(4, 12);
    expect(r.epochRatio).toBeNull();
  });

  it('refuses a run that trained nothing and a raw loop without throughput', () => {
    expect(() => runRatios({ summary: { executionSeconds: 1, etlSeconds: 1, epochSeconds: [1] }, events: [], segments: 2 }, 100)).toThrow(/no examples/);
    expect(() => runRatios({ summary: { executionSeconds: 1, etlSeconds: 1, epochSeconds: [1] }, events: [epochEvent(0, 0, 1)], segments: 2 }, 0)).toThrow(/positive/);
  });

  it('collects runs into the per-approach arrays of a baseline', () => {
    const r = (x: number, epoch: number | null) => ({ executionRatio: x, etlRatio: x / 2, epochRatio: epoch, rawSeconds: 1, examplesTrained: 1, epochs: 1 });
    const collected = collectRatios([
      { approach: 'udaf', ratios: r(3, 1.5) },
      { approach: 'export', ratios: r(2, null) },
      { approach: 'udaf', ratios: r(4, 2) },
    ]);
    expect(collected).toEqual({
      udaf: { executionRatio: [3, 4], etlRatio: [1.5, 2], epochRatio: [1.5, 2] },
      export: { executionRatio: [2], etlRatio: [1], epochRatio: [] },
    });
  });
});

describe('the baseline file', () => {
  it('round-trips through the schema and rejects a malformed file with its name', () => {
    const b = side({ udaf: 3 });
    expect(parseCiBaseline(JSON.stringify(b))).toEqual(b);
    expect(() => parseCiBaseline('{', 'bench/ci-baseline.json')).toThrow(/bench\/ci-baseline\.json: not JSON/);
    expect(() => parseCiBaseline(JSON.stringify({ ...b, formatVersion: 2 }), 'x.json')).toThrow(/x\.json: not a bench:ci baseline.*formatVersion/);
    expect(() => parseCiBaseline(JSON.stringify({ ...b, approaches: { udaf: { executionRatio: ['a'] } } }))).toThrow(/approaches\.udaf/);
  });
});

describe('compareToBaseline', () => {
  it('passes a clean comparison, with the noise test on every metric', () => {
    const result = compared(compareToBaseline(side({ udaf: 10, export: 4 }), side({ udaf: 10.2, export: 3.95 })));
    expect(result.rows).toHaveLength(6);
    expect(result.rows.map((r) => `${r.approach} ${r.metric}`)).toContain('udaf executionRatio');
    expect(result.rows.every((r) => r.test === 'welch' && r.p !== null && r.verdict === 'ok')).toBe(true);
    expect(result.notes).toEqual([]);
    expect(ciExitCode(result)).toBe(0);
  });

  it('detects an injected 1.5x slowdown of one approach', () => {
    const base = side({ udaf: 10, export: 4 });
    const candidate = side({ udaf: 15, export: 4 });
    const result = compared(compareToBaseline(base, candidate, { maxSlowdown: 1.1 }));
    const exec = result.rows.find((r) => r.approach === 'udaf' && r.metric === 'executionRatio')!;
    expect(exec.factor).toBeCloseTo(1.5, 6);
    expect(exec.p!).toBeLessThan(0.05);
    expect(exec.verdict).toBe('regression');
    expect(result.rows.filter((r) => r.approach === 'export').every((r) => r.verdict === 'ok')).toBe(true);
    expect(result.regression).toBe(true);
    expect(ciExitCode(result)).toBe(1);
  });

  it('tolerates a slowdown within the noise (large p), and calls a significant speedup faster, not a failure', () => {
    // 20% slower on average, but the runs spread by +-40%: Welch cannot tell.
    const noisy = compared(compareToBaseline(side({ udaf: 10 }, { jitter: 0.4 }), side({ udaf: 12 }, { jitter: 0.4 })));
    const exec = noisy.rows.find((r) => r.metric === 'executionRatio')!;
    expect(exec.factor).toBeGreaterThan(1.1);
    expect(exec.p!).toBeGreaterThan(0.05);
    expect(exec.verdict).toBe('ok');
    expect(ciExitCode(noisy)).toBe(0);

    const faster = compared(compareToBaseline(side({ udaf: 10 }), side({ udaf: 5 })));
    expect(faster.rows.every((r) => r.verdict === 'faster' && r.p! < 0.05)).toBe(true);
    expect(ciExitCode(faster)).toBe(0);
  });

  it('falls back to the factor alone with fewer than 3 values a side, and says so', () => {
    const result = compared(compareToBaseline(side({ udaf: 10 }, { n: 2 }), side({ udaf: 12 }, { n: 3 })));
    expect(result.rows.every((r) => r.test === 'factor only' && r.p === null && r.verdict === 'regression')).toBe(true);
    expect(result.notes.join('\n')).toMatch(/factor alone decides/);
    expect(ciExitCode(result)).toBe(1);
  });

  it('refuses mismatched baselines: another grid, or approaches on one side only, named', () => {
    const grid = compareToBaseline(side({ udaf: 10 }, { scale: 'small', segments: 4 }), side({ udaf: 10 }));
    expect(grid.kind).toBe('not comparable');
    if (grid.kind !== 'not comparable') return;
    expect(grid.problems).toHaveLength(2);
    expect(grid.problems.join('\n')).toMatch(/scale differs.*"small".*"tiny"/);
    expect(grid.problems.join('\n')).toMatch(/segments differs.*4.*2/);
    expect(ciExitCode(grid)).toBe(2);

    const workload = compareToBaseline(side({ udaf: 10 }, { workload: 'imagenet' }), side({ udaf: 10 }));
    expect(ciExitCode(workload)).toBe(2);

    const missing = compareToBaseline(side({ udaf: 10, ctq: 3 }), side({ udaf: 10, da: 2 }));
    expect(missing.kind).toBe('not comparable');
    if (missing.kind !== 'not comparable') return;
    expect(missing.problems).toEqual([
      'approaches in the baseline but not measured now: ctq',
      'approaches measured now but missing from the baseline: da (update the baseline with --update-baseline)',
    ]);
    expect(ciExitCode(missing)).toBe(2);
  });

  it('ignores the environment: ratios are meant to travel', () => {
    const other = side({ udaf: 10 });
    other.environment = { cpuModel: 'Another CPU', cpuCores: 64, torch: '2.5.0', postgres: '16.1' };
    expect(ciExitCode(compareToBaseline(side({ udaf: 10 }), other))).toBe(0);
  });
});
