// Shared vocabulary of the report modules: how runs are grouped, named and formatted.
import type { Breakdown, LoadedRun } from '../src/core/records.js';
import {
  describeInputs,
  inputsKey,
  rowInputs,
  sectionInputs,
  varyingInputs,
  type Inputs,
} from '../src/metrics/grouping.js';
import type { Spread } from '../src/metrics/stats.js';
import { approachName, COMPONENT_COLOURS } from './style.js';
import { mean as statsMean } from '../src/metrics/stats.js';

/** The paper's order of approaches (Table 6, Figure 9); others follow alphabetically. */
export const APPROACH_ORDER = ['ma', 'udaf', 'ctq', 'da', 'export', 'ddp', 'da-ddp', 'task-parallel'];

export function compareApproaches(a: string, b: string): number {
  const ia = APPROACH_ORDER.indexOf(a);
  const ib = APPROACH_ORDER.indexOf(b);
  if (ia !== ib) return (ia < 0 ? APPROACH_ORDER.length : ia) - (ib < 0 ? APPROACH_ORDER.length : ib);
  return a.localeCompare(b);
}

/** Runs of identical inputs (docs/measurement.md, "Grouping"): one table row, one bar, one line. */
export interface RunRow {
  key: string;
  approach: string;
  /** The inputs that set this row apart from the others of its section, e.g. "compression=none"; '' if none. */
  distinguishing: string;
  /** The approach, with the distinguishing inputs in parentheses when there are any. */
  label: string;
  runs: LoadedRun[];
}

/**
 * Runs comparable in one table section or figure: same workload, scale, segments, epochs, configs and workload options.
 */
export interface RunGroup {
  key: string;
  workload: string;
  scale: string;
  segments: number;
  /** e.g. "criteo (small, 2 segments)". */
  title: string;
  runs: LoadedRun[];
  rows: RunRow[];
}

function sectionTitle(info: LoadedRun['info'], extra: string): string {
  const { workload, scale, segments } = info;
  return `${workload} (${scale}, ${segments} segment${segments === 1 ? '' : 's'}${extra ? `; ${extra}` : ''})`;
}

type RunsByInputs = Map<string, { inputs: Inputs; runs: LoadedRun[] }>;

function byInputs(runs: readonly LoadedRun[], inputsOf: (run: LoadedRun) => Inputs): RunsByInputs {
  const out: RunsByInputs = new Map();
  for (const run of runs) {
    const inputs = inputsOf(run);
    const key = inputsKey(inputs);
    const entry = out.get(key);
    if (entry) entry.runs.push(run);
    else out.set(key, { inputs, runs: [run] });
  }
  return out;
}

/** The runs' rows within one section, labelled by what distinguishes them, in the paper's approach order. */
function rowsOf(runs: readonly LoadedRun[]): RunRow[] {
  const byKey = byInputs(runs, (run) => rowInputs(run.info));
  const varying = varyingInputs([...byKey.values()].map((e) => e.inputs)).filter((k) => k !== 'approach');
  return [...byKey.entries()]
    .map(([key, { inputs, runs: list }]) => {
      const distinguishing = describeInputs(inputs, varying);
      const approach = inputs.approach;
      const label = distinguishing ? `${approach} (${distinguishing})` : approach;
      return { key, approach, distinguishing, label, runs: list };
    })
    .sort((a, b) => compareApproaches(a.approach, b.approach) || a.label.localeCompare(b.label));
}

/** Sections of comparable runs, each split into rows of identical inputs. */
export function groupRuns(runs: readonly LoadedRun[]): RunGroup[] {
  const all = [...byInputs(runs, (run) => sectionInputs(run.info)).values()];
  const baseKey = (info: LoadedRun['info']): string => `${info.workload}-${info.scale}-${info.segments}seg`;
  return all
    .map(({ inputs, runs: list }) => {
      const info = list[0].info;
      // Name what sets this section apart from the others of the same workload, scale and segments.
      const siblings = all.filter((o) => baseKey(o.runs[0].info) === baseKey(info)).map((o) => o.inputs);
      const suffix = describeInputs(inputs, varyingInputs(siblings, true));
      return {
        key: suffix ? `${baseKey(info)}-${slug(suffix)}` : baseKey(info),
        workload: info.workload,
        scale: info.scale,
        segments: info.segments,
        title: sectionTitle(info, suffix),
        runs: list,
        rows: rowsOf(list),
      };
    })
    .sort(
      (a, b) =>
        a.workload.localeCompare(b.workload) ||
        a.scale.localeCompare(b.scale) ||
        a.segments - b.segments ||
        a.key.localeCompare(b.key),
    );
}

/**
 * A section's rows as (label, runs), in the paper's approach order: the paper's name of the approach,
 * with what sets the row apart from the others in parentheses when anything does.
 */
export function rowsByLabel(group: RunGroup): [string, LoadedRun[]][] {
  return group.rows.map((row) => [rowLabel(row, 'complete'), row.runs]);
}

/** Notes on rows split because their runs differ in code version or machine (never averaged). */
export function splitNotes(groups: readonly RunGroup[]): string[] {
  const splitByFingerprint = (r: RunRow): boolean => /(^|, )(code|machine) /.test(r.distinguishing);
  const split = groups.flatMap((g) => g.rows.filter(splitByFingerprint).map((r) => `${g.title}: ${r.label}`));
  if (split.length === 0) return [];
  return [
    'Runs of different code versions or machines are never averaged: they are separate rows, named by what ' +
      `differs (${split.join('; ')}).`,
  ];
}

/** Runs by approach, in the paper's order (figures that compare approaches across sections). */
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
export function usableRuns(runs: readonly LoadedRun[]): {
  runs: LoadedRun[];
  status: 'complete' | 'incomplete';
  excluded: number;
} {
  const complete = runs.filter((r) => r.summary.status === 'complete');
  if (complete.length > 0) return { runs: complete, status: 'complete', excluded: runs.length - complete.length };
  return { runs: [...runs], status: 'incomplete', excluded: 0 };
}

/** The name an approach carries in figures: incomplete data is never shown as complete. */
export function approachLabel(approach: string, status: 'complete' | 'incomplete'): string {
  const name = approachName(approach);
  return status === 'complete' ? name : `${name} (incomplete)`;
}

/** A row's name in figures and tables: the paper's name of its approach, what sets it apart, incomplete. */
export function rowLabel(row: RunRow, status: 'complete' | 'incomplete'): string {
  const name = row.distinguishing
    ? `${approachName(row.approach)} (${row.distinguishing})`
    : approachName(row.approach);
  return status === 'complete' ? name : `${name} (incomplete)`;
}

/** How a group is said in captions: "ImageNet, tiny scale, 2 segments, 3 repeats". */
export function groupCaption(group: RunGroup): string {
  const repeats = Math.max(0, ...group.rows.map((row) => usableRuns(row.runs).runs.length));
  const parts = [
    workloadName(group.workload),
    `${group.scale} scale`,
    `${group.segments} segment${group.segments === 1 ? '' : 's'}`,
  ];
  if (repeats > 0) parts.push(`${repeats} repeat${repeats === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/** The paper's names of the datasets; other workloads keep their id. */
export function workloadName(workload: string): string {
  return ({ imagenet: 'ImageNet', criteo: 'Criteo' } as Record<string, string>)[workload] ?? workload;
}

/** The mean, 0 for no values (an empty cell of a table reads 0, not NaN). */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : statsMean(values);
}

/** Mean of the values that are not null; null when all are. */
export function meanOrNull(values: readonly (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null);
  return xs.length === 0 ? null : mean(xs);
}

/** The breakdown's categories as the figures and tables name them, approach-specific split into its measured parts. */
export const BREAKDOWN_PARTS = [
  { key: 'trainValid', label: 'Train+Valid', color: COMPONENT_COLOURS[0] },
  { key: 'dataTransmission', label: 'Data Transmission', color: COMPONENT_COLOURS[1] },
  { key: 'modelTransmission', label: 'Model Transmission', color: COMPONENT_COLOURS[2] },
  { key: 'average', label: 'Approach-specific: average', color: '#7b4173' },
  { key: 'schedule', label: 'Approach-specific: schedule', color: '#a55194' },
  { key: 'idle', label: 'Approach-specific: idle', color: '#ce6dbd' },
  { key: 'unattributed', label: 'Unattributed', color: '#d62728' },
] as const;
export type BreakdownPart = (typeof BREAKDOWN_PARTS)[number]['key'];

/** Seconds of one breakdown part. */
export function partSeconds(b: Breakdown, part: BreakdownPart): number {
  switch (part) {
    case 'average':
    case 'schedule':
    case 'idle':
      return b.kinds[part];
    default:
      return b[part];
  }
}

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

/** "12.3 s ± 0.4 s": a mean with the half-width of its 95% interval (nothing more for one run). */
export function formatSpread(s: Spread, format: (value: number) => string): string {
  return s.ci95 === null ? format(s.mean) : `${format(s.mean)} ± ${format(s.ci95)}`;
}

/** A Markdown table's alignment row: the first column left, the others right. */
export function alignmentRow(columns: number): string {
  return `|${Array.from({ length: columns }, (_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`;
}
