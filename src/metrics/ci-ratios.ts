// The CI regression check (`npm run bench:ci`) as pure functions: a run's times as ratios to the raw
// engine loop measured on the same machine in the same session, a baseline file of such ratios
// (bench/ci-baseline.json, committed), and the comparison of a candidate set of ratios with it.
//
// Why ratios: seconds do not travel between machines (a CI runner, a laptop), but "how many times
// longer than the bare training loop would take for the same work" mostly does, so a baseline
// recorded once on one machine can be checked anywhere. The environment stored with a baseline is
// informational only; it is never a reason to refuse a comparison.
//
// Definitions, for one run of an approach on `segments` workers (raw = the raw loop's examples/s
// PER WORKER, see src/engine/raw-baseline.ts):
//   rawSeconds     = examplesTrained / raw / segments: how long the raw loop would take to train the
//                    run's examples (every config, every epoch) on the same number of workers
//   executionRatio = executionSeconds / rawSeconds
//   etlRatio       = etlSeconds / rawSeconds. ETL has no raw-loop counterpart; it is normalised by
//                    the same raw-loop time only so that a machine's speed cancels out. It is NOT
//                    "ETL is x times training"; compare it only with itself.
//   epochRatio     = mean(epochSeconds) / (rawSeconds / epochs): the mean epoch window against
//                    the raw loop's time for one epoch of every config (epochs = the distinct epoch
//                    numbers of the run's 'epoch' events)
// examplesTrained counts each (config, epoch) once (the last 'epoch' event wins, as in the summary).
import { z } from 'zod';
import type { RunEvent } from '../core/events.js';
import type { Summary } from '../core/records.js';
import { judge, mean } from './stats.js';

export const CI_METRICS = ['executionRatio', 'etlRatio', 'epochRatio'] as const;
export type CiMetric = (typeof CI_METRICS)[number];

export const CI_METRIC_LABELS: Record<CiMetric, string> = {
  executionRatio: 'execution / raw loop',
  etlRatio: 'ETL / raw loop',
  epochRatio: 'epoch / raw loop epoch',
};

export interface RunRatios {
  executionRatio: number;
  etlRatio: number;
  /** null when the run recorded no epoch windows. */
  epochRatio: number | null;
  /** The raw loop's seconds for the run's examples on its workers (the denominator). */
  rawSeconds: number;
  examplesTrained: number;
  epochs: number;
}

export interface RatioInput {
  summary: Pick<Summary, 'executionSeconds' | 'etlSeconds' | 'epochSeconds'>;
  events: readonly RunEvent[];
  /** Workers the run trained on (run.json's segments). */
  segments: number;
}

/** Examples trained per (config, epoch), the last 'epoch' event of each winning. */
export function examplesByEpoch(events: readonly RunEvent[]): Map<number, number> {
  const last = new Map<string, { epoch: number; examples: number }>();
  for (const e of events) if (e.type === 'epoch') last.set(`${e.config}/${e.epoch}`, { epoch: e.epoch, examples: e.trainExamples });
  const byEpoch = new Map<number, number>();
  for (const { epoch, examples } of last.values()) byEpoch.set(epoch, (byEpoch.get(epoch) ?? 0) + examples);
  return byEpoch;
}

/** One run's ratios to the raw loop (rawExamplesPerSecond: per worker). */
export function runRatios(input: RatioInput, rawExamplesPerSecond: number): RunRatios {
  if (!(rawExamplesPerSecond > 0)) throw new RangeError(`the raw loop's examples/s must be positive, got ${rawExamplesPerSecond}`);
  if (!(input.segments >= 1)) throw new RangeError(`segments must be at least 1, got ${input.segments}`);
  const byEpoch = examplesByEpoch(input.events);
  const examplesTrained = [...byEpoch.values()].reduce((a, b) => a + b, 0);
  if (examplesTrained <= 0) throw new RangeError('the run trained no examples (no epoch events): no ratio to the raw loop');
  const rawSeconds = examplesTrained / rawExamplesPerSecond / input.segments;
  const epochs = byEpoch.size;
  const s = input.summary;
  return {
    executionRatio: s.executionSeconds / rawSeconds,
    etlRatio: s.etlSeconds / rawSeconds,
    epochRatio: s.epochSeconds.length > 0 ? mean(s.epochSeconds) / (rawSeconds / epochs) : null,
    rawSeconds,
    examplesTrained,
    epochs,
  };
}

const ratiosSchema = z.object({
  executionRatio: z.array(z.number().nonnegative()),
  etlRatio: z.array(z.number().nonnegative()),
  epochRatio: z.array(z.number().nonnegative()),
});
export type ApproachRatios = z.infer<typeof ratiosSchema>;

export const CI_BASELINE_VERSION = 1;

export const ciBaselineSchema = z.object({
  formatVersion: z.literal(CI_BASELINE_VERSION),
  workload: z.string(),
  scale: z.string(),
  segments: z.number().int().positive(),
  createdAt: z.string(),
  /** Where the ratios were measured. Informational only: ratios are meant to travel. */
  environment: z.object({
    cpuModel: z.string(),
    cpuCores: z.number(),
    torch: z.string(),
    postgres: z.string(),
  }),
  /** The raw loop's examples/s per worker in the session (informational). */
  rawExamplesPerSecond: z.array(z.number()).optional(),
  /** Engine threads per worker, approaches and raw loop alike (informational). */
  threads: z.number().optional(),
  approaches: z.record(z.string(), ratiosSchema),
});
export type CiBaseline = z.infer<typeof ciBaselineSchema>;

/** Parses a baseline file's text; throws an Error naming the problem (and the file, when given). */
export function parseCiBaseline(text: string, file = 'baseline'): CiBaseline {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not JSON (${(error as Error).message})`);
  }
  const parsed = ciBaselineSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.length > 0 ? i.path.join('.') + ': ' : ''}${i.message}`);
    throw new Error(`${file}: not a bench:ci baseline (${issues.join('; ')})`);
  }
  return parsed.data;
}

/** Collects RunRatios into the per-approach arrays of a baseline (a run without epoch windows adds no epochRatio). */
export function collectRatios(runs: readonly { approach: string; ratios: RunRatios }[]): Record<string, ApproachRatios> {
  const out: Record<string, ApproachRatios> = {};
  for (const { approach, ratios } of runs) {
    const entry = (out[approach] ??= { executionRatio: [], etlRatio: [], epochRatio: [] });
    entry.executionRatio.push(ratios.executionRatio);
    entry.etlRatio.push(ratios.etlRatio);
    if (ratios.epochRatio !== null) entry.epochRatio.push(ratios.epochRatio);
  }
  return out;
}

export interface CiCompareOptions {
  /** Candidate mean / baseline mean above which a metric counts as slower. Default 1.10. */
  maxSlowdown?: number;
  /** Significance level of the noise test. Default 0.05. */
  alpha?: number;
  /** Values needed on each side for the noise test. Default 3. */
  minRunsForTest?: number;
}

export type CiVerdict = 'ok' | 'regression' | 'faster';

export interface CiRow {
  approach: string;
  metric: CiMetric;
  baseline: number[];
  candidate: number[];
  baselineMean: number;
  candidateMean: number;
  /** candidateMean / baselineMean (Infinity when the baseline is 0 and the candidate is not). */
  factor: number;
  test: 'welch' | 'factor only';
  /**
   * One-sided Welch p-value in the direction of the factor: of "the candidate is slower" when
   * factor >= 1, of "the candidate is faster" otherwise; null without the test.
   */
  p: number | null;
  verdict: CiVerdict;
}

export type CiComparison =
  | { kind: 'not comparable'; problems: string[] }
  | { kind: 'compared'; rows: CiRow[]; notes: string[]; regression: boolean; options: Required<CiCompareOptions> };

type Side = Pick<CiBaseline, 'workload' | 'scale' | 'segments' | 'approaches'>;

/**
 * Compares a candidate's ratios with the baseline's, per approach and metric. A metric regresses
 * when its factor is above maxSlowdown AND, when both sides have at least minRunsForTest values,
 * Welch's one-sided test says the slowdown is not noise (p < alpha); with fewer values the factor
 * alone decides (and a note says so). 'faster' is the mirror image (factor below 1/maxSlowdown,
 * and significant when testable): good news, never a failure. Not comparable when the workload,
 * scale or segments differ, or when an approach is on one side only.
 */
export function compareToBaseline(baseline: Side, candidate: Side, options: CiCompareOptions = {}): CiComparison {
  const opts: Required<CiCompareOptions> = { maxSlowdown: 1.1, alpha: 0.05, minRunsForTest: 3, ...options };
  const problems: string[] = [];
  for (const field of ['workload', 'scale', 'segments'] as const) {
    if (baseline[field] !== candidate[field]) {
      problems.push(`${field} differs: the baseline was measured with ${JSON.stringify(baseline[field])}, the candidate with ${JSON.stringify(candidate[field])}`);
    }
  }
  const b = Object.keys(baseline.approaches).sort();
  const c = Object.keys(candidate.approaches).sort();
  const onlyBaseline = b.filter((a) => !(a in candidate.approaches));
  const onlyCandidate = c.filter((a) => !(a in baseline.approaches));
  if (onlyBaseline.length > 0) problems.push(`approaches in the baseline but not measured now: ${onlyBaseline.join(', ')}`);
  if (onlyCandidate.length > 0) problems.push(`approaches measured now but missing from the baseline: ${onlyCandidate.join(', ')} (update the baseline with --update-baseline)`);
  if (b.length === 0 && c.length === 0) problems.push('neither side holds any approach');
  if (problems.length > 0) return { kind: 'not comparable', problems };

  const rows: CiRow[] = [];
  const notes: string[] = [];
  for (const approach of b) {
    for (const metric of CI_METRICS) {
      const bv = baseline.approaches[approach][metric];
      const cv = candidate.approaches[approach][metric];
      if (bv.length === 0 || cv.length === 0) {
        notes.push(`${approach} ${metric}: ${bv.length} baseline and ${cv.length} candidate value(s); not compared`);
        continue;
      }
      const tested = bv.length >= opts.minRunsForTest && cv.length >= opts.minRunsForTest;
      if (!tested) {
        notes.push(
          `${approach} ${metric}: ${bv.length} baseline and ${cv.length} candidate value(s); the noise test needs ${opts.minRunsForTest} on each side, so the factor alone decides`,
        );
      }
      const { baselineMean: bm, candidateMean: cm, factor, p, verdict } = judge(bv, cv, { maxSlowdown: opts.maxSlowdown, alpha: opts.alpha, test: tested });
      rows.push({ approach, metric, baseline: [...bv], candidate: [...cv], baselineMean: bm, candidateMean: cm, factor, test: tested ? 'welch' : 'factor only', p, verdict });
    }
  }
  return { kind: 'compared', rows, notes, regression: rows.some((r) => r.verdict === 'regression'), options: opts };
}

/** 2: not comparable; 1: a regression; 0: no regression. */
export function ciExitCode(result: CiComparison): 0 | 1 | 2 {
  if (result.kind === 'not comparable') return 2;
  return result.regression ? 1 : 0;
}

/** Rows for a table: approach, metric, baseline mean, candidate mean, factor, p, verdict. */
export function ciTableRows(result: Extract<CiComparison, { kind: 'compared' }>): string[][] {
  return result.rows.map((r) => [
    r.approach,
    r.metric,
    r.baselineMean.toFixed(2),
    r.candidateMean.toFixed(2),
    Number.isFinite(r.factor) ? `${r.factor.toFixed(3)}x` : 'inf',
    r.p === null ? '-' : r.p < 0.001 ? '<0.001' : r.p.toFixed(3),
    r.verdict === 'regression' ? 'REGRESSION' : r.verdict,
  ]);
}

export const CI_TABLE_HEADERS = ['approach', 'metric', 'baseline mean', 'candidate mean', 'factor', 'p', 'verdict'];
