// Table 6 of the paper: runtimes and resource utilisation of the end-to-end runs, one section per
// set of comparable runs, one row per set of identical inputs (reports/common.ts, groupRuns). Every
// cell is the mean over the row's runs with the half-width of its 95% interval; n says how many.
// Pure: loaded runs in, a table out; renderers for Markdown and CSV. Definitions: docs/measurement.md.
import type { LoadedRun } from '../src/core/records.js';
import { spread, spreadOrNull, type Spread } from '../src/metrics/stats.js';
import {
  alignmentRow,
  rowLabel,
  formatBytes,
  formatDuration,
  formatPercent,
  formatSpread,
  groupRuns,
  splitNotes,
  usableRuns,
  type RunRow,
} from './common.js';

export const NO_GPU = 'N/A (no GPU)';
export const NO_SAMPLES = 'n/a (no samples)';
export const NO_SIZES = 'n/a (sizes unknown)';

export interface Table6Row {
  approach: string;
  /** The approach and what distinguishes this row from the others of its section. */
  label: string;
  /** 'incomplete' when no complete run of these inputs exists: the figures are partial. */
  status: 'complete' | 'incomplete';
  /** Runs this row stands on (n). */
  runs: number;
  runIds: string[];
  /** Incomplete runs left out because complete ones exist. */
  excludedIncomplete: number;
  etlSeconds: Spread;
  startupSeconds: Spread;
  /** The raw loop's calibration (docs/ci.md): in neither ETL nor execution. */
  calibrationSeconds: Spread;
  executionSeconds: Spread;
  /** Execution time divided by the number of epochs (the paper's definition). */
  epochSeconds: Spread;
  /** false: the runs had no GPU (the cells read N/A (no GPU)). */
  gpu: boolean;
  gpuUtilPct: Spread | null;
  gpuMemPct: Spread | null;
  /** Machine-wide means over the execution phase; null without samples. */
  cpuPct: Spread | null;
  dramPct: Spread | null;
  /** The run's own processes over the execution phase. */
  runCpuPct: Spread | null;
  runDramPct: Spread | null;
  /** Counted execution-phase bytes by column (TRANSPORT_TABLE). */
  networkBytes: Spread;
  countedDiskBytes: Spread;
  localBytes: Spread;
  /** Counted bytes of the ETL phase and of the start-up phase, any transport. */
  etlBytes: Spread;
  startupBytes: Spread;
  /** Sampled tx of every interface (loopback included) over the execution phase. */
  sampledNetTxBytes: Spread | null;
  /** Process-tree storage reads / writes during execution, divided by segments (sampled). */
  diskReadPerWorkerBytes: Spread | null;
  diskWritePerWorkerBytes: Spread | null;
  /**
   * (data + copies) / data over logical bytes (the paper-comparable one) and as stored; null when sizes are unknown.
   */
  blowupLogical: Spread | null;
  blowupStored: Spread | null;
  /**
   * The run's processes by group (servers, engine workers, harness): CPU percent of the machine and memory bytes,
   * execution means.
   */
  processGroups: Record<string, { cpuPct: Spread; memBytes: Spread }>;
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
  "Each cell: mean over the row's n runs ± the half-width of the 95% confidence interval of the mean (Student's " +
    't, n - 1 degrees of freedom); a single run shows its value alone.',
  'Execution time and all utilisations exclude ETL, start-up (the approach opening its sessions and warming its ' +
    'workers) and calibration (the raw loop measured for bench compare, docs/ci.md; in the CSV only). Epoch time = ' +
    "execution time / number of epochs (the paper's definition).",
  'CPU and DRAM utilisation: "machine" is the whole machine, "run" the run\'s own processes (segment and ' +
    'coordinator servers with their backends, engine workers, the harness); means over the execution phase, sampled ' +
    '(default 1 Hz). Run DRAM counts private memory once per process and shared memory once per server or worker ' +
    'group. GPU: nvidia-smi; N/A where the run had no GPU.',
  'Network, counted disk, local IPC: bytes every transport moved during execution, counted exactly and put in the ' +
    'column of their transport (network: model hops, SQL rows, all-reduce, COPY; disk: direct reads, export files, ' +
    'model state; local: pipes to workers). ETL / start-up bytes: everything counted during ETL and during ' +
    'start-up, any transport.',
  'Sampled net tx: bytes sent over every interface of the machine, loopback included, during execution, as the ' +
    "kernel counted them (other processes' traffic included). On one machine the counted network bytes travel over " +
    'loopback (SQL connections, with protocol overhead) or through files (the model store), so on a quiet machine ' +
    'the two agree only roughly, and on a shared one not at all.',
  "Per-worker disk R/W: storage reads / writes of the run's process tree (/proc/<pid>/io) during execution, " +
    'divided by the number of segments; page-cache hits are not reads.',
  'Storage blowup: (training data in the database + copies the approach keeps) / training data in the database, ' +
    'validation copies left out on both sides. The first figure counts logical (uncompressed) bytes, the ' +
    "paper-comparable definition of Table 3; the second counts bytes as stored (the database's TOAST compression " +
    'included).',
];

function hasGpu(run: LoadedRun): boolean {
  return run.info.environment.gpu !== null || (run.summary.resources?.gpuUtilPctMean ?? null) !== null;
}

function epochsOf(run: LoadedRun): number {
  if (run.summary.status === 'complete') return Math.max(1, run.info.epochs);
  return Math.max(1, run.summary.epochSeconds.length);
}

function perWorker(run: LoadedRun, bytes: number): number {
  return bytes / Math.max(1, run.info.segments);
}

function row(group: RunRow): Table6Row {
  const { runs, status, excluded } = usableRuns(group.runs);
  const gpu = runs.some(hasGpu);
  const of = (read: (r: LoadedRun) => number): Spread => spread(runs.map(read));
  type Resources = NonNullable<LoadedRun['summary']['resources']>;
  const sampled = (read: (res: Resources, r: LoadedRun) => number | null): Spread | null =>
    spreadOrNull(runs.map((r) => (r.summary.resources ? read(r.summary.resources, r) : null)));
  const stored = (read: (s: NonNullable<LoadedRun['summary']['storage']>) => number): Spread | null =>
    spreadOrNull(runs.map((r) => (r.summary.storage ? read(r.summary.storage) : null)));
  return {
    approach: group.approach,
    label: rowLabel(group, status),
    status,
    runs: runs.length,
    runIds: runs.map((r) => r.info.runId),
    excludedIncomplete: excluded,
    etlSeconds: of((r) => r.summary.etlSeconds),
    startupSeconds: of((r) => r.summary.startupSeconds),
    calibrationSeconds: of((r) => r.summary.calibrationSeconds),
    executionSeconds: of((r) => r.summary.executionSeconds),
    epochSeconds: of((r) => r.summary.executionSeconds / epochsOf(r)),
    gpu,
    gpuUtilPct: gpu ? sampled((res) => res.gpuUtilPctMean) : null,
    gpuMemPct: gpu ? sampled((res) => res.gpuMemPctMean) : null,
    cpuPct: sampled((res) => res.cpuPctMean),
    dramPct: sampled((res) => res.memUsedPctMean),
    runCpuPct: sampled((res) => res.runCpuPctMean),
    runDramPct: sampled((res) => res.runMemPctMean),
    networkBytes: of((r) => r.summary.bytes.execution.network),
    countedDiskBytes: of((r) => r.summary.bytes.execution.disk),
    localBytes: of((r) => r.summary.bytes.execution.local),
    etlBytes: of((r) => r.summary.bytes.etl),
    startupBytes: of((r) => r.summary.bytes.startup),
    sampledNetTxBytes: sampled((res) => res.netTxBytes),
    diskReadPerWorkerBytes: sampled((res, r) => perWorker(r, res.diskReadBytes)),
    diskWritePerWorkerBytes: sampled((res, r) => perWorker(r, res.diskWriteBytes)),
    blowupLogical: stored((s) => s.blowupLogical),
    blowupStored: stored((s) => s.blowupStored),
    processGroups: processGroupsOf(runs),
  };
}

function processGroupsOf(runs: readonly LoadedRun[]): Table6Row['processGroups'] {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.summary.resources?.groups ?? {})))];
  return Object.fromEntries(
    names.map((name) => {
      const figures = runs.flatMap((r) => {
        const g = r.summary.resources?.groups[name];
        return g === undefined ? [] : [g];
      });
      const cpuPct = spread(figures.map((g) => g.cpuPctMean));
      return [name, { cpuPct, memBytes: spread(figures.map((g) => g.memBytesMean)) }];
    }),
  );
}

/**
 * Group names in a stable order: the harness, the coordinator, the segments by number, the engine workers, the rest.
 */
export function orderProcessGroups(names: Iterable<string>): string[] {
  const rank = (name: string): [number, number, string] => {
    if (name === 'harness') return [0, 0, name];
    if (name === 'coordinator') return [1, 0, name];
    const segment = /^seg(\d+)$/.exec(name);
    if (segment) return [2, Number(segment[1]), name];
    if (name === 'engine workers') return [3, 0, name];
    return [4, 0, name];
  };
  return [...new Set(names)].sort((a, b) => {
    const [ra, na, sa] = rank(a);
    const [rb, nb, sb] = rank(b);
    return ra - rb || na - nb || sa.localeCompare(sb);
  });
}

/** One section's process-group table: per row, each group's CPU and memory during execution. */
export function processGroupTable(section: Table6Section): { head: string[]; rows: string[][] } | null {
  const names = orderProcessGroups(section.rows.flatMap((r) => Object.keys(r.processGroups)));
  if (names.length === 0) return null;
  const rows = section.rows.map((r) => [
    r.label,
    ...names.map((name) => {
      const g = r.processGroups[name];
      if (g === undefined) return '-';
      return `${formatSpread(g.cpuPct, formatPercent)} / ${formatSpread(g.memBytes, formatBytes)}`;
    }),
  ]);
  return { head: ['Approach', ...names], rows };
}

export function table6(runs: readonly LoadedRun[]): Table6 {
  const groups = groupRuns(runs);
  const sections = groups.map((g) => ({
    key: g.key,
    workload: g.workload,
    scale: g.scale,
    segments: g.segments,
    title: g.title,
    rows: g.rows.map(row),
  }));
  const notes = [...TABLE6_NOTES, ...splitNotes(groups)];
  if (sections.some((s) => s.rows.some((r) => r.status === 'incomplete'))) {
    notes.push('Rows marked (incomplete) come from runs that did not finish: their figures cover only what ran.');
  }
  if (sections.some((s) => s.rows.some((r) => r.excludedIncomplete > 0))) {
    notes.push('Where a row has complete runs, its incomplete runs are left out.');
  }
  return { sections, notes };
}

export const TABLE6_COLUMNS = [
  'Approach',
  'n',
  'ETL time',
  'Start-up time',
  'Exec. time',
  'Epoch time',
  'GPU util.',
  'GPU RAM util.',
  'CPU util. machine / run',
  'DRAM util. machine / run',
  'Network (counted)',
  'Net tx (sampled)',
  'Disk (counted)',
  'Local IPC',
  'ETL / start-up bytes',
  'Per w. disk R/W',
  'Storage blowup logical / stored',
] as const;

/** The row as display text, shared by the Markdown and HTML renderers. */
export function formatRow(r: Table6Row): string[] {
  const duration = (s: Spread): string => formatSpread(s, formatDuration);
  const bytes = (s: Spread | null): string => (s === null ? NO_SAMPLES : formatSpread(s, formatBytes));
  const percent = (s: Spread | null): string => (s === null ? NO_SAMPLES : formatSpread(s, formatPercent));
  const gpuCell = (s: Spread | null): string => (!r.gpu ? NO_GPU : percent(s));
  const pair = (a: string, b: string): string => (a === b ? a : `${a} / ${b}`);
  const times = (s: Spread | null): string => (s === null ? NO_SIZES : formatSpread(s, (x) => `${x.toFixed(2)}x`));
  return [
    r.label,
    String(r.runs),
    duration(r.etlSeconds),
    duration(r.startupSeconds),
    duration(r.executionSeconds),
    duration(r.epochSeconds),
    gpuCell(r.gpuUtilPct),
    gpuCell(r.gpuMemPct),
    pair(percent(r.cpuPct), percent(r.runCpuPct)),
    pair(percent(r.dramPct), percent(r.runDramPct)),
    bytes(r.networkBytes),
    bytes(r.sampledNetTxBytes),
    bytes(r.countedDiskBytes),
    bytes(r.localBytes),
    `${bytes(r.etlBytes)} / ${bytes(r.startupBytes)}`,
    r.diskReadPerWorkerBytes === null || r.diskWritePerWorkerBytes === null
      ? NO_SAMPLES
      : `${bytes(r.diskReadPerWorkerBytes)} / ${bytes(r.diskWritePerWorkerBytes)}`,
    pair(times(r.blowupLogical), times(r.blowupStored)),
  ];
}

function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

export function table6Markdown(t: Table6): string {
  const out: string[] = ['# Table 6: runtimes and resource utilisation', ''];
  out.push('Cells: mean ± 95% CI half-width over n runs.', '');
  if (t.sections.length === 0) out.push('No runs.', '');
  for (const s of t.sections) {
    out.push(`## ${s.title}`, '');
    out.push(`| ${TABLE6_COLUMNS.join(' | ')} |`);
    out.push(alignmentRow(TABLE6_COLUMNS.length));
    for (const r of s.rows) out.push(`| ${formatRow(r).map(mdCell).join(' | ')} |`);
    out.push('');
    const groups = processGroupTable(s);
    if (groups !== null) {
      out.push(`The run's processes during execution, per group: CPU (percent of the machine) / memory.`, '');
      out.push(`| ${groups.head.join(' | ')} |`, alignmentRow(groups.head.length));
      for (const row of groups.rows) out.push(`| ${row.map(mdCell).join(' | ')} |`);
      out.push('');
    }
  }
  for (const note of t.notes) out.push(`- ${note}`);
  return out.join('\n') + '\n';
}

/** Raw numbers (seconds, percent, bytes, ratios): each measured column as mean, 95% CI half-width, min and max. */
const MEASURED_CSV_COLUMNS = [
  ['etl_seconds', (r: Table6Row) => r.etlSeconds],
  ['startup_seconds', (r: Table6Row) => r.startupSeconds],
  ['calibration_seconds', (r: Table6Row) => r.calibrationSeconds],
  ['execution_seconds', (r: Table6Row) => r.executionSeconds],
  ['epoch_seconds', (r: Table6Row) => r.epochSeconds],
  ['gpu_util_pct', (r: Table6Row) => r.gpuUtilPct],
  ['gpu_mem_pct', (r: Table6Row) => r.gpuMemPct],
  ['cpu_util_pct_machine', (r: Table6Row) => r.cpuPct],
  ['cpu_util_pct_run', (r: Table6Row) => r.runCpuPct],
  ['dram_util_pct_machine', (r: Table6Row) => r.dramPct],
  ['dram_util_pct_run', (r: Table6Row) => r.runDramPct],
  ['network_bytes_counted', (r: Table6Row) => r.networkBytes],
  ['net_tx_bytes_sampled', (r: Table6Row) => r.sampledNetTxBytes],
  ['disk_bytes_counted', (r: Table6Row) => r.countedDiskBytes],
  ['local_ipc_bytes_counted', (r: Table6Row) => r.localBytes],
  ['etl_bytes_counted', (r: Table6Row) => r.etlBytes],
  ['startup_bytes_counted', (r: Table6Row) => r.startupBytes],
  ['disk_read_bytes_per_worker', (r: Table6Row) => r.diskReadPerWorkerBytes],
  ['disk_write_bytes_per_worker', (r: Table6Row) => r.diskWritePerWorkerBytes],
  ['storage_blowup_logical', (r: Table6Row) => r.blowupLogical],
  ['storage_blowup_stored', (r: Table6Row) => r.blowupStored],
] as const;

const GPU_COLUMNS = new Set<string>(['gpu_util_pct', 'gpu_mem_pct']);

export const TABLE6_CSV_COLUMNS = [
  'workload',
  'scale',
  'segments',
  'section_key',
  'approach',
  'label',
  'status',
  'n',
  'run_ids',
  ...MEASURED_CSV_COLUMNS.flatMap(([name]) => [name, `${name}_ci95`, `${name}_min`, `${name}_max`]),
] as const;

function csvCell(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A GPU cell reads N/A (no GPU) where there was none; an empty cell means no samples (or a single run's CI). */
export function table6Csv(t: Table6): string {
  const lines = [TABLE6_CSV_COLUMNS.join(',')];
  for (const s of t.sections) {
    for (const r of s.rows) {
      const measured = MEASURED_CSV_COLUMNS.flatMap(([name, read]): (string | number | null)[] => {
        const value: Spread | null = read(r);
        if (GPU_COLUMNS.has(name) && !r.gpu) return [NO_GPU, NO_GPU, NO_GPU, NO_GPU];
        return value === null ? [null, null, null, null] : [value.mean, value.ci95, value.min, value.max];
      });
      const identity = [s.workload, s.scale, s.segments, s.key, r.approach, r.label, r.status, r.runs];
      lines.push([...identity, r.runIds.join(' '), ...measured].map(csvCell).join(','));
    }
  }
  return lines.join('\n') + '\n';
}
