// Figure 9 of the paper. (A) convergence: validation loss per epoch per approach, the mean over
// configs and the best config; (B/C) the per-epoch breakdown of machine time per worker into the
// four components, stacked per approach. One spec of each per workload (workload, scale, segments).
import type { TopLevelSpec } from 'vega-lite';
import type { LoadedRun } from '../src/core/records.js';
import {
  approachLabel,
  byApproach,
  COMPONENT_LABELS,
  COMPONENTS,
  groupByWorkload,
  mean,
  slug,
  usableRuns,
  type RunGroup,
} from './common.js';

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
  approach: string;
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
        out.push({ approach: label, series, epoch, validLoss: mean(values) });
      }
    }
  }
  return out;
}

export function convergenceFigure(group: RunGroup): Figure {
  const values = convergencePoints(group.runs);
  const title = `Figure 9A: validation loss per epoch, ${group.title}`;
  const approaches = [...new Set(values.map((v) => v.approach))];
  return {
    name: `figure9a-${slug(group.key)}`,
    title,
    spec: {
      $schema: SCHEMA,
      title,
      width: 420,
      height: 260,
      data: { values },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'validLoss', type: 'quantitative', title: 'validation loss', scale: { zero: false } },
        color: { field: 'approach', type: 'nominal', title: 'approach', sort: approaches },
        strokeDash: { field: 'series', type: 'nominal', title: 'series', sort: [SERIES_MEAN, SERIES_BEST] },
        shape: { field: 'series', type: 'nominal', title: 'series', sort: [SERIES_MEAN, SERIES_BEST] },
        tooltip: [
          { field: 'approach', type: 'nominal' },
          { field: 'series', type: 'nominal' },
          { field: 'epoch', type: 'quantitative' },
          { field: 'validLoss', type: 'quantitative', format: '.4f' },
        ],
      },
      layer: [{ mark: { type: 'line' } }, { mark: { type: 'point', filled: true, size: 40 } }],
    },
  };
}

export interface BreakdownBar {
  approach: string;
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
      out.push({ approach: label, component: COMPONENT_LABELS[component], order, seconds: mean(perRun) });
    });
  }
  return out;
}

export function breakdownFigure(group: RunGroup): Figure {
  const values = breakdownBars(group.runs);
  const title = `Figure 9B/C: per-epoch breakdown of machine time per worker, ${group.title}`;
  const approaches = [...new Set(values.map((v) => v.approach))];
  return {
    name: `figure9bc-${slug(group.key)}`,
    title,
    spec: {
      $schema: SCHEMA,
      title,
      width: 420,
      height: { step: 28 },
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'approach', type: 'nominal', title: null, sort: approaches },
        x: { field: 'seconds', type: 'quantitative', title: 'seconds per epoch per worker', stack: 'zero' },
        color: {
          field: 'component',
          type: 'nominal',
          title: 'component',
          sort: COMPONENTS.map((c) => COMPONENT_LABELS[c]),
          scale: { domain: COMPONENTS.map((c) => COMPONENT_LABELS[c]), range: ['#4c78a8', '#f58518', '#54a24b', '#b0b0b0'] },
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

/** Figure 9A and 9B/C for every workload among the runs. */
export function figure9(runs: readonly LoadedRun[]): Figure[] {
  return groupByWorkload(runs).flatMap((g) => [convergenceFigure(g), breakdownFigure(g)]);
}
