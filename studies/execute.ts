// Executing a study (docs/studies.md): plan its runs against the stored ones, run only the missing
// ones on the embedded cluster (grouped by segment count, so the cluster is rebuilt once per
// count), then render its tables and figures from the stored runs and write them with a
// study.json that names the run folder behind every request.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { resolveRunSpec, runSpec } from '../approaches/resolve.js';
import { ensureCluster } from '../src/db/cluster.js';
import { checkClusterRebuild } from '../src/run/cluster-guard.js';
import { RunInterrupted } from '../src/run/interrupt.js';
import { loadRun } from '../src/store/read.js';
import type { Topology } from '../src/core/topology.js';
import type { ResolvedWorkload } from '../src/core/workload.js';
import { writeFigure } from '../reports/artifacts.js';
import { planRuns, requestKey, scanStoredRuns } from './plan.js';
import {
  StudyError,
  type Answered,
  type RunRequest,
  type Study,
  type StudyArtifacts,
  type StudyContext,
  type StudyObserver,
} from './types.js';
import { firstLine } from '../src/core/errors.js';

export const STUDY_MANIFEST = 'study.json';

export interface ExecuteOptions {
  runsDir: string;
  observer?: StudyObserver;
  /** Engine threads per worker (default: the harness's cores / segments). */
  threads?: number;
  sampleIntervalMs?: number;
  signal?: AbortSignal;
  /** Called before each missing run starts, with what is stored by then (the planner's estimate of it). */
  beforeRun?: (request: RunRequest, key: string) => Promise<void>;
}

export type RunOrigin = 'reused' | 'ran' | 'failed';

export interface StudyResult {
  study: Study;
  ctx: StudyContext;
  answered: (Answered & { key: string; origin: RunOrigin })[];
  artifacts: StudyArtifacts;
}

export async function executeStudy(study: Study, ctx: StudyContext, options: ExecuteOptions): Promise<StudyResult> {
  const problems = study.check?.(ctx) ?? [];
  if (problems.length > 0) throw new StudyError(study.id, problems);
  const requests = study.runs(ctx);
  // A study without runs (computed, as fig16) neither reads the runs folder nor starts a cluster.
  const plan = planRuns(requests, requests.length > 0 ? scanStoredRuns(options.runsDir) : []);
  options.observer?.runsReused(plan.reuse.size);

  const ran = new Map<string, string>();
  const failed = new Map<string, string>();
  let topology: Topology | undefined;
  for (const request of plan.missing) {
    const key = requestKey(request);
    try {
      if (!topology || topology.segments.length !== request.segments) {
        // A study reruns its incomplete runs rather than resuming them, so rebuilding is allowed; said aloud.
        const rebuilding = await checkClusterRebuild({
          segments: request.segments,
          runsDir: options.runsDir,
          rebuild: true,
        });
        if (rebuilding) options.observer?.note(rebuilding);
        topology = await ensureCluster({ segments: request.segments });
      }
      await options.beforeRun?.(request, key);
      const display = options.observer?.runStarting(request, resolveForDisplay(request), request.segments);
      try {
        const { runDir, summary } = await runSpec({
          approach: request.approach,
          workload: request.workload,
          scale: request.scale,
          seed: request.seed,
          options: request.options,
          topology,
          runsDir: options.runsDir,
          threads: options.threads,
          sampleIntervalMs: options.sampleIntervalMs,
          signal: options.signal,
          onEvent: display?.onEvent,
        });
        if (summary.status === 'complete') ran.set(key, runDir);
        else failed.set(key, `the run did not complete (${runDir})`);
      } finally {
        display?.finish();
      }
    } catch (error) {
      if (error instanceof RunInterrupted || options.signal?.aborted) throw error;
      failed.set(key, firstLine(error));
      options.observer?.note(`${describeRequest(request)} failed: ${firstLine(error)}`);
    }
  }

  const answered: StudyResult['answered'] = [];
  for (const request of requests) {
    const key = requestKey(request);
    const reused = plan.reuse.get(key)?.dir;
    const dir = reused ?? ran.get(key);
    const origin: RunOrigin = reused ? 'reused' : dir ? 'ran' : 'failed';
    const run = dir ? await loadRun(dir) : undefined;
    answered.push({ request, key, run, origin, failure: dir ? undefined : (failed.get(key) ?? 'not run') });
  }
  const artifacts = await study.render(answered, ctx);
  const failures = answered.filter((a) => a.origin === 'failed');
  if (failures.length > 0) {
    artifacts.notes.unshift(
      `${failures.length} of ${answered.length} runs failed and are missing from these artifacts: ` +
        [...new Set(failures.map((f) => `${describeRequest(f.request)}: ${f.failure}`))].join('; '),
    );
  }
  return { study, ctx, answered, artifacts };
}

/** The workload as the display needs it (configs, epochs) for a request. */
function resolveForDisplay(request: RunRequest): ResolvedWorkload {
  return resolveRunSpec({ ...request }).workload;
}

export function describeRequest(r: RunRequest): string {
  const opts = Object.entries(r.options).map(([k, v]) => `${k}=${v}`);
  return (
    `${r.approach} ${r.workload}/${r.scale} on ${r.segments} segment${r.segments === 1 ? '' : 's'}, ` +
    `seed ${r.seed}${opts.length > 0 ? ` (${opts.join(', ')})` : ''}`
  );
}

export interface WrittenStudy {
  dir: string;
  files: string[];
  warnings: string[];
  figures: { name: string; title: string; svg: string }[];
}

/** Writes the study's artifacts and study.json into `outDir`. */
export async function writeStudy(result: StudyResult, outDir: string): Promise<WrittenStudy> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const warnings: string[] = [];
  for (const f of result.artifacts.files) {
    const path = join(dir, f.name);
    await writeFile(path, f.content);
    files.push(path);
  }
  const figures: WrittenStudy['figures'] = [];
  for (const figure of result.artifacts.figures) {
    const written = await writeFigure(figure, dir, { pageWidth: true });
    files.push(...written.files);
    warnings.push(...written.warnings);
    figures.push({ name: written.name, title: written.title, svg: written.svg });
  }
  const manifest = {
    study: result.study.id,
    artifact: result.study.artifact,
    scale: result.ctx.scale,
    repeats: result.ctx.repeats,
    runs: result.answered.map((a) => ({
      key: a.key,
      request: a.request,
      origin: a.origin,
      dir: a.run?.dir ?? null,
      runId: a.run?.info.runId ?? null,
      failure: a.failure ?? null,
    })),
    files: files.map((f) => f.slice(dir.length + 1)),
    notes: result.artifacts.notes,
    warnings,
  };
  const manifestPath = join(dir, STUDY_MANIFEST);
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  files.push(manifestPath);
  return { dir, files, warnings, figures };
}
