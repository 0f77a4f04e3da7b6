// `bench compare` as a pure function: two sets of loaded runs in, a verdict out. The command
// (src/cli/commands/compare.ts) only loads folders, prints and sets the exit code.
//
// Refuses (verdict 'mismatch', exit 2) when the runs are not comparable: an environment
// fingerprint field differs (cpuModel, cpuCores, gpu, torch, postgres, python; gitSha is what
// is being compared, so it may differ), the sides do not hold the same (approach, workload,
// scale, segments, epochs, configs, approach and workload options, threads) sets, or a run is
// incomplete. Every run of a set counts: K repeats on a side are K values of each metric. Otherwise, per approach and
// per metric (executionSeconds, mean epoch time, etlSeconds), the candidate regresses when its
// mean is slower than the baseline's by more than maxSlowdown AND, when both sides have at
// least minRunsForTest runs, Welch's one-sided t-test says the slowdown is not noise
// (p < alpha). With fewer runs the factor alone decides, and the verdict says so.
import type { LoadedRun } from '../core/records.js';
import { describeInputs, rowInputs, sectionInputs } from './grouping.js';
import { judge, mean } from './stats.js';

export const FINGERPRINT_FIELDS = ['cpuModel', 'cpuCores', 'gpu', 'torch', 'postgres', 'python'] as const;

export interface CompareOptions {
  /** Candidate mean / baseline mean above which a metric counts as slower. Default 1.10. */
  maxSlowdown?: number;
  /** Significance level of the noise test. Default 0.05. */
  alpha?: number;
  /** Runs needed on each side for the noise test. Default 3. */
  minRunsForTest?: number;
}

export const METRICS = {
  executionSeconds: { label: 'execution time', read: (r: LoadedRun) => r.summary.executionSeconds },
  epochSeconds: {
    label: 'epoch time (mean)',
    read: (r: LoadedRun) => (r.summary.epochSeconds.length > 0 ? mean(r.summary.epochSeconds) : null),
  },
  etlSeconds: { label: 'ETL time', read: (r: LoadedRun) => r.summary.etlSeconds },
} as const;
export type MetricName = keyof typeof METRICS;

export interface ComparisonRow {
  /** "approach workload/scale on N segments". */
  group: string;
  approach: string;
  metric: MetricName;
  baseline: number[];
  candidate: number[];
  baselineMean: number;
  candidateMean: number;
  /** candidateMean / baselineMean (Infinity when the baseline took no time and the candidate did). */
  factor: number;
  test: 'welch' | 'factor only';
  /** One-sided Welch p-value in the direction of the factor; null without the test. */
  p: number | null;
  regression: boolean;
}

export type Comparison =
  | { kind: 'mismatch'; problems: string[] }
  | { kind: 'compared'; rows: ComparisonRow[]; notes: string[]; regression: boolean; options: Required<CompareOptions> };

/** The run's inputs (docs/measurement.md, "Grouping") less the fingerprint, which checkComparable judges. */
function groupKey(r: LoadedRun): string {
  const i = r.info;
  const rest = { ...sectionInputs(i), ...rowInputs(i) };
  const said = ['approach', 'workload', 'scale', 'segments', 'epochs', 'configs', 'code'];
  const named = Object.keys(rest).filter((k) => !said.includes(k) && !k.startsWith('machine '));
  const options = describeInputs(rest, named.sort());
  const where = `${i.workload}/${i.scale} on ${i.segments} segments`;
  const base = `${i.approach} ${where}, ${i.epochs} epochs, ${i.configs.length} configs`;
  return options ? `${base} (${options})` : base;
}

function fingerprint(r: LoadedRun): Record<string, string> {
  const env = r.info.environment;
  return Object.fromEntries(FINGERPRINT_FIELDS.map((f) => [f, String(env[f])]));
}

function checkComparable(baseline: readonly LoadedRun[], candidate: readonly LoadedRun[]): string[] {
  const problems: string[] = [];
  if (baseline.length === 0) problems.push('the baseline holds no runs');
  if (candidate.length === 0) problems.push('the candidate holds no runs');
  for (const [side, runs] of [
    ['baseline', baseline],
    ['candidate', candidate],
  ] as const) {
    for (const r of runs) {
      if (r.summary.status !== 'complete') problems.push(`${side} run ${r.info.runId} (${r.dir}) is incomplete`);
    }
  }
  // Environment: every run on both sides must share each fingerprint field.
  const all = [...baseline.map((r) => ['baseline', r] as const), ...candidate.map((r) => ['candidate', r] as const)];
  for (const field of FINGERPRINT_FIELDS) {
    const values = new Map<string, string[]>();
    for (const [side, r] of all) {
      const v = fingerprint(r)[field];
      (values.get(v) ?? values.set(v, []).get(v)!).push(`${side} ${r.info.runId}`);
    }
    if (values.size > 1) {
      const described = [...values.entries()].map(([v, runs]) => `${JSON.stringify(v)} (${runs.slice(0, 3).join(', ')}${runs.length > 3 ? `, +${runs.length - 3}` : ''})`);
      problems.push(`environment differs: ${field} is ${described.join(' vs ')}`);
    }
  }
  const keys = (runs: readonly LoadedRun[]) => new Set(runs.map(groupKey));
  const kb = keys(baseline);
  const kc = keys(candidate);
  for (const k of kb) if (!kc.has(k)) problems.push(`only the baseline has runs of ${k}`);
  for (const k of kc) if (!kb.has(k)) problems.push(`only the candidate has runs of ${k}`);
  return problems;
}

export function compareRuns(baseline: readonly LoadedRun[], candidate: readonly LoadedRun[], options: CompareOptions = {}): Comparison {
  const opts: Required<CompareOptions> = { maxSlowdown: 1.1, alpha: 0.05, minRunsForTest: 3, ...options };
  const problems = checkComparable(baseline, candidate);
  if (problems.length > 0) return { kind: 'mismatch', problems };

  const rows: ComparisonRow[] = [];
  const notes: string[] = [];
  const groups = [...new Set(baseline.map(groupKey))].sort();
  for (const group of groups) {
    const b = baseline.filter((r) => groupKey(r) === group);
    const c = candidate.filter((r) => groupKey(r) === group);
    const tested = b.length >= opts.minRunsForTest && c.length >= opts.minRunsForTest;
    if (!tested) {
      notes.push(
        `${group}: ${b.length} baseline and ${c.length} candidate run(s); the noise test needs ${opts.minRunsForTest} on each side, so the factor alone decides`,
      );
    }
    for (const metric of Object.keys(METRICS) as MetricName[]) {
      const read = METRICS[metric].read;
      const bv = b.map(read).filter((v): v is number => v !== null);
      const cv = c.map(read).filter((v): v is number => v !== null);
      if (bv.length === 0 || cv.length === 0) continue;
      const useTest = tested && bv.length >= opts.minRunsForTest && cv.length >= opts.minRunsForTest;
      const j = judge(bv, cv, { maxSlowdown: opts.maxSlowdown, alpha: opts.alpha, test: useTest });
      rows.push({
        group,
        approach: b[0].info.approach,
        metric,
        baseline: bv,
        candidate: cv,
        baselineMean: j.baselineMean,
        candidateMean: j.candidateMean,
        factor: j.factor,
        test: useTest ? 'welch' : 'factor only',
        p: j.p,
        regression: j.verdict === 'regression',
      });
    }
  }
  return { kind: 'compared', rows, notes, regression: rows.some((r) => r.regression), options: opts };
}

/** 2: not comparable; 1: a regression; 0: no regression. */
export function exitCodeOf(result: Comparison): 0 | 1 | 2 {
  if (result.kind === 'mismatch') return 2;
  return result.regression ? 1 : 0;
}
