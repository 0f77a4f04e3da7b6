// Workloads: a dataset + a grid of configs + epochs, resolved at one scale (DESIGN section 2, 6).

export type Arch = 'mlp' | 'vgg' | 'resnet';
export type ScaleName = 'tiny' | 'small' | 'medium' | 'paper';
export const SCALES: readonly ScaleName[] = ['tiny', 'small', 'medium', 'paper'];

/** One model to train (the paper's model config, MADlib's MST). */
export interface ModelConfig {
  id: number;
  arch: Arch;
  batchSize: number;
  learningRate: number;
  l2: number;
  /** Hidden layer widths for the MLP. */
  hidden?: number[];
  /** Base channel width for the CNNs. */
  width?: number;
  /** Extra passes over each mini-batch: makes a config slower without changing the data (hetero workload). */
  repeat?: number;
  /** A short human label, e.g. "mlp b256 lr1e-3 l2 1e-4". */
  label: string;
}

export interface CriteoSpec {
  kind: 'criteo';
  trainRows: number;
  validRows: number;
  /** One-hot buckets per integer feature (13 features). */
  intBuckets: number;
  /** Hash buckets per categorical feature (26 features). */
  hashBuckets: number;
  rowsPerBuffer: number;
  /** Probability that a label is flipped away from the teacher's answer. */
  labelNoise: number;
}

export interface ImagenetSpec {
  kind: 'imagenet';
  trainRows: number;
  validRows: number;
  imageSize: number;
  classes: number;
  rowsPerBuffer: number;
  labelNoise: number;
}

export type DatasetSpec = CriteoSpec | ImagenetSpec;

export function featureShape(spec: DatasetSpec): number[] {
  return spec.kind === 'criteo'
    ? [13 * spec.intBuckets + 26 * spec.hashBuckets]
    : [3, spec.imageSize, spec.imageSize];
}

export function classCount(spec: DatasetSpec): number {
  return spec.kind === 'criteo' ? 2 : spec.classes;
}

/** A workload fixed at one scale: everything a run needs to know about what it trains. */
export interface ResolvedWorkload {
  id: string;
  scale: ScaleName;
  /** Name of the dataset, shared by workloads that train on the same data (tables are named after it). */
  datasetName: string;
  dataset: DatasetSpec;
  configs: ModelConfig[];
  epochs: number;
  seed: number;
}

export interface WorkloadDefinition {
  id: string;
  description: string;
  resolve(scale: ScaleName, seed: number): ResolvedWorkload;
}

/**
 * The seed a config's model is initialised from: the same in every approach, so every approach
 * starts each config from identical weights.
 */
export function modelSeed(workload: Pick<ResolvedWorkload, 'seed'>, config: number): number {
  return workload.seed * 1000 + config;
}
