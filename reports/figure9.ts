// Figure 9 of the paper. (A) convergence: validation loss per epoch per row of runs, the mean over
// configs and the best config; (B) ImageNet's and (C) Criteo's per-epoch breakdown of machine time
// per worker into the four components (Approach-specific in its measured shades: average, schedule,
// idle) and the time no span covers (unattributed), stacked per row, with the 95% interval of the
// total over repeats. One spec of each per section of comparable runs (reports/common.ts,
// groupRuns); other workloads get the same figures without a paper number; the breakdown also as a
// table (breakdown.md / .csv) with each row's unattributed share.
import type { TopLevelSpec } from 'vega-lite';
import type { Breakdown, LoadedRun } from '../src/core/records.js';
import { spread, type Spread } from '../src/metrics/stats.js';
import {
  alignmentRow,
  BREAKDOWN_PARTS,
  formatSpread,
  groupCaption,
  groupRuns,
  rowLabel,
  mean,
  partSeconds,
  slug,
  usableRuns,
  type BreakdownPart,
  type RunGroup,
  type RunRow,
} from './common.js';
import { approachColourScale, PLOT_HEIGHT, PLOT_WIDTH } from './style.js';

export interface Figure {
  /** File name stem, e.g. "figure9a-criteo-tiny-2seg". */
  name: string;
  title: string;
  spec: TopLevelSpec;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export const SERIES_MEAN = 'mean over configs';
export const SERIES_BEST = 'best config';

export interface ConvergencePoint {
  /** The approach's figure label (the paper's name, "(incomplete)" when no run finished). */
  approach: string;
  approachId: string;
  series: typeof SERIES_MEAN | typeof SERIES_BEST;
  /** Counted from 1, as the paper's figures (and Figure 12's) count them; run events count from 0. */
  epoch: number;
  validLoss: number;
}

/** Per run: per epoch the mean validation loss over configs, and the curve of its best config. */
function runCurves(run: LoadedRun): { mean: Map<number, number>; best: Map<number, number> } {
  const byEpoch = new Map<number, number[]>();
  const byConfig = new Map<number, Map<number, number>>();
  for (const m of run.summary.metrics) {
    if (!Number.isFinite(m.validLoss)) continue;
    (byEpoch.get(m.epoch) ?? byEpoch.set(m.epoch, []).get(m.epoch)!).push(m.validLoss);
    (byConfig.get(m.config) ?? byConfig.set(m.config, new Map()).get(m.config)!).set(m.epoch, m.validLoss);
  }
  const meanCurve = new Map([...byEpoch.entries()].map(([e, xs]) => [e, mean(xs)]));
  // The best config: lowest validation loss at the last epoch it reached (ties: more epochs, lower id).
  let best: Map<number, number> = new Map();
  let bestKey: [number, number] | null = null;
  for (const [, curve] of [...byConfig.entries()].sort(([a], [b]) => a - b)) {
    const lastEpoch = Math.max(...curve.keys());
    const key: [number, number] = [-lastEpoch, curve.get(lastEpoch)!];
    if (bestKey === null || key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
      bestKey = key;
      best = curve;
    }
  }
  return { mean: meanCurve, best };
}

export function convergencePoints(rows: readonly RunRow[]): ConvergencePoint[] {
  const out: ConvergencePoint[] = [];
  for (const row of rows) {
    const { runs: used, status } = usableRuns(row.runs);
    const label = rowLabel(row, status);
    const curves = used.map(runCurves);
    for (const [series, pick] of [
      [SERIES_MEAN, (c: (typeof curves)[number]) => c.mean],
      [SERIES_BEST, (c: (typeof curves)[number]) => c.best],
    ] as const) {
      const epochs = new Set(curves.flatMap((c) => [...pick(c).keys()]));
      for (const epoch of [...epochs].sort((a, b) => a - b)) {
        const values = curves.map((c) => pick(c).get(epoch)).filter((v): v is number => v !== undefined);
        out.push({ approach: label, approachId: row.approach, series, epoch: epoch + 1, validLoss: mean(values) });
      }
    }
  }
  return out;
}

/** The paper's figure number of a workload's convergence and breakdown figures, if it has one. */
export function figure9Letters(workload: string): { convergence?: string; breakdown?: string } {
  if (workload === 'imagenet') return { convergence: '9A', breakdown: '9B' };
  if (workload === 'criteo') return { breakdown: '9C' };
  return {};
}

export function convergenceFigure(group: RunGroup): Figure {
  const values = convergencePoints(group.rows);
  const letter = figure9Letters(group.workload).convergence;
  const what = 'Validation loss per epoch';
  const heading = letter
    ? `Figure ${letter}: ${what}`
    : group.workload === 'criteo'
      ? `${what} (Criteo; the paper omits it)`
      : what;
  const subtitle = [groupCaption(group), `solid, circles: ${SERIES_MEAN}; dashed, squares: ${SERIES_BEST}`];
  const colour = approachColourScale(values.map((v) => ({ id: v.approachId, label: v.approach })));
  return {
    name: letter ? `figure${letter.toLowerCase()}-${slug(group.key)}` : `convergence-${slug(group.key)}`,
    title: `${heading}, ${subtitle[0]}`,
    spec: {
      $schema: SCHEMA,
      title: { text: heading, subtitle },
      width: PLOT_WIDTH,
      height: PLOT_HEIGHT,
      data: { values },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'validLoss', type: 'quantitative', title: 'validation loss', scale: { zero: false } },
        color: { field: 'approach', type: 'nominal', title: null, sort: colour.domain, scale: colour },
        strokeDash: { field: 'series', type: 'nominal', sort: [SERIES_MEAN, SERIES_BEST], legend: null },
        shape: { field: 'series', type: 'nominal', sort: [SERIES_MEAN, SERIES_BEST], legend: null },
        tooltip: [
          { field: 'approach', type: 'nominal' },
          { field: 'series', type: 'nominal' },
          { field: 'epoch', type: 'quantitative' },
          { field: 'validLoss', type: 'quantitative', format: '.4f' },
        ],
      },
      layer: [{ mark: { type: 'line', strokeWidth: 1.5 } }, { mark: { type: 'point', filled: true, size: 20 } }],
    },
  };
}

export interface BreakdownBar {
  approach: string;
  approachId: string;
  component: string;
  /** Order of the part in the stack (Train+Valid first, unattributed last). */
  order: number;
  /** Per-epoch machine seconds per worker, mean over epochs, then over runs. */
  seconds: number;
  /** 95% CI half-width of that mean over runs; null for one run. */
  ci95: number | null;
  n: number;
}

/** One row's per-epoch breakdown: each part's and the total's spread over runs (each run: mean over its epochs). */
export interface BreakdownRow {
  label: string;
  approachId: string;
  status: 'complete' | 'incomplete';
  n: number;
  parts: Record<BreakdownPart, Spread>;
  total: Spread;
  /** Unattributed seconds over the epoch's seconds, per run, as a percentage. */
  unattributedSharePct: Spread;
  /** Execution seconds of a run that lie in no epoch window (the breakdown cannot show them). */
  outsideEpochsSeconds: Spread;
}

/** A run's per-epoch machine seconds per worker of one breakdown part: the mean over its epochs. */
export function meanBreakdownOf(run: LoadedRun, part: BreakdownPart): number {
  return mean(run.summary.breakdown.map((b) => partSeconds(b, part)));
}

function totalOf(b: Breakdown): number {
  return b.trainValid + b.dataTransmission + b.modelTransmission + b.approachSpecific + b.unattributed;
}

/** The rows of one section that have a breakdown (runs without epochs have none). */
export function breakdownRows(rows: readonly RunRow[]): BreakdownRow[] {
  const out: BreakdownRow[] = [];
  for (const row of rows) {
    const { runs, status } = usableRuns(row.runs);
    const used = runs.filter((r) => r.summary.breakdown.length > 0);
    if (used.length === 0) continue;
    const partSpread = (part: BreakdownPart): Spread => spread(used.map((r) => meanBreakdownOf(r, part)));
    const parts = Object.fromEntries(BREAKDOWN_PARTS.map((p) => [p.key, partSpread(p.key)])) as Record<
      BreakdownPart,
      Spread
    >;
    const totals = used.map((r) => mean(r.summary.breakdown.map(totalOf)));
    const shares = used.map((r, i) => (totals[i] > 0 ? (100 * meanBreakdownOf(r, 'unattributed')) / totals[i] : 0));
    out.push({
      label: rowLabel(row, status),
      approachId: row.approach,
      status,
      n: used.length,
      parts,
      total: spread(totals),
      unattributedSharePct: spread(shares),
      outsideEpochsSeconds: spread(used.map((r) => r.summary.outsideEpochsSeconds)),
    });
  }
  return out;
}

export function breakdownBars(rows: readonly RunRow[]): BreakdownBar[] {
  return breakdownRows(rows).flatMap((row) =>
    BREAKDOWN_PARTS.map((part, order) => ({
      approach: row.label,
      approachId: row.approachId,
      component: part.label,
      order,
      seconds: row.parts[part.key].mean,
      ci95: row.parts[part.key].ci95,
      n: row.n,
    })),
  );
}

export function breakdownFigure(group: RunGroup): Figure {
  const rows = breakdownRows(group.rows);
  const values = breakdownBars(group.rows);
  // The error bar of a stacked bar: the 95% interval of its total over the row's runs.
  // Only rows with repeats have an interval; a single run gets no bar that would look like one.
  const totals = rows.flatMap((r) =>
    r.total.ci95 === null
      ? []
      : [
          {
            approach: r.label,
            total: r.total.mean,
            low: r.total.mean - r.total.ci95,
            high: r.total.mean + r.total.ci95,
            n: r.n,
          },
        ],
  );
  const approaches = rows.map((r) => r.label);
  const y = { field: 'approach', type: 'nominal', title: null, sort: approaches } as const;
  const errorBars =
    totals.length === 0
      ? []
      : [
          {
            data: { values: totals },
            mark: { type: 'rule' as const, color: '#222' },
            encoding: { y, x: { field: 'low', type: 'quantitative' as const }, x2: { field: 'high' } },
          },
          ...(['high', 'low'] as const).map((field) => ({
            data: { values: totals },
            mark: { type: 'tick' as const, color: '#222', thickness: 1, size: 10 },
            encoding: { y, x: { field, type: 'quantitative' as const } },
          })),
        ];
  const letter = figure9Letters(group.workload).breakdown;
  const what = 'Per-epoch machine time per worker';
  const heading = letter ? `Figure ${letter}: ${what}` : what;
  const subtitle = groupCaption(group);
  return {
    name: letter ? `figure${letter.toLowerCase()}-${slug(group.key)}` : `breakdown-${slug(group.key)}`,
    title: `${heading}, ${subtitle}`,
    spec: {
      $schema: SCHEMA,
      title: { text: heading, subtitle },
      // Narrower than the other plots: the approach names take room on the left.
      width: PLOT_WIDTH - 40,
      height: { step: 16 },
      layer: [
        {
          data: { values },
          mark: { type: 'bar' },
          encoding: {
            y,
            x: {
              field: 'seconds',
              type: 'quantitative',
              title:
                totals.length > 0
                  ? ['seconds per epoch per worker', '(error bar: 95% CI of the total)']
                  : 'seconds per epoch per worker',
              stack: 'zero',
            },
            color: {
              field: 'component',
              type: 'nominal',
              title: null,
              sort: BREAKDOWN_PARTS.map((p) => p.label),
              scale: { domain: BREAKDOWN_PARTS.map((p) => p.label), range: BREAKDOWN_PARTS.map((p) => p.color) },
              // Under the bars, which start right of the approach names: one column keeps it in the column width.
              legend: { columns: 1 },
            },
            order: { field: 'order', type: 'quantitative' },
            tooltip: [
              { field: 'approach', type: 'nominal' },
              { field: 'component', type: 'nominal' },
              { field: 'seconds', type: 'quantitative', format: '.3f' },
              { field: 'ci95', type: 'quantitative', format: '.3f', title: '95% CI ±' },
              { field: 'n', type: 'quantitative' },
            ],
          },
        },
        ...errorBars,
      ],
    },
  };
}

export interface BreakdownSection {
  key: string;
  title: string;
  rows: BreakdownRow[];
}

/** The breakdown of every section as numbers (breakdown.md / breakdown.csv). */
export function breakdownTable(runs: readonly LoadedRun[]): BreakdownSection[] {
  return groupRuns(runs).map((g) => ({ key: g.key, title: g.title, rows: breakdownRows(g.rows) }));
}

export const BREAKDOWN_TABLE_HEAD = [
  'Approach',
  'n',
  'Epoch (s)',
  ...BREAKDOWN_PARTS.map((p) => p.label),
  'Unattributed share',
  'Outside epochs (s/run)',
];

/** A breakdown row's cells after its label, as BREAKDOWN_TABLE_HEAD names them. */
export function breakdownCells(r: BreakdownRow): string[] {
  const seconds = (s: Spread): string => formatSpread(s, (x) => x.toFixed(2));
  return [
    String(r.n),
    seconds(r.total),
    ...BREAKDOWN_PARTS.map((p) => seconds(r.parts[p.key])),
    formatSpread(r.unattributedSharePct, (x) => `${x.toFixed(1)}%`),
    seconds(r.outsideEpochsSeconds),
  ];
}

export function breakdownMarkdown(sections: readonly BreakdownSection[]): string {
  const head = BREAKDOWN_TABLE_HEAD;
  const out = [
    '# Figures 9B and 9C as a table: per-epoch machine seconds per worker',
    '',
    'Cells: mean over n runs ± 95% CI half-width (each run: the mean over its epochs of the per-worker average).',
    '',
  ];
  if (sections.length === 0) out.push('No runs.', '');
  for (const s of sections) {
    out.push(`## ${s.title}`, '', `| ${head.join(' | ')} |`, alignmentRow(head.length));
    for (const r of s.rows) {
      const cells = [r.label, ...breakdownCells(r)];
      out.push(`| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
    }
    out.push('');
  }
  out.push(
    "- Approach-specific is measured in three parts: average (MA's weighted average), schedule (scheduler and " +
      'statement dispatch work), idle (barrier waits, workers with no unit to run).',
  );
  out.push('- Unattributed: time inside an epoch that no span covers; it is shown, never folded into a component.');
  out.push(
    '- Outside epochs: execution time of a run inside no epoch window (before the first, between epochs, after ' +
      'the last), in seconds per run.',
  );
  return out.join('\n') + '\n';
}

export function breakdownCsv(sections: readonly BreakdownSection[]): string {
  const seconds = ['total', ...BREAKDOWN_PARTS.map((p) => p.key)].map((n) => `${n}_seconds`);
  const names = [...seconds, 'unattributed_share_pct', 'outside_epochs_seconds'];
  const lines = [['section_key', 'label', 'status', 'n', ...names.flatMap((n) => [n, `${n}_ci95`])].join(',')];
  for (const s of sections) {
    for (const r of s.rows) {
      const parts = BREAKDOWN_PARTS.map((p) => r.parts[p.key]);
      const spreads = [r.total, ...parts, r.unattributedSharePct, r.outsideEpochsSeconds];
      const values = spreads.flatMap((x) => [x.mean, x.ci95 ?? '']);
      const text = [s.key, r.label, r.status, r.n, ...values].map((v) => {
        const t = String(v);
        return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
      });
      lines.push(text.join(','));
    }
  }
  return lines.join('\n') + '\n';
}

/** The convergence and breakdown figures (9A, 9B, 9C) for every section of comparable runs. */
export function figure9(runs: readonly LoadedRun[]): Figure[] {
  // No validation yet (a run that died in its first epoch) or no epoch window: no figure rather than an empty one.
  return groupRuns(runs).flatMap((g) => [
    ...(convergencePoints(g.rows).length > 0 ? [convergenceFigure(g)] : []),
    ...(breakdownRows(g.rows).length > 0 ? [breakdownFigure(g)] : []),
  ]);
}
