// Gantt chart of one run (the paper's Figures 13/14): one row per segment (and one for the
// coordinator's spans), time since the start of execution across, colour = config; idle,
// model hops, averaging and scheduling get their own colours so they stand out.
import type { TopLevelSpec } from 'vega-lite';
import type { Span, SpanKind } from '../src/core/events.js';
import type { LoadedRun } from '../src/core/records.js';
import { slug, workloadName } from './common.js';
import { approachName, PLOT_WIDTH } from './style.js';
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
  '#4c78a8',
  '#f58518',
  '#54a24b',
  '#e45756',
  '#72b7b2',
  '#eeca3b',
  '#b279a2',
  '#ff9da6',
  '#6b6ecf',
  '#bab0ac',
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#637939',
  '#e377c2',
  '#17becf',
  '#bcbd22',
  '#aec7e8',
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
  const marks = run.events
    .filter((e) => e.type === 'phase' && e.phase === 'execution' && e.edge === 'start')
    .map((e) => (e as { at: number }).at);
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

/** Legend entries per row under a Gantt chart, and the px a legend row takes. */
const LEGEND_COLUMNS = 4;
const LEGEND_ROW_PX = 13;

/** Seconds since execution start at which each epoch but the last ended (the last end of its spans). */
export function epochBoundaries(bars: readonly GanttBar[]): { epoch: number; at: number }[] {
  const ends = new Map<number, number>();
  for (const b of bars) if (b.epoch !== null) ends.set(b.epoch, Math.max(ends.get(b.epoch) ?? 0, b.end));
  const epochs = [...ends.keys()].sort((a, b) => a - b);
  return epochs.slice(0, -1).map((epoch) => ({ epoch, at: ends.get(epoch)! }));
}

export function ganttFigure(run: LoadedRun): Figure {
  const values = ganttBars(run);
  const incomplete = run.summary.status !== 'complete';
  const name = `${approachName(run.info.approach)} on ${workloadName(run.info.workload)}`;
  const title = `Gantt: ${name}${incomplete ? ' (incomplete)' : ''}`;
  const rows = [...new Map(values.map((v) => [v.row, v.rowOrder])).entries()]
    .sort((a, b) => a[1] - b[1])
    .map(([r]) => r);
  const configs = [...new Set(values.filter((v) => v.legend.startsWith('config ')).map((v) => v.config!))].sort(
    (a, b) => a - b,
  );
  const kinds = (Object.keys(KIND_COLOURS) as SpanKind[]).filter((k) => values.some((v) => v.legend === k));
  const plainKinds = [
    ...new Set(values.map((v) => v.legend).filter((l) => !l.startsWith('config ') && !kinds.includes(l as SpanKind))),
  ].sort();
  const domain = [...configs.map((c) => `config ${c}`), ...plainKinds, ...kinds];
  const range = [
    ...configs.map((_, i) => CONFIG_COLOURS[i % CONFIG_COLOURS.length]),
    ...plainKinds.map(() => '#393b79'),
    ...kinds.map((k) => KIND_COLOURS[k]!),
  ];
  // Configs are labelled "c<id>" so that the legend packs into a few short rows; the chart is made
  // at least as tall as its legend.
  const short = (legend: string): string =>
    legend.startsWith('config ') ? `c${legend.slice('config '.length)}` : legend;
  const data = values.map((v) => ({ ...v, legend: short(v.legend) }));
  const legendRows = Math.ceil(domain.length / LEGEND_COLUMNS);
  const height = Math.max(rows.length * 16, legendRows * LEGEND_ROW_PX, 40);
  const boundaries = epochBoundaries(values);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle: [
        run.info.runId,
        `${run.info.scale} scale, ${run.info.segments} segment${run.info.segments === 1 ? '' : 's'}; ` +
          `dashed: epoch ends`,
      ],
    },
    width: PLOT_WIDTH,
    height,
    layer: [
      {
        data: { values: data },
        mark: { type: 'bar', cornerRadius: 0 },
        encoding: {
          y: { field: 'row', type: 'nominal', title: null, sort: rows },
          x: { field: 'start', type: 'quantitative', title: 'seconds since execution start' },
          x2: { field: 'end' },
          color: {
            field: 'legend',
            type: 'nominal',
            title: null,
            scale: domain.length > 0 ? { domain: domain.map(short), range } : undefined,
            sort: domain.map(short),
            legend: { columns: LEGEND_COLUMNS, symbolSize: 40, rowPadding: 1, columnPadding: 6, gridAlign: 'none' },
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
      },
      ...(boundaries.length > 0
        ? [
            {
              data: { values: boundaries },
              mark: { type: 'rule' as const, strokeDash: [3, 2], color: '#404040', strokeWidth: 0.8 },
              encoding: { x: { field: 'at', type: 'quantitative' as const } },
            },
          ]
        : []),
    ],
  };
  return { name: `gantt-${slug(run.info.runId)}`, title, spec };
}
