// Figure 9 of the paper. (A) convergence: validation loss per epoch per approach, the mean over
// configs and the best config; (B) ImageNet's and (C) Criteo's per-epoch breakdown of machine time
// per worker into the four components, stacked per approach. One spec of each per workload (workload,
// scale, segments); other workloads get the same two figures without a paper number.
import type { TopLevelSpec } from 'vega-lite';
import type { LoadedRun } from '../src/core/records.js';
import {
  approachLabel,
  byApproach,
  COMPONENT_LABELS,
  COMPONENTS,
  groupByWorkload,
  groupCaption,
  mean,
  slug,
  usableRuns,
  type RunGroup,
} from './common.js';
import { approachColourScale, COMPONENT_COLOURS, PLOT_HEIGHT, PLOT_WIDTH } from './style.js';

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

export function convergencePoints(runs: readonly LoadedRun[]): ConvergencePoint[] {
  const out: ConvergencePoint[] = [];
  for (const [approach, all] of byApproach(runs)) {
    const { runs: used, status } = usableRuns(all);
    const label = approachLabel(approach, status);
    const curves = used.map(runCurves);
    for (const [series, pick] of [
      [SERIES_MEAN, (c: (typeof curves)[number]) => c.mean],
      [SERIES_BEST, (c: (typeof curves)[number]) => c.best],
    ] as const) {
      const epochs = new Set(curves.flatMap((c) => [...pick(c).keys()]));
      for (const epoch of [...epochs].sort((a, b) => a - b)) {
        const values = curves.map((c) => pick(c).get(epoch)).filter((v): v is number => v !== undefined);
        out.push({ approach: label, approachId: approach, series, epoch, validLoss: mean(values) });
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
  const values = convergencePoints(group.runs);
  const letter = figure9Letters(group.workload).convergence;
  const what = 'Validation loss per epoch';
  const heading = letter ? `Figure ${letter}: ${what}` : group.workload === 'criteo' ? `${what} (Criteo; the paper omits it)` : what;
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
  /** Order of the component in the stack (Train+Valid first). */
  order: number;
  /** Per-epoch machine seconds per worker, mean over epochs (and runs). */
  seconds: number;
}

export function breakdownBars(runs: readonly LoadedRun[]): BreakdownBar[] {
  const out: BreakdownBar[] = [];
  for (const [approach, all] of byApproach(runs)) {
    const { runs: used, status } = usableRuns(all);
    const label = approachLabel(approach, status);
    COMPONENTS.forEach((component, order) => {
      const perRun = used.filter((r) => r.summary.breakdown.length > 0).map((r) => mean(r.summary.breakdown.map((b) => b[component])));
      out.push({ approach: label, approachId: approach, component: COMPONENT_LABELS[component], order, seconds: mean(perRun) });
    });
  }
  return out;
}

export function breakdownFigure(group: RunGroup): Figure {
  const values = breakdownBars(group.runs);
  const letter = figure9Letters(group.workload).breakdown;
  const what = 'Per-epoch machine time per worker';
  const heading = letter ? `Figure ${letter}: ${what}` : what;
  const subtitle = groupCaption(group);
  const approaches = [...new Set(values.map((v) => v.approach))];
  const components = COMPONENTS.map((c) => COMPONENT_LABELS[c]);
  return {
    name: letter ? `figure${letter.toLowerCase()}-${slug(group.key)}` : `breakdown-${slug(group.key)}`,
    title: `${heading}, ${subtitle}`,
    spec: {
      $schema: SCHEMA,
      title: { text: heading, subtitle },
      // Narrower than the other plots: the approach names take room on the left.
      width: PLOT_WIDTH - 40,
      height: { step: 16 },
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'approach', type: 'nominal', title: null, sort: approaches },
        x: { field: 'seconds', type: 'quantitative', title: 'seconds per epoch per worker', stack: 'zero' },
        color: {
          field: 'component',
          type: 'nominal',
          title: null,
          sort: components,
          scale: { domain: components, range: COMPONENT_COLOURS },
          // Under the bars, which start right of the approach names: one column keeps it in the column width.
          legend: { columns: 1 },
        },
        order: { field: 'order', type: 'quantitative' },
        tooltip: [
          { field: 'approach', type: 'nominal' },
          { field: 'component', type: 'nominal' },
          { field: 'seconds', type: 'quantitative', format: '.3f' },
        ],
      },
    },
  };
}

/** The convergence and breakdown figures (9A, 9B, 9C) for every workload among the runs. */
export function figure9(runs: readonly LoadedRun[]): Figure[] {
  // No validation yet (a run that died in its first epoch): no convergence figure rather than an empty one.
  return groupByWorkload(runs).flatMap((g) =>
    convergencePoints(g.runs).length > 0 ? [convergenceFigure(g), breakdownFigure(g)] : [breakdownFigure(g)],
  );
}
