// `bench compare` as a pure function (docs/ci.md): two sets of runs in, a verdict out. The command
// (src/cli/commands/compare.ts) only loads run folders or a stored baseline, prints and sets the
// exit code; `npm run bench:ci` calls the same function.
//
// A run is compared through its ComparableRun: what identifies its work (approach, workload,
// scale, segments, epochs, options, and a digest of the configs, dataset and workload options),
// its environment, its times, and the raw loop's throughput its calibration phase measured. A
// stored baseline is a list of them.
//
// Refuses (kind 'mismatch', exit 2) when the runs are not comparable: a run is incomplete, the
// sides do not hold the same kinds of run, ratio-to-raw is asked of a run without a calibration,
// or an environment field that makes timings incomparable differs (ENV_FIELDS) and
// allowEnvDiff does not name it. Otherwise, per kind of run and per metric, the candidate
// regresses when its mean is slower than the baseline's by more than maxSlowdown AND, when both
// sides have at least minRunsForTest runs, Welch's one-sided t-test says the slowdown is not noise
// (p < alpha). With fewer runs the factor alone decides, and a note says so.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { didYouMean } from '../core/options.js';
import { environmentSchema, optionValueSchema, type LoadedRun } from '../core/records.js';
import { lastCalibration, runRatios, trainedExamples, type RunRatios } from './ci-ratios.js';
import { judge, mean, variance } from './stats.js';

export const comparableRunSchema = z.object({
  runId: z.string(),
  /** Where it was read from: a run folder, or the baseline file that kept it. */
  source: z.string(),
  approach: z.string(),
  workload: z.string(),
  scale: z.string(),
  segments: z.number(),
  epochs: z.number(),
  /** Number of model configs. */
  configs: z.number(),
  /**
   * A digest of what was trained beyond the names: the configs themselves, the dataset spec and the
   * workload's options (workDigest), so a head that changed the grid is not compared as the same work.
   */
  workDigest: z.string(),
  options: z.record(z.string(), optionValueSchema),
  /** Engine threads per worker; null in runs that did not record it. */
  threads: z.number().nullable(),
  status: z.enum(['complete', 'incomplete']),
  environment: environmentSchema,
  etlSeconds: z.number(),
  executionSeconds: z.number(),
  epochSeconds: z.array(z.number()),
  /** Examples trained (every config, every epoch) and the distinct epochs, from 'epoch' events. */
  examplesTrained: z.number(),
  trainedEpochs: z.number(),
  /** The calibration's raw-loop examples/s per worker; null when the run has no calibration. */
  rawExamplesPerSecond: z.number().nullable(),
});
export type ComparableRun = z.infer<typeof comparableRunSchema>;

/** The digest of a run's configs, dataset and workload options (16 hex digits). */
export function workDigest(info: Pick<LoadedRun['info'], 'configs' | 'dataset' | 'workloadOptions'>): string {
  const work = { configs: info.configs, dataset: info.dataset, workloadOptions: info.workloadOptions ?? {} };
  return createHash('sha256').update(JSON.stringify(work)).digest('hex').slice(0, 16);
}

/** What compare reads of a loaded run folder. */
export function comparableRun(run: LoadedRun): ComparableRun {
  const { info, summary } = run;
  const trained = trainedExamples(run.events);
  return {
    runId: info.runId,
    source: run.dir,
    approach: info.approach,
    workload: info.workload,
    scale: info.scale,
    segments: info.segments,
    epochs: info.epochs,
    configs: info.configs.length,
    workDigest: workDigest(info),
    options: info.options,
    threads: info.threads ?? null,
    status: summary.status,
    environment: info.environment,
    etlSeconds: summary.etlSeconds,
    executionSeconds: summary.executionSeconds,
    epochSeconds: summary.epochSeconds,
    examplesTrained: trained.examples,
    trainedEpochs: trained.epochs,
    rawExamplesPerSecond: lastCalibration(run.events)?.examplesPerSecond ?? null,
  };
}

export const METRIC_MODES = ['seconds', 'ratio-to-raw'] as const;
export type MetricMode = (typeof METRIC_MODES)[number];

/** A run's ratios to the raw loop; throws when it has no calibration or trained nothing. */
export function ratiosOf(r: ComparableRun): RunRatios {
  if (r.rawExamplesPerSecond === null) throw new RangeError(`run ${r.runId} has no calibration`);
  return runRatios(
    { summary: r, trained: { examples: r.examplesTrained, epochs: r.trainedEpochs }, segments: r.segments },
    r.rawExamplesPerSecond,
  );
}

interface MetricSpec {
  mode: MetricMode;
  label: string;
  /** 's' for seconds, 'x' for a ratio to the raw loop. */
  unit: 's' | 'x';
  read(r: ComparableRun): number | null;
}

export const METRICS = {
  executionSeconds: { mode: 'seconds', label: 'execution time', unit: 's', read: (r) => r.executionSeconds },
  epochSeconds: {
    mode: 'seconds',
    label: 'epoch time (mean)',
    unit: 's',
    read: (r) => (r.epochSeconds.length > 0 ? mean(r.epochSeconds) : null),
  },
  etlSeconds: { mode: 'seconds', label: 'ETL time', unit: 's', read: (r) => r.etlSeconds },
  executionRatio: {
    mode: 'ratio-to-raw',
    label: 'execution / raw loop',
    unit: 'x',
    read: (r) => ratiosOf(r).executionRatio,
  },
  epochRatio: { mode: 'ratio-to-raw', label: 'epoch / raw-loop epoch', unit: 'x', read: (r) => ratiosOf(r).epochRatio },
  etlRatio: { mode: 'ratio-to-raw', label: 'ETL / raw loop', unit: 'x', read: (r) => ratiosOf(r).etlRatio },
} as const satisfies Record<string, MetricSpec>;
export type MetricName = keyof typeof METRICS;

export function metricsOf(mode: MetricMode): MetricName[] {
  return (Object.keys(METRICS) as MetricName[]).filter((m) => METRICS[m].mode === mode);
}

/**
 * The fingerprint fields compare checks, each run against every other on both sides. 'machine'
 * fields make seconds incomparable but are what ratio-to-raw is for (reported only there);
 * 'setup' fields (GPU, threads, versions, PostgreSQL settings) make both incomparable; 'code'
 * fields are what a comparison usually compares, so they are reported and never refused.
 */
export const ENV_FIELDS = {
  cpuModel: { kind: 'machine', read: (r: ComparableRun) => r.environment.cpuModel },
  cpuCores: { kind: 'machine', read: (r: ComparableRun) => String(r.environment.cpuCores) },
  cpuAffinity: { kind: 'machine', read: (r: ComparableRun) => r.environment.cpuAffinity ?? null },
  gpu: { kind: 'setup', read: (r: ComparableRun) => r.environment.gpu ?? 'none' },
  threads: { kind: 'setup', read: (r: ComparableRun) => (r.threads === null ? null : String(r.threads)) },
  node: { kind: 'setup', read: (r: ComparableRun) => r.environment.node },
  python: { kind: 'setup', read: (r: ComparableRun) => r.environment.python },
  torch: { kind: 'setup', read: (r: ComparableRun) => r.environment.torch },
  postgres: { kind: 'setup', read: (r: ComparableRun) => r.environment.postgres },
  postgresSettings: {
    kind: 'setup',
    read: (r: ComparableRun) =>
      Object.entries(r.environment.postgresSettings)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
  },
  gitSha: { kind: 'code', read: (r: ComparableRun) => r.environment.gitSha },
  gitDirty: { kind: 'code', read: (r: ComparableRun) => String(r.environment.gitDirty) },
} as const satisfies Record<string, { kind: 'machine' | 'setup' | 'code'; read(r: ComparableRun): string | null }>;
export type EnvField = keyof typeof ENV_FIELDS;
export const ENV_FIELD_NAMES = Object.keys(ENV_FIELDS) as EnvField[];

/** Problems with --allow-env-diff names: each unknown one, with a did-you-mean. */
export function unknownEnvFields(names: readonly string[]): string[] {
  return names
    .filter((n) => !(ENV_FIELD_NAMES as readonly string[]).includes(n))
    .map(
      (n) =>
        `--allow-env-diff: unknown field "${n}"${didYouMean(n, ENV_FIELD_NAMES)}; ` +
        `fields: ${ENV_FIELD_NAMES.join(', ')}`,
    );
}

export interface EnvDifference {
  field: EnvField;
  /** refused: makes the comparison exit 2; allowed: named by allowEnvDiff; reported: listed only. */
  effect: 'refused' | 'allowed' | 'reported';
  values: { value: string; baseline: string[]; candidate: string[] }[];
  /** Runs on each side that recorded the field. */
  recorded: { baseline: number; candidate: number };
}

export interface CompareOptions {
  /** Candidate mean / baseline mean above which a metric counts as slower. Default 1.10. */
  maxSlowdown?: number;
  /** Significance level of the noise test. Default 0.05. */
  alpha?: number;
  /** Runs needed on each side for the noise test. Default 3. */
  minRunsForTest?: number;
  /** What is judged: seconds (default) or ratios to the raw loop measured in each run. */
  metric?: MetricMode;
  /** Environment fields whose differences are accepted. */
  allowEnvDiff?: readonly string[];
}
export type ResolvedCompareOptions = Required<Omit<CompareOptions, 'allowEnvDiff'>> & { allowEnvDiff: string[] };

export interface SideStats {
  n: number;
  mean: number;
  /** Sample standard deviation (0 with one value). */
  sd: number;
  min: number;
  max: number;
  values: number[];
}

export interface ComparisonRow {
  /** The kind of run, e.g. "export criteo/tiny, 2 segments". */
  group: string;
  approach: string;
  metric: MetricName;
  label: string;
  unit: 's' | 'x';
  baseline: SideStats;
  candidate: SideStats;
  /** candidate mean / baseline mean (Infinity when the baseline took no time and the candidate did). */
  factor: number;
  test: 'welch' | 'factor only';
  /** One-sided Welch p-value in the direction of the factor; null without the test. */
  p: number | null;
  verdict: 'ok' | 'regression' | 'faster';
}

interface ComparisonCommon {
  options: ResolvedCompareOptions;
  /** Every field that differs between any two runs, whatever its effect. */
  environment: EnvDifference[];
  notes: string[];
  runs: { baseline: number; candidate: number };
}
export type Comparison = ComparisonCommon &
  ({ kind: 'mismatch'; problems: string[] } | { kind: 'compared'; rows: ComparisonRow[]; regression: boolean });

export function sideStats(values: readonly number[]): SideStats {
  return {
    n: values.length,
    mean: mean(values),
    sd: Math.sqrt(variance(values)),
    min: Math.min(...values),
    max: Math.max(...values),
    values: [...values],
  };
}

/** The kind of run by its names and options, without what the names stand for. */
function nameKey(r: ComparableRun): string {
  const options = Object.entries(r.options).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([r.approach, r.workload, r.scale, r.segments, r.epochs, r.configs, options]);
}

function groupKey(r: ComparableRun): string {
  return `${nameKey(r)}#${r.workDigest}`;
}

function describeGroup(r: ComparableRun, full: boolean): string {
  const base = `${r.approach} ${r.workload}/${r.scale}, ${r.segments} segments`;
  if (!full) return base;
  const options = Object.entries(r.options)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${String(v)}`);
  return (
    `${base}, ${r.epochs} epochs, ${r.configs} configs${options.length > 0 ? `, ${options.join(' ')}` : ''}` +
    `, work ${r.workDigest.slice(0, 8)}`
  );
}

/** Labels for the groups: short, unless two groups would share one. */
function groupLabels(runs: readonly ComparableRun[]): Map<string, string> {
  const firstOf = new Map<string, ComparableRun>();
  for (const r of runs) if (!firstOf.has(groupKey(r))) firstOf.set(groupKey(r), r);
  const shortCount = new Map<string, number>();
  for (const r of firstOf.values())
    shortCount.set(describeGroup(r, false), (shortCount.get(describeGroup(r, false)) ?? 0) + 1);
  return new Map(
    [...firstOf].map(([key, r]) => [key, describeGroup(r, (shortCount.get(describeGroup(r, false)) ?? 0) > 1)]),
  );
}

function listRuns(ids: readonly string[]): string {
  return ids.length <= 3 ? ids.join(', ') : `${ids.slice(0, 3).join(', ')}, +${ids.length - 3}`;
}

export function describeEnvDifference(d: EnvDifference): string {
  const side = (name: 'baseline' | 'candidate', ids: readonly string[]): string => {
    if (ids.length === 0) return '';
    if (ids.length === d.recorded[name] && ids.length > 1) return `all ${ids.length} ${name} runs`;
    return `${name} ${listRuns(ids)}`;
  };
  const values = d.values.map((v) => {
    const sides = [side('baseline', v.baseline), side('candidate', v.candidate)].filter((s) => s !== '');
    return `${JSON.stringify(v.value)} (${sides.join('; ')})`;
  });
  return `${d.field} is ${values.join(' vs ')}`;
}

function environmentDifferences(
  baseline: readonly ComparableRun[],
  candidate: readonly ComparableRun[],
  options: ResolvedCompareOptions,
  notes: string[],
): EnvDifference[] {
  const differences: EnvDifference[] = [];
  for (const field of ENV_FIELD_NAMES) {
    const spec = ENV_FIELDS[field];
    const values = new Map<string, { baseline: string[]; candidate: string[] }>();
    let unrecorded = 0;
    for (const [side, runs] of [
      ['baseline', baseline],
      ['candidate', candidate],
    ] as const) {
      for (const r of runs) {
        const value = spec.read(r);
        if (value === null) {
          unrecorded++;
          continue;
        }
        const entry = values.get(value) ?? { baseline: [], candidate: [] };
        entry[side].push(r.runId);
        values.set(value, entry);
      }
    }
    if (unrecorded > 0) {
      notes.push(`${field} is not recorded in ${unrecorded} run(s) (written before it was); not checked for them`);
    }
    if (values.size <= 1) continue;
    const effect =
      spec.kind === 'code' || (spec.kind === 'machine' && options.metric === 'ratio-to-raw')
        ? 'reported'
        : options.allowEnvDiff.includes(field)
          ? 'allowed'
          : 'refused';
    const recorded = { baseline: 0, candidate: 0 };
    for (const runs of values.values()) {
      recorded.baseline += runs.baseline.length;
      recorded.candidate += runs.candidate.length;
    }
    differences.push({ field, effect, values: [...values].map(([value, runs]) => ({ value, ...runs })), recorded });
  }
  return differences;
}

function comparabilityProblems(
  baseline: readonly ComparableRun[],
  candidate: readonly ComparableRun[],
  options: ResolvedCompareOptions,
  environment: readonly EnvDifference[],
  labels: ReadonlyMap<string, string>,
): string[] {
  const problems: string[] = [...unknownEnvFields(options.allowEnvDiff)];
  if (baseline.length === 0) problems.push('the baseline holds no runs');
  if (candidate.length === 0) problems.push('the candidate holds no runs');
  for (const [side, runs] of [
    ['baseline', baseline],
    ['candidate', candidate],
  ] as const) {
    for (const r of runs) {
      if (r.status !== 'complete') problems.push(`${side} run ${r.runId} (${r.source}) is incomplete`);
      if (options.metric === 'ratio-to-raw') {
        if (r.rawExamplesPerSecond === null || !(r.rawExamplesPerSecond > 0)) {
          problems.push(
            `${side} run ${r.runId} (${r.source}) has no raw-loop calibration, which --metric ratio-to-raw needs ` +
              '(it was recorded before runs calibrated, or with BENCH_CALIBRATION_SECONDS=0)',
          );
        } else if (!(r.examplesTrained > 0) || !(r.trainedEpochs > 0)) {
          problems.push(
            `${side} run ${r.runId} (${r.source}) trained no examples (no epoch events): no ratio to the raw loop`,
          );
        }
      }
    }
  }
  for (const d of environment) {
    if (d.effect !== 'refused') continue;
    const hint =
      ENV_FIELDS[d.field].kind === 'machine'
        ? `; compare on another machine with --metric ratio-to-raw, or accept it with --allow-env-diff ${d.field}`
        : `; accept it with --allow-env-diff ${d.field}`;
    problems.push(`environment differs: ${describeEnvDifference(d)}${hint}`);
  }
  const keys = (runs: readonly ComparableRun[]) => new Map(runs.map((r) => [groupKey(r), r]));
  const kb = keys(baseline);
  const kc = keys(candidate);
  const changedWork = new Set<string>();
  for (const [k, r] of kb) {
    if (kc.has(k)) continue;
    const same = [...kc.values()].find((c) => nameKey(c) === nameKey(r) && !kb.has(groupKey(c)));
    if (same) {
      changedWork.add(nameKey(r));
      problems.push(
        `${describeGroup(r, false)}: the sides trained different work under the same names (configs, dataset or ` +
          `workload options differ: digest ${r.workDigest} in the baseline, ${same.workDigest} in the candidate)`,
      );
    } else {
      problems.push(`only the baseline has runs of ${labels.get(k) ?? k}`);
    }
  }
  for (const [k, r] of kc) {
    if (!kb.has(k) && !changedWork.has(nameKey(r)))
      problems.push(`only the candidate has runs of ${labels.get(k) ?? k}`);
  }
  return problems;
}

export function resolveCompareOptions(options: CompareOptions = {}): ResolvedCompareOptions {
  return {
    maxSlowdown: options.maxSlowdown ?? 1.1,
    alpha: options.alpha ?? 0.05,
    minRunsForTest: options.minRunsForTest ?? 3,
    metric: options.metric ?? 'seconds',
    allowEnvDiff: [...(options.allowEnvDiff ?? [])],
  };
}

export function compareRuns(
  baseline: readonly ComparableRun[],
  candidate: readonly ComparableRun[],
  options: CompareOptions = {},
): Comparison {
  const opts = resolveCompareOptions(options);
  const notes: string[] = [];
  const environment = environmentDifferences(baseline, candidate, opts, notes);
  const labels = groupLabels([...baseline, ...candidate]);
  const common = {
    options: opts,
    environment,
    notes,
    runs: { baseline: baseline.length, candidate: candidate.length },
  };
  const problems = comparabilityProblems(baseline, candidate, opts, environment, labels);
  if (problems.length > 0) return { ...common, kind: 'mismatch', problems };

  const rows: ComparisonRow[] = [];
  const groups = [...new Set(baseline.map(groupKey))].sort((a, b) =>
    (labels.get(a) ?? a).localeCompare(labels.get(b) ?? b),
  );
  for (const key of groups) {
    const group = labels.get(key) ?? key;
    const b = baseline.filter((r) => groupKey(r) === key);
    const c = candidate.filter((r) => groupKey(r) === key);
    const tested = b.length >= opts.minRunsForTest && c.length >= opts.minRunsForTest;
    if (!tested) {
      notes.push(
        `${group}: ${b.length} baseline and ${c.length} candidate run(s); ` +
          `the noise test needs ${opts.minRunsForTest} on each side, so the factor alone decides`,
      );
    }
    for (const metric of metricsOf(opts.metric)) {
      const spec: MetricSpec = METRICS[metric];
      const bv = b.map((r) => spec.read(r)).filter((v): v is number => v !== null);
      const cv = c.map((r) => spec.read(r)).filter((v): v is number => v !== null);
      if (bv.length === 0 || cv.length === 0) continue;
      const useTest = tested && bv.length >= opts.minRunsForTest && cv.length >= opts.minRunsForTest;
      const j = judge(bv, cv, { maxSlowdown: opts.maxSlowdown, alpha: opts.alpha, test: useTest });
      rows.push({
        group,
        approach: b[0].approach,
        metric,
        label: spec.label,
        unit: spec.unit,
        baseline: sideStats(bv),
        candidate: sideStats(cv),
        factor: j.factor,
        test: useTest ? 'welch' : 'factor only',
        p: j.p,
        verdict: j.verdict,
      });
    }
  }
  return { ...common, kind: 'compared', rows, regression: rows.some((r) => r.verdict === 'regression') };
}

/** 2: not comparable; 1: a regression; 0: no regression. */
export function exitCodeOf(result: Comparison): 0 | 1 | 2 {
  if (result.kind === 'mismatch') return 2;
  return result.regression ? 1 : 0;
}

/** compareRuns over loaded run folders. */
export function compareLoadedRuns(
  baseline: readonly LoadedRun[],
  candidate: readonly LoadedRun[],
  options: CompareOptions = {},
): Comparison {
  return compareRuns(baseline.map(comparableRun), candidate.map(comparableRun), options);
}
