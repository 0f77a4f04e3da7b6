// Know the cost before paying it (docs/studies.md, "Planning"): an estimate of each missing run's
// ETL and execution time from what runs stored on this cluster measured, fed through the same
// scheduler objects the approaches use (src/sched/simulator.ts).
//
// The cost model, in order of preference for each request:
//  1. `simulated`: each config's work (seconds for one epoch of the whole training data on one
//     worker) is taken from the unit times of stored runs of the same workload, scale and workload
//     options (a unit on s segments covers 1/s of the data, so work = unit seconds x s). The
//     approach's schedule is then simulated on the requested segments: sync round-robin (UDAF),
//     async random (CTQ, DA, Export), every config across all workers (MA, DDP: epoch = sum of
//     work / segments), or whole configs per worker (task-parallel). Finally the approach's own
//     overhead factor (its measured execution over the same simulation of its stored runs) scales
//     the makespan; without a stored run of the approach the factor is 1 and the estimate says so.
//  2. `scaled`: a search workload (configs arrive during the run) or approaches without unit times:
//     the nearest stored run of the same approach, workload and scale, its machine time
//     (execution x segments) spread over the requested segments.
//  3. none: nothing comparable is stored; the estimate says what to run first.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAsyncRandomScheduler } from '../src/sched/async-random.js';
import { createRoundRobinScheduler } from '../src/sched/round-robin.js';
import { simulateSchedule } from '../src/sched/simulator.js';
import { unitTimes } from '../src/metrics/unit-times.js';
import type { LoadedRun } from '../src/core/records.js';
import { resolveRunSpec } from '../approaches/resolve.js';
import { mean, median } from '../src/metrics/stats.js';
import { loadRun } from '../src/store/read.js';
import { describeRequest } from './execute.js';
import { planRuns, requestKey, scanStoredRuns } from './plan.js';
import type { RunRequest, Study, StudyContext } from './types.js';

/** How an approach spreads an epoch's units over the workers (the simulator's model of it). */
export type ScheduleModel = 'sync' | 'async' | 'all-workers' | 'whole-config';

/** The schedule of each registered approach (their `layers.scheduling`, as the simulator models it). */
const SCHEDULE_MODEL: Readonly<Record<string, ScheduleModel>> = {
  udaf: 'sync',
  ctq: 'async',
  da: 'async',
  export: 'async',
  ma: 'all-workers',
  ddp: 'all-workers',
  'da-ddp': 'all-workers',
  'task-parallel': 'whole-config',
};

export function scheduleModel(approach: string): ScheduleModel {
  return Object.hasOwn(SCHEDULE_MODEL, approach) ? SCHEDULE_MODEL[approach] : 'async';
}

export interface Estimate {
  method: 'simulated' | 'scaled' | 'none';
  etlSeconds: number | null;
  executionSeconds: number | null;
  /** What the estimate stands on and what it leaves out. */
  basis: string;
}

/** Approach, workload, scale and workload options: runs that train the same configs on the same data. */
function sameData(run: LoadedRun, request: RunRequest, workloadOptions: Record<string, string>): boolean {
  if (run.info.workload !== request.workload || run.info.scale !== request.scale) return false;
  // Runs recorded before workload options were kept ran the defaults of their time: comparable enough to estimate from.
  const stored = run.info.workloadOptions;
  if (stored === undefined) return true;
  return Object.entries(workloadOptions).every(([k, v]) => String(stored[k] ?? '') === String(v));
}

/** Seconds for one epoch of each config label on the whole training data on one worker. */
function configWork(runs: readonly LoadedRun[]): Map<string, number> {
  const samples = new Map<string, number[]>();
  for (const run of runs) {
    const labels = new Map(run.info.configs.map((c) => [c.id, c.label]));
    for (const u of unitTimes(run.events)) {
      const label = labels.get(u.config);
      if (label === undefined) continue;
      const list = samples.get(label) ?? [];
      list.push((u.wallMs / 1000) * run.info.segments);
      samples.set(label, list);
    }
  }
  return new Map([...samples].map(([label, values]) => [label, median(values)]));
}

/** Simulated execution seconds of `epochs` epochs of configs with these works on `segments` workers. */
export function simulatedExecution(
  model: ScheduleModel,
  works: readonly number[],
  segments: number,
  epochs: number,
  seed: number,
): number {
  if (works.length === 0) return 0;
  if (model === 'all-workers') return (epochs * works.reduce((a, b) => a + b, 0)) / segments;
  if (model === 'whole-config') {
    // Longest first onto the least-loaded worker (each worker trains whole configs on a full replica).
    const loads = new Array<number>(segments).fill(0);
    for (const w of [...works].sort((a, b) => b - a)) {
      const i = loads.indexOf(Math.min(...loads));
      loads[i] += w * epochs;
    }
    return Math.max(...loads);
  }
  const options = { configs: works.length, segments, epochs, seed };
  const scheduler = model === 'sync' ? createRoundRobinScheduler(options) : createAsyncRandomScheduler(options);
  return simulateSchedule(
    scheduler,
    segments,
    works.map((w) => w / segments),
  ).makespan;
}

/** The estimate of one request from the stored complete runs. */
export function estimateRun(request: RunRequest, stored: readonly LoadedRun[]): Estimate {
  const resolved = resolveRunSpec({ ...request });
  const complete = stored.filter((r) => r.summary.status === 'complete');
  const sameWorkload = complete.filter((r) => sameData(r, request, resolved.workloadOptions));
  const own = sameWorkload.filter((r) => r.info.approach === request.approach);
  const etlSources = own.length > 0 ? own : sameWorkload;
  const etlSeconds = etlSources.length > 0 ? mean(etlSources.map((r) => r.summary.etlSeconds)) : null;
  const model = scheduleModel(request.approach);
  const { configs, epochs } = resolved.workload;

  if (!resolved.workload.search && configs.length > 0) {
    // The approach's own runs where there are some: approaches count a unit's wall time differently.
    const workSources = own.length > 0 ? own : sameWorkload;
    const work = configWork(workSources);
    if (work.size > 0) {
      const fallback = median([...work.values()]);
      const unknown = configs.filter((c) => !work.has(c.label)).length;
      const works = configs.map((c) => work.get(c.label) ?? fallback);
      const makespan = simulatedExecution(model, works, request.segments, epochs, request.seed);
      // The approach's overhead over its own simulated schedule, from its stored runs of any workload at this scale.
      const ownRuns = complete.filter((r) => r.info.approach === request.approach && r.info.scale === request.scale);
      const factors = ownRuns.flatMap((r) => {
        const w = configWork([r]);
        const simulated = simulatedExecution(
          model,
          r.info.configs.map((c) => w.get(c.label) ?? 0),
          r.info.segments,
          r.info.epochs,
          r.info.seed,
        );
        return simulated > 0 ? [r.summary.executionSeconds / simulated] : [];
      });
      const factor = factors.length > 0 ? median(factors) : 1;
      const notes = [
        `${model} schedule simulated from the unit times of ${workSources.length} stored ` +
          `${request.workload}/${request.scale} run(s)${own.length > 0 ? ' of the approach' : ''}`,
        factors.length > 0
          ? `x ${factor.toFixed(2)}, the approach's measured overhead over its simulated schedule ` +
            `(${factors.length} run(s))`
          : 'no stored run of the approach, so none of its own overhead is counted',
        ...(unknown > 0
          ? [`${unknown} of ${configs.length} configs never ran here: the median config's work is used`]
          : []),
      ];
      return { method: 'simulated', etlSeconds, executionSeconds: makespan * factor, basis: notes.join('; ') };
    }
  }

  const nearest = [...own].sort(
    (a, b) => Math.abs(a.info.segments - request.segments) - Math.abs(b.info.segments - request.segments),
  )[0];
  if (nearest) {
    const machine = nearest.summary.executionSeconds * nearest.info.segments;
    return {
      method: 'scaled',
      etlSeconds,
      executionSeconds: (machine / request.segments) * (epochs / nearest.info.epochs),
      basis:
        `machine time of stored run ${nearest.info.runId} (${nearest.info.segments} segments) ` +
        `spread over ${request.segments}`,
    };
  }
  return {
    method: 'none',
    etlSeconds,
    executionSeconds: null,
    basis:
      `nothing comparable stored: run ${request.workload} at ${request.scale} scale once ` +
      `(any approach${resolved.workload.search ? `; a search needs ${request.approach} itself` : ''}) to calibrate`,
  };
}

/** The file in a run folder that keeps the estimate `bench reproduce` made just before the run. */
export const ESTIMATE_FILE = 'estimate.json';

export async function writeRunEstimate(runDir: string, estimate: Estimate): Promise<void> {
  await writeFile(join(runDir, ESTIMATE_FILE), `${JSON.stringify(estimate, null, 2)}\n`);
}

/** The estimate made before the run; undefined when `bench reproduce` did not make it, or it cannot be read. */
export async function readRunEstimate(runDir: string): Promise<Estimate | undefined> {
  try {
    const value = JSON.parse(await readFile(join(runDir, ESTIMATE_FILE), 'utf8')) as Partial<Estimate>;
    const methods: readonly string[] = ['simulated', 'scaled', 'none'];
    if (typeof value.method !== 'string' || !methods.includes(value.method)) return undefined;
    if (value.executionSeconds !== null && typeof value.executionSeconds !== 'number') return undefined;
    return {
      method: value.method as Estimate['method'],
      etlSeconds: typeof value.etlSeconds === 'number' ? value.etlSeconds : null,
      executionSeconds: value.executionSeconds ?? null,
      basis: typeof value.basis === 'string' ? value.basis : '',
    };
  } catch {
    return undefined;
  }
}

/** One request of a plan: stored already, or missing with its estimate. */
export interface PlannedRun {
  study: string;
  request: RunRequest;
  key: string;
  stored: boolean;
  /** An earlier study of this plan asks for the same run: it runs (or is stored) once, there. */
  sharedWith?: string;
  estimate: Estimate | null;
}

/** The stored complete runs of a runs dir, loaded once per folder across calls. */
export class StoredRunCache {
  private readonly loaded = new Map<string, LoadedRun | null>();

  async complete(runsDir: string): Promise<LoadedRun[]> {
    const out: LoadedRun[] = [];
    for (const s of scanStoredRuns(runsDir)) {
      if (s.status !== 'complete') continue;
      if (!this.loaded.has(s.dir)) {
        try {
          this.loaded.set(s.dir, await loadRun(s.dir));
        } catch {
          // unreadable folders are reported by `bench report`; they cannot calibrate anything
          this.loaded.set(s.dir, null);
        }
      }
      const run = this.loaded.get(s.dir);
      if (run) out.push(run);
    }
    return out;
  }
}

/** Every request of the studies: which are stored, and an estimate for each missing one. */
export async function planStudies(
  studies: readonly Study[],
  ctx: StudyContext,
  runsDir: string,
  cache = new StoredRunCache(),
): Promise<{ runs: PlannedRun[]; refused: { study: string; reason: string }[] }> {
  const stored = await cache.complete(runsDir);
  const scanned = scanStoredRuns(runsDir);
  const runs: PlannedRun[] = [];
  const refused: { study: string; reason: string }[] = [];
  const firstAsked = new Map<string, string>();
  for (const study of studies) {
    const problems = study.check?.(ctx) ?? [];
    if (problems.length > 0) {
      refused.push({ study: study.id, reason: problems.map((p) => p.message).join('; ') });
      continue;
    }
    const plan = planRuns(study.runs(ctx), scanned);
    for (const request of plan.requests) {
      const key = requestKey(request);
      const sharedWith = firstAsked.get(key);
      if (sharedWith === undefined) firstAsked.set(key, study.id);
      const isStored = plan.reuse.has(key);
      runs.push({
        study: study.id,
        request,
        key,
        stored: isStored,
        ...(sharedWith === undefined ? {} : { sharedWith }),
        estimate: isStored || sharedWith !== undefined ? null : estimateRun(request, stored),
      });
    }
  }
  return { runs, refused };
}

const seconds = (s: number | null): string =>
  s === null
    ? '?'
    : s < 120
      ? `${s.toFixed(0)} s`
      : s < 7200
        ? `${(s / 60).toFixed(1)} min`
        : `${(s / 3600).toFixed(1)} h`;

/** What paper scale takes beyond this machine (the plan prints it for --scale paper). */
export const PAPER_SCALE_NOTE =
  'Paper scale needs the real datasets (ImageNet 250 GB, Criteo 400 GB: ' +
  '`bench data load --workload <w> --scale paper --source <files>`) and the models of Table 5 at full size: ' +
  'the paper ran it on 8 nodes with a P100 each and 10 Gbps (Table 6: 42-78 hours of execution per approach ' +
  'on ImageNet). On one machine the estimates below are lower bounds at best: they extrapolate from runs with ' +
  'smaller models.';

export function planMarkdown(
  plan: { runs: PlannedRun[]; refused: { study: string; reason: string }[] },
  ctx: StudyContext,
): string {
  const missing = plan.runs.filter((r) => !r.stored && r.sharedWith === undefined);
  const stored = plan.runs.filter((r) => r.stored && r.sharedWith === undefined).length;
  const shared = plan.runs.length - missing.length - stored;
  /** The sum over the missing runs that have an estimate of the quantity. */
  const total = (pick: (e: Estimate) => number | null): number =>
    missing.reduce((sum, r) => sum + ((r.estimate ? pick(r.estimate) : null) ?? 0), 0);
  const unestimated = missing.filter((r) => r.estimate?.executionSeconds === null).length;
  const lines = [
    `# Plan: reproduce at ${ctx.scale} scale, ${ctx.repeats} repeat(s)`,
    '',
    `${plan.runs.length} requests: ${stored} stored, ${missing.length} to run` +
      (shared > 0 ? `, ${shared} asked again by a later study (run once)` : '') +
      (missing.length > 0
        ? `; estimated ${seconds(total((e) => e.executionSeconds))} of execution ` +
          `and ${seconds(total((e) => e.etlSeconds))} of ETL` +
          (unestimated > 0 ? ` for the runs with an estimate, plus ${unestimated} without one` : '')
        : '') +
      '.',
    '',
  ];
  if (ctx.scale === 'paper') lines.push(PAPER_SCALE_NOTE, '');
  for (const r of plan.refused) lines.push(`- study ${r.study} would be refused: ${r.reason}`);
  if (plan.refused.length > 0) lines.push('');
  lines.push('| study | run | status | ETL | execution | how estimated |', '|---|---|---|---|---|---|');
  for (const r of plan.runs) {
    const e = r.estimate;
    const status = r.sharedWith ? `as in ${r.sharedWith}` : r.stored ? 'stored' : 'to run';
    lines.push(
      `| ${r.study} | ${describeRequest(r.request)} | ${status} ` +
        `| ${e ? seconds(e.etlSeconds) : ''} | ${e ? seconds(e.executionSeconds) : ''} ` +
        `| ${e ? `${e.method}: ${e.basis}` : ''} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A run made by this invocation beside the estimate made just before it ran. */
export interface EstimateCheck {
  study: string;
  runId: string;
  request: string;
  method: Estimate['method'];
  estimatedSeconds: number;
  measuredSeconds: number;
  /** estimated / measured - 1. */
  error: number;
}

export function estimateChecksMarkdown(checks: readonly EstimateCheck[]): string {
  if (checks.length === 0) {
    return (
      '# Estimates beside measured\n\nNo run of this reproduction keeps an estimate (estimate.json): they were made ' +
      'by `bench run`, or by a `bench reproduce` older than kept estimates.\n'
    );
  }
  const errors = checks.map((c) => Math.abs(c.error));
  const lines = [
    '# Estimates beside measured',
    '',
    `Execution time estimated before each run (from the runs stored at that moment) against what it measured: ` +
      `median |error| ${(median(errors) * 100).toFixed(0)}%, worst ${(Math.max(...errors) * 100).toFixed(0)}%, ` +
      `over ${checks.length} runs.`,
    '',
    '| study | run | method | estimated s | measured s | error |',
    '|---|---|---|---|---|---|',
    ...checks.map(
      (c) =>
        `| ${c.study} | ${c.request} (${c.runId}) | ${c.method} | ${c.estimatedSeconds.toFixed(1)} ` +
        `| ${c.measuredSeconds.toFixed(1)} | ${c.error >= 0 ? '+' : ''}${(c.error * 100).toFixed(0)}% |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
