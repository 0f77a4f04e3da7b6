// Shared vocabulary of the report modules: how runs are grouped, named and formatted.
import type { LoadedRun } from '../src/core/records.js';
import type { Breakdown } from '../src/core/records.js';
import { approachName } from './style.js';

/** The paper's order of approaches (Table 6, Figure 9); others follow alphabetically. */
export const APPROACH_ORDER = ['ma', 'udaf', 'ctq', 'da', 'export', 'ddp', 'da-ddp', 'task-parallel'];

export function compareApproaches(a: string, b: string): number {
  const ia = APPROACH_ORDER.indexOf(a);
  const ib = APPROACH_ORDER.indexOf(b);
  if (ia !== ib) return (ia < 0 ? APPROACH_ORDER.length : ia) - (ib < 0 ? APPROACH_ORDER.length : ib);
  return a.localeCompare(b);
}

/** Runs comparable in one table section or figure: same workload, scale and segment count. */
export interface RunGroup {
  key: string;
  workload: string;
  scale: string;
  segments: number;
  /** e.g. "criteo (tiny, 4 segments)". */
  title: string;
  runs: LoadedRun[];
}

export function groupByWorkload(runs: readonly LoadedRun[]): RunGroup[] {
  const groups = new Map<string, RunGroup>();
  for (const run of runs) {
    const { workload, scale, segments } = run.info;
    const key = `${workload}-${scale}-${segments}seg`;
    let g = groups.get(key);
    if (!g) {
      g = { key, workload, scale, segments, title: `${workload} (${scale}, ${segments} segment${segments === 1 ? '' : 's'})`, runs: [] };
      groups.set(key, g);
    }
    g.runs.push(run);
  }
  return [...groups.values()].sort((a, b) => a.workload.localeCompare(b.workload) || a.scale.localeCompare(b.scale) || a.segments - b.segments);
}

/** Runs of one group by approach, in the paper's order. */
export function byApproach(runs: readonly LoadedRun[]): [string, LoadedRun[]][] {
  const m = new Map<string, LoadedRun[]>();
  for (const r of runs) {
    const list = m.get(r.info.approach);
    if (list) list.push(r);
    else m.set(r.info.approach, [r]);
  }
  return [...m.entries()].sort(([a], [b]) => compareApproaches(a, b));
}

/**
 * The runs a figure or table row stands on: the complete ones when there are any, else the
 * incomplete ones (and the row is then marked incomplete).
 */
export function usableRuns(runs: readonly LoadedRun[]): { runs: LoadedRun[]; status: 'complete' | 'incomplete'; excluded: number } {
  const complete = runs.filter((r) => r.summary.status === 'complete');
  if (complete.length > 0) return { runs: complete, status: 'complete', excluded: runs.length - complete.length };
  return { runs: [...runs], status: 'incomplete', excluded: 0 };
}

/** The name an approach carries in figures: incomplete data is never shown as complete. */
export function approachLabel(approach: string, status: 'complete' | 'incomplete'): string {
  const name = approachName(approach);
  return status === 'complete' ? name : `${name} (incomplete)`;
}

/** How a group is said in captions: "ImageNet, tiny scale, 2 segments, 3 repeats". */
export function groupCaption(group: RunGroup): string {
  const repeats = Math.max(0, ...byApproach(group.runs).map(([, runs]) => usableRuns(runs).runs.length));
  const parts = [workloadName(group.workload), `${group.scale} scale`, `${group.segments} segment${group.segments === 1 ? '' : 's'}`];
  if (repeats > 0) parts.push(`${repeats} repeat${repeats === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/** The paper's names of the datasets; other workloads keep their id. */
export function workloadName(workload: string): string {
  return ({ imagenet: 'ImageNet', criteo: 'Criteo' } as Record<string, string>)[workload] ?? workload;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((s, v) => s + v, 0) / values.length;
}

/** Mean of the values that are not null; null when all are. */
export function meanOrNull(values: readonly (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null);
  return xs.length === 0 ? null : mean(xs);
}

export const COMPONENT_LABELS: Record<keyof Breakdown, string> = {
  trainValid: 'Train+Valid',
  dataTransmission: 'Data Transmission',
  modelTransmission: 'Model Transmission',
  approachSpecific: 'Approach-specific',
};
export const COMPONENTS = Object.keys(COMPONENT_LABELS) as (keyof Breakdown)[];

/** A file-name-safe slug. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Seconds as the paper writes durations, in the unit that fits: "12.3 s", "4.5 min", "2.8 hr". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} hr`;
}

/** Decimal bytes: "0.6 TB", "12 GB", "345 MB", "2.1 kB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  const digits = i === 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${v.toFixed(digits)} ${units[i]}`;
}

export function formatPercent(pct: number): string {
  return `${pct.toFixed(1)}%`;
}
