// Figure 10 of the paper (section 5.2.1), strong scaling: (A) speedup of each approach over its own
// run on one segment; (B-D) per-component machine time (summed over the segments) relative to one
// segment, 1 = perfectly scalable. Machine time of a run = its breakdown (seconds per segment,
// averaged over segments) x segments, summed over epochs; D is model transmission + approach
// specific, as the paper groups them (its "other components"). Runs of one cell (repeats) are points of
// their own, drawn as mean and standard deviation. Pure: loaded runs in, figures and Markdown out.
import type { TopLevelSpec } from 'vega-lite';
import type { LoadedRun } from '../src/core/records.js';
import { byApproach, mean } from './common.js';
import type { Figure } from './figure9.js';
import { approachColourScale, approachName, PANEL_HEIGHT, PLOT_HEIGHT, PLOT_WIDTH, SERIES_COLOURS } from './style.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export const SCALING_GROUPS = {
  trainValid: '10B: Train+Valid',
  dataTransmission: '10C: Data Transmission',
  other: '10D: Other components',
} as const;
type Group = keyof typeof SCALING_GROUPS;

export function machineSeconds(run: LoadedRun): Record<Group, number> {
  const n = run.info.segments;
  const out = { trainValid: 0, dataTransmission: 0, other: 0 };
  for (const b of run.summary.breakdown) {
    out.trainValid += b.trainValid * n;
    out.dataTransmission += b.dataTransmission * n;
    out.other += (b.modelTransmission + b.approachSpecific) * n;
  }
  return out;
}

export interface ScalingPoint {
  approachId: string;
  approach: string;
  segments: number;
  runId: string;
  executionSeconds: number;
  /** Mean execution time of the approach's 1-segment runs over this run's; null without a 1-segment run. */
  speedup: number | null;
}

export interface ComponentPoint {
  approachId: string;
  approach: string;
  segments: number;
  component: string;
  machineSeconds: number;
  /** Relative to the mean of the approach's 1-segment runs; null without one (or when that is 0). */
  relative: number | null;
}

function completeRuns(runs: readonly LoadedRun[]): LoadedRun[] {
  return runs.filter((r) => r.summary.status === 'complete');
}

export function scalingPoints(runs: readonly LoadedRun[]): ScalingPoint[] {
  const out: ScalingPoint[] = [];
  for (const [approachId, all] of byApproach(completeRuns(runs))) {
    const base = all.filter((r) => r.info.segments === 1).map((r) => r.summary.executionSeconds);
    const t1 = base.length > 0 ? mean(base) : null;
    for (const r of all.sort((a, b) => a.info.segments - b.info.segments)) {
      const t = r.summary.executionSeconds;
      out.push({
        approachId,
        approach: approachName(approachId),
        segments: r.info.segments,
        runId: r.info.runId,
        executionSeconds: t,
        speedup: t1 !== null && t > 0 ? t1 / t : null,
      });
    }
  }
  return out;
}

export function componentPoints(runs: readonly LoadedRun[]): ComponentPoint[] {
  const out: ComponentPoint[] = [];
  for (const [approachId, all] of byApproach(completeRuns(runs))) {
    const base = all.filter((r) => r.info.segments === 1).map(machineSeconds);
    for (const r of all.sort((a, b) => a.info.segments - b.info.segments)) {
      const m = machineSeconds(r);
      for (const group of Object.keys(SCALING_GROUPS) as Group[]) {
        const b = base.length > 0 ? mean(base.map((x) => x[group])) : 0;
        out.push({
          approachId,
          approach: approachName(approachId),
          segments: r.info.segments,
          component: SCALING_GROUPS[group],
          machineSeconds: m[group],
          relative: b > 0 ? m[group] / b : null,
        });
      }
    }
  }
  return out;
}

function workerAxis(segments: number[]): object {
  return {
    field: 'segments',
    type: 'quantitative',
    title: 'segments (log2)',
    scale: { type: 'log', base: 2 },
    axis: { values: segments, format: 'd' },
  };
}

/** Mean line with points, and standard-deviation bars where a cell has several runs. */
function meanWithErrorBars(y: string, yTitle: string, colour: object, errorBars: boolean): object[] {
  const layers: object[] = [
    {
      mark: { type: 'line', strokeWidth: 1.5 },
      encoding: { y: { field: y, type: 'quantitative', aggregate: 'mean', title: yTitle }, color: colour },
    },
    {
      mark: { type: 'point', filled: true, size: 20 },
      encoding: { y: { field: y, type: 'quantitative', aggregate: 'mean', title: yTitle }, color: colour },
    },
  ];
  // One value per cell has no spread: error bars only where there are repeats.
  if (errorBars)
    layers.push({
      mark: { type: 'errorbar', extent: 'stdev' },
      encoding: { y: { field: y, type: 'quantitative', title: yTitle }, color: colour },
    });
  return layers;
}

export function figure10(runs: readonly LoadedRun[], caption: string): Figure[] {
  const speedups = scalingPoints(runs).filter((p) => p.speedup !== null);
  const components = componentPoints(runs).filter((p) => p.relative !== null);
  const segments = [...new Set(scalingPoints(runs).map((p) => p.segments))].sort((a, b) => a - b);
  const colour = approachColourScale(speedups.map((p) => ({ id: p.approachId, label: p.approach })));
  const colourEncoding = { field: 'approach', type: 'nominal', title: null, scale: colour, sort: colour.domain };
  const ideal = segments.map((s) => ({ segments: s, ideal: s }));
  const cells = speedups.map((p) => `${p.approachId}/${p.segments}`);
  const repeated = new Set(cells).size < cells.length;
  const figures: Figure[] = [];
  if (speedups.length > 0) {
    const heading = 'Figure 10A: Speedup over one segment';
    figures.push({
      name: 'figure10a',
      title: `${heading}, ${caption}`,
      spec: {
        $schema: SCHEMA,
        title: { text: heading, subtitle: [caption, 'dashed: linear speedup'] },
        width: PLOT_WIDTH,
        height: PLOT_HEIGHT,
        encoding: { x: workerAxis(segments) as never },
        layer: [
          {
            data: { values: ideal },
            mark: { type: 'line', strokeDash: [4, 3], color: SERIES_COLOURS[2], strokeWidth: 1 },
            encoding: { y: { field: 'ideal', type: 'quantitative' } },
          },
          {
            data: { values: speedups },
            layer: meanWithErrorBars('speedup', 'speedup T(1) / T(N)', colourEncoding, repeated),
          },
        ],
      } as TopLevelSpec,
    });
  }
  // B, C and D as figures of their own: a wrapped facet of three would leave an empty fourth panel.
  for (const label of Object.values(SCALING_GROUPS)) {
    const values = components.filter((p) => p.component === label);
    if (values.length === 0) continue;
    const [letter, what] = label.split(': ');
    const heading = `Figure ${letter}: ${what}`;
    const other = letter === '10D' ? ['model transmission + approach-specific'] : [];
    figures.push({
      name: `figure${letter.toLowerCase()}`,
      title: `${heading}, ${caption}`,
      spec: {
        $schema: SCHEMA,
        title: {
          text: heading,
          subtitle: [...other, caption, 'machine time summed over segments, relative to 1 segment'],
        },
        width: PLOT_WIDTH,
        height: PANEL_HEIGHT,
        data: { values },
        encoding: { x: workerAxis(segments) as never },
        layer: meanWithErrorBars('relative', 'relative (1 = scalable)', colourEncoding, repeated),
      } as TopLevelSpec,
    });
  }
  return figures;
}

/** Figure 10 as a table: execution time, speedup over one segment, and time relative to UDAF at the same size. */
export function figure10Markdown(runs: readonly LoadedRun[], caption: string): string {
  const points = scalingPoints(runs);
  const segments = [...new Set(points.map((p) => p.segments))].sort((a, b) => a - b);
  const cell = (approachId: string, n: number): number | null => {
    const xs = points.filter((p) => p.approachId === approachId && p.segments === n).map((p) => p.executionSeconds);
    return xs.length > 0 ? mean(xs) : null;
  };
  const lines = [
    `# Figure 10: strong scaling (${caption})`,
    '',
    'Execution time (ETL excluded), mean over repeats; in brackets the speedup over the approach on one segment, ' +
      'then the time relative to UDAF on as many segments.',
    '',
    `| approach | ${segments.map((n) => `${n} seg`).join(' | ')} |`,
    `|---|${segments.map(() => '---').join('|')}|`,
  ];
  for (const approachId of [...new Set(points.map((p) => p.approachId))]) {
    const cells = segments.map((n) => {
      const t = cell(approachId, n);
      if (t === null) return 'missing';
      const t1 = cell(approachId, 1);
      const udaf = cell('udaf', n);
      const speedup = t1 !== null && t > 0 ? `${(t1 / t).toFixed(2)}x` : 'no 1-seg run';
      const vsUdaf = udaf !== null && udaf > 0 ? `${(t / udaf).toFixed(2)} of UDAF` : 'no UDAF run';
      return `${t.toFixed(1)} s (${speedup}; ${vsUdaf})`;
    });
    lines.push(`| ${approachName(approachId)} | ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}
