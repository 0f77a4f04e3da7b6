// Helpers for grids of model configs and for workload definitions with options.
import {
  REGULARIZERS,
  type Arch,
  type ModelConfig,
  type Regularizer,
  type ResolvedWorkload,
  type ScaleName,
  type WorkloadDefinition,
} from '../src/core/workload.js';

/** Options a workload reads (from `--option key=value`). */
export type WorkloadOptions = Record<string, string>;

export interface OptionSpec {
  default: string;
  description: string;
}

/** A workload definition as this project writes them: the core contract plus documentation the CLI shows. */
export interface BenchWorkloadDefinition extends WorkloadDefinition {
  /** What each scale preset means for this workload. */
  scales: Record<ScaleName, string>;
  /** The options the workload reads, with defaults. Unknown options are an error. */
  options: Record<string, OptionSpec>;
  /** How the workload is meant to be run (shown by the CLI). */
  notes: string[];
  resolve(scale: ScaleName, seed: number, options?: WorkloadOptions): ResolvedWorkload;
}

/** Every combination of the given axes, the first axis varying slowest. */
export function product<T extends Record<string, readonly unknown[]>>(axes: T): { [K in keyof T]: T[K][number] }[] {
  let rows: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(axes)) {
    const next: Record<string, unknown>[] = [];
    for (const row of rows) for (const value of values) next.push({ ...row, [key]: value });
    rows = next;
  }
  return rows as { [K in keyof T]: T[K][number] }[];
}

/** 0.001 -> "1e-3". */
export function exp(x: number): string {
  return x.toExponential().replace('e+', 'e');
}

export function configLabel(c: Omit<ModelConfig, 'id' | 'label'>, prefix?: string): string {
  const head = prefix ?? c.arch;
  const slow = c.repeat && c.repeat > 1 ? ` x${c.repeat}` : '';
  return `${head} b${c.batchSize} lr${exp(c.learningRate)} l2 ${exp(c.l2)}${slow}`;
}

export function numberConfigs(configs: Omit<ModelConfig, 'id'>[]): ModelConfig[] {
  return configs.map((c, id) => ({ id, ...c }));
}

export interface GridAxes {
  arch: readonly Arch[];
  batchSize: readonly number[];
  learningRate: readonly number[];
  l2: readonly number[];
}

/** What a grid adds to each of its configs besides the axes. */
export type ConfigExtra = Partial<Pick<ModelConfig, 'hidden' | 'width' | 'blocks' | 'repeat' | 'regularizer'>>;

/**
 * The grid arch x batch x lr x l2, numbered in that order; `extra` is the same for every config or a function of
 * its arch.
 */
export function grid(axes: GridAxes, extra: ConfigExtra | ((arch: Arch) => ConfigExtra) = {}): ModelConfig[] {
  return numberConfigs(
    product(axes as unknown as Record<string, readonly unknown[]>).map((row) => {
      const axesRow = row as Pick<ModelConfig, 'arch' | 'batchSize' | 'learningRate' | 'l2'>;
      const c = { ...axesRow, ...(typeof extra === 'function' ? extra(axesRow.arch) : extra) };
      return { ...c, label: configLabel(c) };
    }),
  );
}

/** The option every workload reads: how `l2` regularises its configs (recorded with each config in run.json). */
export const REGULARIZER_OPTION: Record<string, OptionSpec> = {
  regularizer: {
    default: 'kernel-l2',
    description:
      "how l2 regularises: kernel-l2 (Keras' L2 penalty on kernel weights, as the paper ran it), " +
      "adam (Adam's coupled weight decay on every parameter) or adamw (AdamW's decoupled weight decay)",
  },
};

export function readRegularizer(workloadId: string, value: string | undefined): Regularizer {
  const name = value ?? 'kernel-l2';
  if (!(REGULARIZERS as readonly string[]).includes(name)) {
    throw new Error(`${workloadId}: option regularizer must be one of ${REGULARIZERS.join(', ')}, got '${name}'`);
  }
  return name as Regularizer;
}

/** The configs with the workload's regulariser set on each. */
export function regularized(configs: ModelConfig[], regularizer: Regularizer): ModelConfig[] {
  return configs.map((c) => ({ ...c, regularizer }));
}

/**
 * Read a workload's options: defaults filled in. Keys the workload does not know are ignored (the
 * CLI's `--option` map also carries approach options) unless `strict`, where they are an error
 * listing the valid ones.
 */
export function readOptions(
  workloadId: string,
  specs: Record<string, OptionSpec>,
  given: WorkloadOptions = {},
  strict = false,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, spec] of Object.entries(specs)) out[key] = spec.default;
  for (const [key, value] of Object.entries(given)) {
    if (!(key in specs)) {
      if (!strict) continue;
      const valid = Object.keys(specs);
      const hint = valid.length ? `Valid options: ${valid.join(', ')}` : 'It takes no options.';
      throw new Error(`Workload '${workloadId}' has no option '${key}'. ${hint}`);
    }
    out[key] = value;
  }
  return out;
}
