// Runs land in the same row only when every input that changes a run is the same; rows are named by
// what sets them apart; code versions and machines are never averaged together.
import { describe, expect, it } from 'vitest';
import { groupRuns } from '../../reports/common.js';
import { breakdownRows } from '../../reports/figure9.js';
import { table6, table6Markdown } from '../../reports/table6.js';
import type { LoadedRun, RunInfo } from '../../src/core/records.js';
import { compareLoadedRuns } from '../../src/metrics/compare.js';
import { spread, studentTQuantile } from '../../src/metrics/stats.js';
import { loadedRun, syntheticRun } from '../metrics/fixtures.js';

function run(runId: string, info: Partial<RunInfo> = {}, slow = 1): LoadedRun {
  const synthetic = syntheticRun({ runId, approach: info.approach ?? 'export', slow });
  return loadedRun({ ...synthetic, info: { ...synthetic.info, options: { compression: 'lz4' }, threads: 1, ...info } });
}

describe('grouping runs', () => {
  it('puts two runs that differ only in an option in two rows, each named by it', () => {
    const t = table6([run('a', { options: { compression: 'lz4' } }), run('b', { options: { compression: 'none' } })]);
    expect(t.sections).toHaveLength(1);
    expect(t.sections[0].rows.map((r) => [r.label, r.runs])).toEqual([
      ['Cerebro-Spark (compression=lz4)', 1],
      ['Cerebro-Spark (compression=none)', 1],
    ]);
    expect(table6Markdown(t)).toMatch(/\| Cerebro-Spark \(compression=none\) \| 1 \|/);
  });

  it('averages repeats, whatever their seed, into one row with n and a 95% interval', () => {
    const t = table6([run('a', { seed: 1 }, 1), run('b', { seed: 2 }, 1.1), run('c', { seed: 3 }, 1.2)]);
    const [row] = t.sections[0].rows;
    expect(row.label).toBe('Cerebro-Spark');
    expect(row.runs).toBe(3);
    expect(row.executionSeconds.n).toBe(3);
    expect(row.executionSeconds.ci95).toBeGreaterThan(0);
    expect(row.executionSeconds.min).toBeLessThan(row.executionSeconds.max);
    expect(breakdownRows(groupRuns([run('a', { seed: 1 }, 1), run('b', { seed: 2 }, 1.1)])[0].rows)[0].total.n).toBe(2);
  });

  it('names every input that varies: threads, workload options, approach options of the same approach only', () => {
    const groups = groupRuns([
      run('a', { threads: 1 }),
      run('b', { threads: 2 }),
      run('c', { approach: 'ctq', options: { compression: 'lz4', modelsIn: 'files' } }),
      run('d', { workloadOptions: { p: 0.5 } }),
    ]);
    expect(groups.map((g) => g.title)).toEqual([
      'criteo (tiny, 2 segments)',
      'criteo (tiny, 2 segments; workload option p=0.5)',
    ]);
    expect(groups[0].rows.map((r) => r.label)).toEqual(['ctq (threads=1)', 'export (threads=1)', 'export (threads=2)']);
  });

  it('never averages runs of different code versions or machines: separate rows, and a note says so', () => {
    const base = run('a');
    const otherCode = run('b', { environment: { ...base.info.environment, gitSha: 'fedcba9876543' } });
    const otherMachine = run('c', { environment: { ...base.info.environment, cpuModel: 'Other CPU' } });
    const t = table6([base, otherCode, otherMachine]);
    expect(t.sections[0].rows.map((r) => r.label)).toEqual(
      [
        'Cerebro-Spark (code abc123, machine cpuModel Test CPU)',
        'Cerebro-Spark (code abc123, machine cpuModel Other CPU)',
        'Cerebro-Spark (code fedcba9876, machine cpuModel Test CPU)',
      ].sort(),
    );
    expect(t.notes.join('\n')).toMatch(/never averaged: they are separate rows/);
  });

  it('bench compare keys on options too: runs of different options are not compared', () => {
    const baseline = [run('a', { options: { compression: 'lz4' } })];
    const result = compareLoadedRuns(baseline, [run('b', { options: { compression: 'none' } })]);
    expect(result.kind).toBe('mismatch');
    const problems = result.kind === 'mismatch' ? result.problems.join('\n') : '';
    expect(problems).toMatch(/only the baseline has runs of export .*compression=lz4/);
  });
});

describe('spread', () => {
  it('gives the t-based 95% interval of the mean', () => {
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.302653, 5);
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.042272, 5);
    const s = spread([10, 12, 14]);
    expect(s).toMatchObject({ n: 3, mean: 12, min: 10, median: 12, max: 14 });
    expect(s.ci95).toBeCloseTo(4.302653 * (2 / Math.sqrt(3)), 5);
    expect(spread([5]).ci95).toBeNull();
  });
});
