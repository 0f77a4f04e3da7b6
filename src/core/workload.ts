// Workloads: a dataset + a grid of configs + epochs, resolved at one scale (docs/architecture.md).
import { z } from 'zod';
import type { SearchParams, SearchSpec } from './search.js';

/** The Criteo MLP and the zoo of the paper's CNNs (infra/engine/bench_engine/models.py, docs/engine.md). */
export const ARCHS = ['mlp', 'vgg16', 'resnet18', 'resnet34', 'resnet50', 'resnet152', 'mobilenetv2'] as const;
export type Arch = (typeof ARCHS)[number];
/** How `l2` regularises: Keras' L2 penalty on kernel weights (the paper's; default), Adam's or AdamW's weight decay. */
export const REGULARIZERS = ['kernel-l2', 'adam', 'adamw'] as const;
export type Regularizer = (typeof REGULARIZERS)[number];
export const SCALES = ['tiny', 'small', 'medium', 'paper'] as const;
export type ScaleName = (typeof SCALES)[number];

/** One model to train (the paper's model config, MADlib's MST). */
export const modelConfigSchema = z.object({
  id: z.number(),
  arch: z.enum(ARCHS),
  batchSize: z.number(),
  learningRate: z.number(),
  l2: z.number(),
  /** Hidden layer widths for the MLP. */
  hidden: z.array(z.number()).optional(),
  /** CNNs: channels of the first convolution (published: 64 for VGG16 and the ResNets, 32 for MobileNetV2). */
  width: z.number().optional(),
  /** CNNs: blocks per stage (VGG16 convolutions, ResNet blocks, MobileNetV2 inverted residuals); default: published. */
  blocks: z.array(z.number()).optional(),
  /** How `l2` regularises (default 'kernel-l2'). */
  regularizer: z.enum(REGULARIZERS).optional(),
  /** Extra passes over each mini-batch: makes a config slower without changing the data (hetero workload). */
  repeat: z.number().optional(),
  /** A short human label, e.g. "mlp b256 lr1e-3 l2 1e-4". */
  label: z.string(),
});
export type ModelConfig = z.infer<typeof modelConfigSchema>;

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
  return spec.kind === 'criteo' ? [13 * spec.intBuckets + 26 * spec.hashBuckets] : [3, spec.imageSize, spec.imageSize];
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
  /**
   * The configs to train. A workload with a `search` starts with none: the search proposes them
   * during the run and they are appended here as they arrive (docs/search.md).
   */
  configs: ModelConfig[];
  epochs: number;
  seed: number;
  /** Present when the configs come from a search instead of a fixed list. */
  search?: WorkloadSearch;
}

/** A workload's search: the spec run.json records, and how a sampled point becomes a model config. */
export interface WorkloadSearch {
  spec: SearchSpec;
  configOf(id: number, params: SearchParams): ModelConfig;
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
