// Gantt chart of one run (the paper's Figures 13/14): one row per segment (and one for the
// coordinator's spans), time since the start of execution across, colour = config; idle,
// model hops, averaging and scheduling get their own colours so they stand out.
import type { TopLevelSpec } from 'vega-lite';
import type { Span, SpanKind } from '../src/core/events.js';
import type { LoadedRun } from '../src/core/records.js';
import { slug } from './common.js';
import type { Figure } from './figure9.js';

export const COORDINATOR_ROW = 'coordinator';

/** Kinds drawn in a colour of their own rather than their config's. */
export const KIND_COLOURS: Partial<Record<SpanKind, string>> = {
  'model-hop': '#000000',
  idle: '#d9d9d9',
  average: '#8c564b',
  schedule: '#7f7f7f',
};

// Drawn bottom to top: idle under everything, hops on top.
const DRAW_ORDER: SpanKind[] = ['idle', 'schedule', 'average', 'data', 'engine-init', 'train', 'valid', 'model-hop'];

const CONFIG_COLOURS = [
  '#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac',
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#aec7e8',
];

export interface GanttBar {
  row: string;
  rowOrder: number;
  start: number;
  end: number;
  legend: string;
  kind: SpanKind;
  config: number | null;
  epoch: number | null;
}

/** Where execution started: the first execution phase mark, else the first span. */
export function executionStart(run: LoadedRun): number {
  const marks = run.events.filter((e) => e.type === 'phase' && e.phase === 'execution' && e.edge === 'start').map((e) => (e as { at: number }).at);
  if (marks.length > 0) return Math.min(...marks);
  const spans = run.events.filter((e): e is Span => e.type === 'span');
  return spans.length > 0 ? Math.min(...spans.map((s) => s.start)) : 0;
}

function legendOf(s: Span): string {
  if (KIND_COLOURS[s.kind] !== undefined) return s.kind;
  return s.config === undefined ? s.kind : `config ${s.config}`;
}

export function ganttBars(run: LoadedRun): GanttBar[] {
  const t0 = executionStart(run);
  const spans = run.events
    .filter((e): e is Span => e.type === 'span' && e.end >= t0 && e.end > e.start)
    .sort((a, b) => DRAW_ORDER.indexOf(a.kind) - DRAW_ORDER.indexOf(b.kind) || a.start - b.start);
  return spans.map((s) => ({
    row: s.segment === undefined ? COORDINATOR_ROW : `segment ${s.segment}`,
    rowOrder: s.segment === undefined ? -1 : s.segment,
    start: (Math.max(s.start, t0) - t0) / 1000,
    end: (s.end - t0) / 1000,
    legend: legendOf(s),
    kind: s.kind,
    config: s.config ?? null,
    epoch: s.epoch ?? null,
  }));
}

export function ganttFigure(run: LoadedRun): Figure {
  const values = ganttBars(run);
  const incomplete = run.summary.status !== 'complete';
  const title = `Gantt: ${run.info.runId}${incomplete ? ' (incomplete)' : ''}`;
  const rows = [...new Map(values.map((v) => [v.row, v.rowOrder])).entries()].sort((a, b) => a[1] - b[1]).map(([r]) => r);
  const configs = [...new Set(values.filter((v) => v.legend.startsWith('config ')).map((v) => v.config!))].sort((a, b) => a - b);
  const kinds = (Object.keys(KIND_COLOURS) as SpanKind[]).filter((k) => values.some((v) => v.legend === k));
  const plainKinds = [...new Set(values.map((v) => v.legend).filter((l) => !l.startsWith('config ') && !kinds.includes(l as SpanKind)))].sort();
  const domain = [...configs.map((c) => `config ${c}`), ...plainKinds, ...kinds];
  const range = [
    ...configs.map((_, i) => CONFIG_COLOURS[i % CONFIG_COLOURS.length]),
    ...plainKinds.map(() => '#393b79'),
    ...kinds.map((k) => KIND_COLOURS[k]!),
  ];
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: `${run.info.approach} on ${run.info.workload} (${run.info.scale}), ${run.info.segments} segments` },
    width: 640,
    height: { step: 22 },
    data: { values },
    mark: { type: 'bar', cornerRadius: 0 },
    encoding: {
      y: { field: 'row', type: 'nominal', title: null, sort: rows },
      x: { field: 'start', type: 'quantitative', title: 'seconds since execution start' },
      x2: { field: 'end' },
      color: {
        field: 'legend',
        type: 'nominal',
        title: 'config / kind',
        scale: domain.length > 0 ? { domain, range } : undefined,
        sort: domain,
      },
      tooltip: [
        { field: 'row', type: 'nominal' },
        { field: 'kind', type: 'nominal' },
        { field: 'config', type: 'quantitative' },
        { field: 'epoch', type: 'quantitative' },
        { field: 'start', type: 'quantitative', format: '.3f' },
        { field: 'end', type: 'quantitative', format: '.3f' },
      ],
    },
  };
  return { name: `gantt-${slug(run.info.runId)}`, title, spec };
}
