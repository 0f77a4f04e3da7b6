// Table 6 of the paper: runtimes and resource utilisation of the end-to-end runs, one section per
// workload, one row per approach. Pure: loaded runs in, a table out; renderers for Markdown and CSV.
import type { LoadedRun } from '../src/core/records.js';
import {
  approachLabel,
  byApproach,
  formatBytes,
  formatDuration,
  formatPercent,
  groupByWorkload,
  mean,
  meanOrNull,
  usableRuns,
} from './common.js';

export const NO_GPU = 'N/A (no GPU)';
export const NO_SAMPLES = 'n/a (no samples)';

export interface Table6Row {
  approach: string;
  /** 'incomplete' when no complete run of this approach exists: the figures are partial. */
  status: 'complete' | 'incomplete';
  /** Runs averaged into this row. */
  runs: number;
  runIds: string[];
  /** Incomplete runs left out because complete ones exist. */
  excludedIncomplete: number;
  etlSeconds: number;
  executionSeconds: number;
  /** Execution time divided by the number of epochs (the paper's definition). */
  epochSeconds: number;
  /** false: the runs had no GPU (the cells read N/A (no GPU)). */
  gpu: boolean;
  gpuUtilPct: number | null;
  gpuMemPct: number | null;
  /** System-wide means over the execution phase; null without samples. */
  cpuPct: number | null;
  dramPct: number | null;
  /** Sum of the bytes counted at every transport: exact counts, not sampled. */
  networkBytes: number;
  /** Process-tree storage reads / writes during execution, divided by segments. */
  diskReadPerWorkerBytes: number | null;
  diskWritePerWorkerBytes: number | null;
  storageBlowup: number;
}

export interface Table6Section {
  key: string;
  workload: string;
  scale: string;
  segments: number;
  title: string;
  rows: Table6Row[];
}

export interface Table6 {
  sections: Table6Section[];
  notes: string[];
}

export const TABLE6_NOTES = [
  'Execution time and all utilisations exclude ETL. Epoch time = execution time / number of epochs (the paper\'s definition).',
  'CPU and DRAM utilisation: system-wide means over the execution phase, sampled (default 1 Hz). GPU figures: nvidia-smi; N/A where the run had no GPU.',
  'Total network: the sum of the bytes every transport moved (COPY, pipes to workers, model store, model table, all-reduce, SQL, direct reads), counted exactly by the harness, not sampled; on one machine this traffic goes over loopback.',
  'Per-worker disk R/W: storage reads / writes of the run\'s process tree (/proc/<pid>/io) during execution, divided by the number of segments; page-cache hits are not reads.',
  'Storage blowup: (packed data in the database + copies the approach made) / packed data.',
];

function hasGpu(run: LoadedRun): boolean {
  return run.info.environment.gpu !== null || (run.summary.resources?.gpuUtilPctMean ?? null) !== null;
}

function epochsOf(run: LoadedRun): number {
  if (run.summary.status === 'complete') return Math.max(1, run.info.epochs);
  return Math.max(1, run.summary.epochSeconds.length);
}

function row(approach: string, all: LoadedRun[]): Table6Row {
  const { runs, status, excluded } = usableRuns(all);
  const gpu = runs.some(hasGpu);
  const res = runs.map((r) => r.summary.resources);
  return {
    approach,
    status,
    runs: runs.length,
    runIds: runs.map((r) => r.info.runId),
    excludedIncomplete: excluded,
    etlSeconds: mean(runs.map((r) => r.summary.etlSeconds)),
    executionSeconds: mean(runs.map((r) => r.summary.executionSeconds)),
    epochSeconds: mean(runs.map((r) => r.summary.executionSeconds / epochsOf(r))),
    gpu,
    gpuUtilPct: gpu ? meanOrNull(res.map((x) => x?.gpuUtilPctMean ?? null)) : null,
    gpuMemPct: gpu ? meanOrNull(res.map((x) => x?.gpuMemPctMean ?? null)) : null,
    cpuPct: meanOrNull(res.map((x) => x?.cpuPctMean ?? null)),
    dramPct: meanOrNull(res.map((x) => x?.memUsedPctMean ?? null)),
    networkBytes: mean(runs.map((r) => Object.values(r.summary.transportBytes).reduce((s, b) => s + b, 0))),
    diskReadPerWorkerBytes: meanOrNull(runs.map((r) => (r.summary.resources ? r.summary.resources.diskReadBytes / Math.max(1, r.info.segments) : null))),
    diskWritePerWorkerBytes: meanOrNull(runs.map((r) => (r.summary.resources ? r.summary.resources.diskWriteBytes / Math.max(1, r.info.segments) : null))),
    storageBlowup: mean(runs.map((r) => r.summary.storage.blowup)),
  };
}

export function table6(runs: readonly LoadedRun[]): Table6 {
  const sections = groupByWorkload(runs).map((g) => ({
    key: g.key,
    workload: g.workload,
    scale: g.scale,
    segments: g.segments,
    title: g.title,
    rows: byApproach(g.runs).map(([approach, list]) => row(approach, list)),
  }));
  const notes = [...TABLE6_NOTES];
  if (sections.some((s) => s.rows.some((r) => r.status === 'incomplete'))) {
    notes.push('Rows marked (incomplete) come from runs that did not finish: their figures cover only the part that ran.');
  }
  if (sections.some((s) => s.rows.some((r) => r.excludedIncomplete > 0))) {
    notes.push('Where an approach has complete runs, its incomplete runs are left out of the averages.');
  }
  if (sections.some((s) => s.rows.some((r) => r.runs > 1))) notes.push('Where an approach has several runs, each figure is their mean.');
  return { sections, notes };
}

export const TABLE6_COLUMNS = [
  'Approach',
  'Runs',
  'ETL time',
  'Exec. time',
  'Epoch time',
  'GPU util.',
  'GPU RAM util.',
  'CPU util.',
  'DRAM util.',
  'Total network',
  'Per w. disk R/W',
  'Storage blowup',
] as const;

/** The row as display text, shared by the Markdown and HTML renderers. */
export function formatRow(r: Table6Row): string[] {
  const noSamples = r.cpuPct === null;
  const gpuCell = (v: number | null): string => (!r.gpu ? NO_GPU : v === null ? NO_SAMPLES : formatPercent(v));
  const disk =
    r.diskReadPerWorkerBytes === null || r.diskWritePerWorkerBytes === null
      ? NO_SAMPLES
      : `${formatBytes(r.diskReadPerWorkerBytes)} / ${formatBytes(r.diskWritePerWorkerBytes)}`;
  return [
    approachLabel(r.approach, r.status),
    String(r.runs),
    formatDuration(r.etlSeconds),
    formatDuration(r.executionSeconds),
    formatDuration(r.epochSeconds),
    gpuCell(r.gpuUtilPct),
    gpuCell(r.gpuMemPct),
    noSamples ? NO_SAMPLES : formatPercent(r.cpuPct!),
    r.dramPct === null ? NO_SAMPLES : formatPercent(r.dramPct),
    formatBytes(r.networkBytes),
    disk,
    `${r.storageBlowup.toFixed(2)}x`,
  ];
}

function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

export function table6Markdown(t: Table6): string {
  const out: string[] = ['# Table 6: runtimes and resource utilisation', ''];
  if (t.sections.length === 0) out.push('No runs.', '');
  for (const s of t.sections) {
    out.push(`## ${s.title}`, '');
    out.push(`| ${TABLE6_COLUMNS.join(' | ')} |`);
    out.push(`|${TABLE6_COLUMNS.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const r of s.rows) out.push(`| ${formatRow(r).map(mdCell).join(' | ')} |`);
    out.push('');
  }
  for (const note of t.notes) out.push(`- ${note}`);
  return out.join('\n') + '\n';
}

export const TABLE6_CSV_COLUMNS = [
  'workload',
  'scale',
  'segments',
  'approach',
  'status',
  'runs',
  'run_ids',
  'etl_seconds',
  'execution_seconds',
  'epoch_seconds',
  'gpu_util_pct',
  'gpu_mem_pct',
  'cpu_util_pct',
  'dram_util_pct',
  'total_network_bytes_exact',
  'disk_read_bytes_per_worker',
  'disk_write_bytes_per_worker',
  'storage_blowup',
] as const;

function csvCell(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Raw numbers (seconds, percent, bytes); a GPU cell reads N/A (no GPU) where there was none, an empty cell means no samples. */
export function table6Csv(t: Table6): string {
  const lines = [TABLE6_CSV_COLUMNS.join(',')];
  for (const s of t.sections) {
    for (const r of s.rows) {
      const gpu = (v: number | null): string | number | null => (r.gpu ? v : NO_GPU);
      lines.push(
        [
          s.workload,
          s.scale,
          s.segments,
          r.approach,
          r.status,
          r.runs,
          r.runIds.join(' '),
          r.etlSeconds,
          r.executionSeconds,
          r.epochSeconds,
          gpu(r.gpuUtilPct),
          gpu(r.gpuMemPct),
          r.cpuPct,
          r.dramPct,
          r.networkBytes,
          r.diskReadPerWorkerBytes,
          r.diskWritePerWorkerBytes,
          r.storageBlowup,
        ]
          .map(csvCell)
          .join(','),
      );
    }
  }
  return lines.join('\n') + '\n';
}
