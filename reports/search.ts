// Searches in the report (paper 5.2.4; docs/search.md): Figure 12, the learning curves of every
// config per approach; the best validation error each approach reached; Table 7, the resource use
// of the search runs; and for ASHA the rungs. Pure: loaded runs in, figures and Markdown out.
import type { TopLevelSpec } from 'vega-lite';
import type { RunEvent, SearchConfigEvent, SearchJobEvent, SearchResultEvent } from '../src/core/events.js';
import type { LoadedRun } from '../src/core/records.js';
import {
  formatBytes,
  formatDuration,
  formatPercent,
  groupCaption,
  groupRuns,
  rowsByLabel,
  slug,
  usableRuns,
  type RunGroup,
} from './common.js';
import type { Figure } from './figure9.js';
import { approachName, PANEL_HEIGHT, PANEL_WIDTH } from './style.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export function isSearchRun(run: LoadedRun): boolean {
  return run.events.some((e) => e.type === 'search-job');
}

function eventsOf<T extends RunEvent['type']>(run: LoadedRun, type: T): Extract<RunEvent, { type: T }>[] {
  return run.events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
}

/** Config labels of a search run: from its proposals (run.json lists none), else run.json. */
function configLabels(run: LoadedRun): Map<number, string> {
  const labels = new Map(run.info.configs.map((c) => [c.id, c.label]));
  for (const e of eventsOf(run, 'search-config') as SearchConfigEvent[]) labels.set(e.config.id, e.config.label);
  return labels;
}

/** The run a figure or row of an approach stands on: the first usable one (complete where there is one). */
function runOf(runs: LoadedRun[]): { run: LoadedRun; status: 'complete' | 'incomplete'; count: number } {
  const { runs: used, status } = usableRuns(runs);
  return { run: used[0], status, count: used.length };
}

export interface CurvePoint {
  approach: string;
  /** The paper's name of the approach (reports/style.ts). */
  approachName: string;
  config: number;
  label: string;
  /** 1-based, as the paper's axes. */
  epoch: number;
  validError: number;
  validLoss: number;
}

/** Every config's validation error after each of its epochs, per approach (one run each). */
export function learningCurves(group: RunGroup): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const [approach, runs] of rowsByLabel(group)) {
    const { run } = runOf(runs);
    const labels = configLabels(run);
    for (const m of run.summary.metrics) {
      if (!Number.isFinite(m.validAccuracy)) continue;
      const label = labels.get(m.config) ?? `config ${m.config}`;
      out.push({
        approach,
        approachName: approachName(approach),
        config: m.config,
        label,
        epoch: m.epoch + 1,
        validError: 1 - m.validAccuracy,
        validLoss: m.validLoss,
      });
    }
  }
  return out.sort((a, b) => a.approach.localeCompare(b.approach) || a.config - b.config || a.epoch - b.epoch);
}

export function figure12(group: RunGroup): Figure {
  const values = learningCurves(group);
  const approaches = rowsByLabel(group).map(([a]) => approachName(a));
  const heading = 'Figure 12: learning curves of every config of the search';
  const title = `${heading}, ${group.title}`;
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    title: { text: heading, subtitle: groupCaption(group) },
    data: { values },
    facet: { field: 'approachName', type: 'nominal', title: null, sort: approaches },
    columns: 2,
    // Each panel its own x axis: with an odd number of approaches the empty slot gets no stray axis.
    resolve: { axis: { x: 'independent' } },
    spec: {
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      layer: [
        {
          mark: { type: 'line', strokeWidth: 1.2, opacity: 0.8 },
          encoding: {
            x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
            y: { field: 'validError', type: 'quantitative', title: 'validation error', scale: { domain: [0, 1] } },
            detail: { field: 'config', type: 'nominal' },
            color: { field: 'config', type: 'nominal', legend: null, scale: { scheme: 'tableau20' } },
            tooltip: [
              { field: 'label', type: 'nominal', title: 'config' },
              { field: 'epoch', type: 'quantitative' },
              { field: 'validError', type: 'quantitative', format: '.3f', title: 'validation error' },
              { field: 'validLoss', type: 'quantitative', format: '.4f', title: 'validation loss' },
            ],
          },
        },
        {
          mark: { type: 'point', filled: true, size: 14 },
          encoding: {
            x: { field: 'epoch', type: 'quantitative' },
            y: { field: 'validError', type: 'quantitative' },
            color: { field: 'config', type: 'nominal', legend: null, scale: { scheme: 'tableau20' } },
          },
        },
      ],
    },
  };
  return { name: `figure12-${slug(group.key)}`, title, spec };
}

export interface BestRow {
  approach: string;
  status: 'complete' | 'incomplete';
  runs: number;
  configs: number;
  /** Units trained: the sum over configs of epochs trained x segments. */
  units: number;
  bestError: number | null;
  bestConfig: string;
  bestEpoch: number | null;
  executionSeconds: number;
}

/** The lowest validation error any config reached, per approach (the paper's caption of Figure 12). */
export function bestErrors(group: RunGroup): BestRow[] {
  return rowsByLabel(group).map(([approach, runs]) => {
    const { run, status, count } = runOf(runs);
    const labels = configLabels(run);
    let best: { error: number; loss: number; config: number; epoch: number } | undefined;
    for (const m of run.summary.metrics) {
      const error = 1 - m.validAccuracy;
      if (!Number.isFinite(error)) continue;
      // Equal errors: the lower loss.
      if (!best || error < best.error || (error === best.error && m.validLoss < best.loss)) {
        best = { error, loss: m.validLoss, config: m.config, epoch: m.epoch + 1 };
      }
    }
    return {
      approach,
      status,
      runs: count,
      configs: labels.size,
      units: run.summary.unitsCompleted,
      bestError: best?.error ?? null,
      bestConfig: best ? (labels.get(best.config) ?? `config ${best.config}`) : '',
      bestEpoch: best?.epoch ?? null,
      executionSeconds: run.summary.executionSeconds,
    };
  });
}

export interface Table7Row {
  approach: string;
  gpuUtilPct: number | null;
  gpuMemPct: number | null;
  cpuPct: number | null;
  dramPct: number | null;
  /** Network bytes counted during execution (TRANSPORT_TABLE, docs/measurement.md "Bytes"). */
  networkBytes: number;
  /** Storage reads / writes of the run's processes during execution, per segment. */
  diskReadPerWorkerBytes: number | null;
  diskWritePerWorkerBytes: number | null;
}

/** Table 7: the resource use of each approach's search run. */
export function table7(group: RunGroup): Table7Row[] {
  return rowsByLabel(group).map(([approach, runs]) => {
    const { run } = runOf(runs);
    const res = run.summary.resources;
    const segments = Math.max(1, run.info.segments);
    return {
      approach,
      gpuUtilPct: res?.gpuUtilPctMean ?? null,
      gpuMemPct: res?.gpuMemPctMean ?? null,
      cpuPct: res?.cpuPctMean ?? null,
      dramPct: res?.memUsedPctMean ?? null,
      networkBytes: run.summary.bytes.execution.network,
      diskReadPerWorkerBytes: res ? res.diskReadBytes / segments : null,
      diskWritePerWorkerBytes: res ? res.diskWriteBytes / segments : null,
    };
  });
}

export interface RungRow {
  rung: number;
  /** Epochs a config has trained at this rung. */
  epochs: number;
  /** Configs whose result at this rung the searcher was told. */
  configs: number;
  promoted: number[];
  /** Configs that stopped here (never promoted; the last rung stops everyone). */
  stopped: number[];
  bestLoss: number | null;
}

/** ASHA's rungs of a run: who reached each, who went on, who stopped there. */
export function ashaRungs(run: LoadedRun): RungRow[] {
  const jobs = new Map<number, SearchJobEvent>();
  for (const e of eventsOf(run, 'search-job') as SearchJobEvent[]) jobs.set(e.job, e);
  const results = new Map<number, SearchResultEvent>();
  for (const e of eventsOf(run, 'search-result') as SearchResultEvent[]) results.set(e.job, e);
  const rungs = new Map<number, { epochs: number; reached: Map<number, number | null> }>();
  for (const job of jobs.values()) {
    if (job.rung === undefined) continue;
    const rung = rungs.get(job.rung) ?? { epochs: job.to, reached: new Map() };
    rungs.set(job.rung, rung);
    const result = results.get(job.job);
    if (result) rung.reached.set(job.config, result.value);
  }
  const order = [...rungs.keys()].sort((a, b) => a - b);
  return order.map((r) => {
    const { epochs, reached } = rungs.get(r)!;
    const next = rungs.get(r + 1);
    const nextConfigs = new Set([...jobs.values()].filter((j) => j.rung === r + 1).map((j) => j.config));
    const configs = [...reached.keys()].sort((a, b) => a - b);
    const losses = [...reached.values()].filter((v): v is number => v !== null);
    return {
      rung: r,
      epochs,
      configs: configs.length,
      promoted: next ? configs.filter((c) => nextConfigs.has(c)) : [],
      stopped: configs.filter((c) => !nextConfigs.has(c)),
      bestLoss: losses.length > 0 ? Math.min(...losses) : null,
    };
  });
}

function cell(value: number | null, format: (v: number) => string, none = 'n/a'): string {
  return value === null ? none : format(value);
}

/** search.md: per group of search runs, the best errors, Table 7 and the ASHA rungs. */
export function searchMarkdown(runs: readonly LoadedRun[]): string {
  const groups = searchGroups(runs);
  if (groups.length === 0) return '';
  const lines: string[] = ['# Searches (paper 5.2.4: Figure 12, Table 7)', ''];
  for (const group of groups) {
    lines.push(`## ${group.title}`, '');
    lines.push(
      '| approach | configs | units | best validation error | reached by | execution |',
      '|---|---|---|---|---|---|',
    );
    for (const row of bestErrors(group)) {
      const approach = row.status === 'complete' ? row.approach : `${row.approach} (incomplete)`;
      const best = cell(row.bestError, (v) => v.toFixed(3));
      const by = row.bestEpoch === null ? '' : `${row.bestConfig}, epoch ${row.bestEpoch}`;
      lines.push(
        `| ${approach} | ${row.configs} | ${row.units} | ${best} | ${by} | ${formatDuration(row.executionSeconds)} |`,
      );
    }
    lines.push('', 'Table 7: resource use of the search runs (execution phase).', '');
    lines.push(
      '| approach | GPU util. | GPU RAM util. | CPU util. | DRAM util. | network (counted) | per-worker disk R/W |',
    );
    lines.push('|---|---|---|---|---|---|---|');
    for (const row of table7(group)) {
      const disk =
        row.diskReadPerWorkerBytes === null || row.diskWritePerWorkerBytes === null
          ? 'n/a'
          : `${formatBytes(row.diskReadPerWorkerBytes)} / ${formatBytes(row.diskWritePerWorkerBytes)}`;
      lines.push(
        `| ${row.approach} | ${cell(row.gpuUtilPct, formatPercent, 'N/A (no GPU)')} ` +
          `| ${cell(row.gpuMemPct, formatPercent, 'N/A (no GPU)')} | ` +
          `${cell(row.cpuPct, formatPercent)} | ${cell(row.dramPct, formatPercent)} ` +
          `| ${formatBytes(row.networkBytes)} | ${disk} |`,
      );
    }
    for (const [approach, all] of rowsByLabel(group)) {
      const rungs = ashaRungs(runOf(all).run);
      if (rungs.length === 0) continue;
      lines.push(
        '',
        `ASHA rungs, ${approach}:`,
        '',
        '| rung | epochs | configs | promoted | stopped | best loss |',
        '|---|---|---|---|---|---|',
      );
      for (const r of rungs) {
        lines.push(
          `| ${r.rung} | ${r.epochs} | ${r.configs} | ${r.promoted.join(', ') || '-'} ` +
            `| ${r.stopped.join(', ') || '-'} | ` +
            `${cell(r.bestLoss, (v) => v.toFixed(4))} |`,
        );
      }
    }
    lines.push('');
  }
  lines.push(
    "Validation error = 1 - validation accuracy. Network: the network transports' bytes during execution, " +
      'counted exactly (docs/measurement.md). ' +
      "Per-worker disk R/W: storage I/O of the run's processes during execution over the segments.",
    '',
  );
  return lines.join('\n');
}

/** Groups (workload, scale, segments) of the search runs. */
export function searchGroups(runs: readonly LoadedRun[]): RunGroup[] {
  return groupRuns(runs.filter(isSearchRun));
}

export function searchFigures(runs: readonly LoadedRun[]): Figure[] {
  return searchGroups(runs).map(figure12);
}
