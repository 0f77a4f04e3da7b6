// Figure 15 of the paper (appendix C), the model-size test: per-epoch (A) Train+Valid and (B) Model
// Transmission machine time per worker of UDAF and CTQ against the model size, on the `modelsize`
// workload with one run per size (option size=small|medium|large). Each run's seconds are its
// summary's breakdown (meanBreakdownOf, as Figure 9B/C: the mean over its epochs of machine seconds
// per worker); repeats are drawn as their mean with standard-deviation bars. The model's size is
// the run's own record: the bytes its model-hop spans say the serialized checkpoint took (weights
// and optimizer state, so about 3x the float32 weights with Adam; the paper reports "the on-disk
// serialized size"). Pure: loaded runs in, figures and Markdown out.
import type { TopLevelSpec } from 'vega-lite';
import type { LoadedRun } from '../src/core/records.js';
import { byApproach, formatBytes, mean } from './common.js';
import type { Figure } from './figure9.js';
import { meanBreakdownOf } from './figure9.js';
import { approachColourScale, approachName, PLOT_HEIGHT, PLOT_WIDTH } from './style.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** The sizes in the order of the x axis (workloads/definitions/modelsize.ts, MODEL_SIZES). */
export const FIGURE15_SIZES = ['small', 'medium', 'large'] as const;

/** The paper's names of the zoo's architectures. */
const ARCH_NAMES: Record<string, string> = {
  mobilenetv2: 'MobileNetV2',
  resnet50: 'ResNet50',
  resnet152: 'ResNet152',
  mlp: 'MLP',
};

export interface ModelSizePoint {
  size: string;
  /** The architecture the run's configs have (one per size run), in the paper's name. */
  model: string;
  approachId: string;
  approach: string;
  runId: string;
  seed: number;
  /**
   * Checkpoint bytes (weights and optimizer state) as the run recorded them (model-hop spans); null when no span
   * says.
   */
  modelBytes: number | null;
  /** Per-epoch machine seconds per worker (the run's breakdown, mean over epochs). */
  trainValid: number;
  modelTransmission: number;
}

/** The run's `size` workload option (run.json), as heteroP reads `p`. */
export function modelSizeOption(run: LoadedRun): string | undefined {
  const size = run.info.workloadOptions?.size ?? run.info.options.size;
  return size === undefined ? undefined : String(size);
}

/**
 * The serialized size of the run's models as its events record it: a model-hop span of a unit
 * carries the bytes of the checkpoint it read or wrote back (weights and optimizer state; a fresh
 * model's is 0). Per config the largest, then the mean over configs; null without any.
 */
export function modelBytesOf(run: LoadedRun): number | null {
  const perConfig = new Map<number, number>();
  for (const e of run.events) {
    if (e.type !== 'span' || e.kind !== 'model-hop' || e.config === undefined || !(e.bytes && e.bytes > 0)) continue;
    perConfig.set(e.config, Math.max(perConfig.get(e.config) ?? 0, e.bytes));
  }
  return perConfig.size === 0 ? null : mean([...perConfig.values()]);
}

function modelOf(run: LoadedRun): string {
  const archs = [...new Set(run.info.configs.map((c) => ARCH_NAMES[c.arch] ?? c.arch))];
  return archs.join('+');
}

/** One point per complete run of a known size, in size order, then approach order. */
export function modelSizePoints(runs: readonly LoadedRun[]): ModelSizePoint[] {
  const out: ModelSizePoint[] = [];
  for (const [approachId, all] of byApproach(runs.filter((r) => r.summary.status === 'complete'))) {
    for (const run of all) {
      const size = modelSizeOption(run);
      if (size === undefined || !(FIGURE15_SIZES as readonly string[]).includes(size)) continue;
      out.push({
        size,
        model: modelOf(run),
        approachId,
        approach: approachName(approachId),
        runId: run.info.runId,
        seed: run.info.seed,
        modelBytes: modelBytesOf(run),
        trainValid: meanBreakdownOf(run, 'trainValid'),
        modelTransmission: meanBreakdownOf(run, 'modelTransmission'),
      });
    }
  }
  const order = (p: ModelSizePoint): number => (FIGURE15_SIZES as readonly string[]).indexOf(p.size);
  return out.sort((a, b) => order(a) - order(b));
}

/** Per size its axis label's lines: the size, its architecture, and its mean recorded model bytes. */
export function sizeLabels(points: readonly ModelSizePoint[]): Map<string, string[]> {
  const labels = new Map<string, string[]>();
  for (const size of FIGURE15_SIZES) {
    const of = points.filter((p) => p.size === size);
    if (of.length === 0) continue;
    const bytes = of.map((p) => p.modelBytes).filter((b): b is number => b !== null);
    const models = [...new Set(of.map((p) => p.model))].join('/');
    labels.set(size, [size, models, ...(bytes.length > 0 ? [formatBytes(mean(bytes))] : [])]);
  }
  return labels;
}

const PANELS = {
  trainValid: { letter: '15A', what: 'Train+Valid' },
  modelTransmission: { letter: '15B', what: 'Model Transmission' },
} as const;

export function figure15(points: readonly ModelSizePoint[], caption: string): Figure[] {
  if (points.length === 0) return [];
  const labels = sizeLabels(points);
  const sizes = [...labels.keys()];
  const colour = approachColourScale(points.map((p) => ({ id: p.approachId, label: p.approach })));
  const cells = points.map((p) => `${p.approachId}/${p.size}`);
  const repeated = new Set(cells).size < cells.length;
  // Axis labels in lines (one line would overlap its neighbours at a column's width).
  const labelLines = JSON.stringify(Object.fromEntries([...labels].map(([k, v]) => [k, v.join('\n')])));
  const labelExpr = `split(${labelLines}[datum.value] || datum.value, '\\n')`;
  return (Object.keys(PANELS) as (keyof typeof PANELS)[]).map((field) => {
    const { letter, what } = PANELS[field];
    const heading = `Figure ${letter}: ${what}`;
    const yTitle = 'seconds per epoch per worker';
    const x = {
      field: 'size',
      type: 'nominal',
      title: ['model size as recorded', '(checkpoint: weights + optimizer state)'],
      sort: sizes,
      axis: { labelAngle: 0, labelExpr },
    };
    const color = { field: 'approach', type: 'nominal', title: null, scale: colour, sort: colour.domain };
    const layers: object[] = [
      {
        mark: { type: 'bar' },
        encoding: { y: { field, type: 'quantitative', aggregate: 'mean', title: yTitle }, color },
      },
    ];
    if (repeated)
      layers.push({
        mark: { type: 'errorbar', extent: 'stdev' },
        encoding: { y: { field, type: 'quantitative', title: yTitle } },
      });
    return {
      name: `figure${letter.toLowerCase()}`,
      title: `${heading}, ${caption}`,
      spec: {
        $schema: SCHEMA,
        title: { text: heading, subtitle: [caption, 'per-epoch machine time per worker'] },
        width: PLOT_WIDTH,
        height: PLOT_HEIGHT,
        data: { values: points },
        encoding: { x: x as never, xOffset: { field: 'approach', type: 'nominal', sort: colour.domain } },
        layer: layers,
      } as TopLevelSpec,
    };
  });
}

/** Figure 15 as a table: one row per size and approach, the mean over its runs. */
export function figure15Markdown(points: readonly ModelSizePoint[], caption: string, notes: readonly string[]): string {
  const f = (x: number): string => x.toFixed(3);
  const lines = [
    `# Figure 15: per-epoch machine time against model size, UDAF vs CTQ (${caption})`,
    '',
    'Seconds per epoch per worker: each run the mean over its epochs of its breakdown (as Figure 9B/C), then the ' +
      "mean over the n runs. Model MB: each model's checkpoint (weights and optimizer state, " +
      'as the engine serializes it) as the runs recorded it (the bytes of their model-hop spans).',
    '',
    '| size | model | model MB | approach | train+valid s/epoch | model transmission s/epoch | n |',
    '|---|---|---:|---|---:|---:|---:|',
  ];
  for (const size of FIGURE15_SIZES) {
    for (const [approachId, of] of byPoint(points.filter((p) => p.size === size))) {
      const bytes = of.map((p) => p.modelBytes).filter((b): b is number => b !== null);
      const mb = bytes.length > 0 ? (mean(bytes) / 1e6).toFixed(2) : 'n/a';
      const model = [...new Set(of.map((p) => p.model))].join('/');
      lines.push(
        `| ${size} | ${model} | ${mb} | ${approachName(approachId)} | ${f(mean(of.map((p) => p.trainValid)))} | ` +
          `${f(mean(of.map((p) => p.modelTransmission)))} | ${of.length} |`,
      );
    }
  }
  if (notes.length > 0) lines.push('', ...notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

function byPoint(points: readonly ModelSizePoint[]): [string, ModelSizePoint[]][] {
  const m = new Map<string, ModelSizePoint[]>();
  for (const p of points) m.set(p.approachId, [...(m.get(p.approachId) ?? []), p]);
  return [...m.entries()];
}
