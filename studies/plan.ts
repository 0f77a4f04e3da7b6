// The study planner (docs/studies.md, "Resuming"): which of a study's runs are already stored and
// which are missing. A stored run answers a request when its run.json says the same approach,
// workload, scale, segment count and seed, and the same value for every option the approach and
// the workload declare (defaults included), and its summary says it completed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRunSpec } from '../approaches/resolve.js';
import { parseOptionValues, type OptionValue } from '../src/core/options.js';
import { runInfoSchema, type RunInfo } from '../src/core/records.js';
import type { RunRequest } from './types.js';

export interface StoredRun {
  dir: string;
  info: RunInfo;
  status: 'complete' | 'incomplete';
}

/** What run.json must say for a run to answer the request. */
export interface ExpectedRecord {
  approach: string;
  workload: string;
  scale: string;
  segments: number;
  seed: number;
  options: Record<string, OptionValue>;
  workloadOptions: Record<string, string>;
}

export function expectedRecord(request: RunRequest): ExpectedRecord {
  const resolved = resolveRunSpec({
    approach: request.approach,
    workload: request.workload,
    scale: request.scale,
    seed: request.seed,
    options: request.options,
  });
  return {
    approach: resolved.approach.id,
    workload: resolved.workload.id,
    scale: request.scale,
    segments: request.segments,
    seed: request.seed,
    options: parseOptionValues(`approach ${resolved.approach.id}`, resolved.approach.options, resolved.approachOptions),
    workloadOptions: resolved.workloadOptions,
  };
}

/** One string per distinct request: requests with equal keys are answered by one run. */
export function requestKey(request: RunRequest): string {
  const e = expectedRecord(request);
  const opts = (o: Record<string, unknown>): string =>
    Object.keys(o)
      .sort()
      .map((k) => `${k}=${String(o[k])}`)
      .join(',');
  return (
    `${e.approach}|${e.workload}|${e.scale}|${e.segments}seg|` +
    `seed${e.seed}|${opts(e.options)}|${opts(e.workloadOptions)}`
  );
}

export function answers(info: RunInfo, expected: ExpectedRecord): boolean {
  if (info.approach !== expected.approach || info.workload !== expected.workload) return false;
  if (info.scale !== expected.scale || info.segments !== expected.segments || info.seed !== expected.seed) return false;
  for (const [key, value] of Object.entries(expected.options)) {
    if (!Object.hasOwn(info.options, key) || String(info.options[key]) !== String(value)) return false;
  }
  // Runs recorded before workload options were kept them among the approach's options.
  const workloadOptions: Record<string, unknown> = info.workloadOptions ?? info.options;
  for (const [key, value] of Object.entries(expected.workloadOptions)) {
    const stored = Object.hasOwn(workloadOptions, key) ? workloadOptions[key] : undefined;
    if (stored === undefined ? value !== '' : String(stored) !== String(value)) return false;
  }
  return true;
}

/** The run folders directly under `runsDir` whose run.json reads; the others are skipped. */
export function scanStoredRuns(runsDir: string): StoredRun[] {
  if (!existsSync(runsDir)) return [];
  const out: StoredRun[] = [];
  for (const entry of readdirSync(runsDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(runsDir, entry.name);
    try {
      const info = runInfoSchema.safeParse(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')));
      if (!info.success) continue;
      const summaryPath = join(dir, 'summary.json');
      const summary = existsSync(summaryPath)
        ? (JSON.parse(readFileSync(summaryPath, 'utf8')) as { status?: unknown })
        : {};
      out.push({ dir, info: info.data, status: summary.status === 'complete' ? 'complete' : 'incomplete' });
    } catch {
      // not a run folder, or one being written: not reusable
    }
  }
  return out;
}

export interface Plan {
  /** The distinct requests, in the order first asked. */
  requests: RunRequest[];
  /** Request key -> the stored complete run that answers it (the latest started). */
  reuse: Map<string, StoredRun>;
  /** Requests no stored complete run answers, in the order to run them (fewest segments first). */
  missing: RunRequest[];
}

export function planRuns(requests: readonly RunRequest[], stored: readonly StoredRun[]): Plan {
  const distinct = new Map<string, RunRequest>();
  for (const r of requests) {
    const key = requestKey(r);
    if (!distinct.has(key)) distinct.set(key, r);
  }
  const reuse = new Map<string, StoredRun>();
  const missing: RunRequest[] = [];
  for (const [key, request] of distinct) {
    const expected = expectedRecord(request);
    const found = stored
      .filter((s) => s.status === 'complete' && answers(s.info, expected))
      .sort((a, b) => b.info.startedAt.localeCompare(a.info.startedAt))[0];
    if (found) reuse.set(key, found);
    else missing.push(request);
  }
  // Stable: within a segment count, the study's own order.
  missing.sort((a, b) => a.segments - b.segments);
  return { requests: [...distinct.values()], reuse, missing };
}
