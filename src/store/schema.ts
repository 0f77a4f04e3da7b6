// The on-disk format of a run folder (DESIGN section 7). Reports and `bench compare` read only
// what these schemas accept, so a malformed folder fails loudly instead of producing numbers.
import { z } from 'zod';

export const FORMAT_VERSION = 1;

export const environmentSchema = z.object({
  gitSha: z.string(),
  gitDirty: z.boolean(),
  node: z.string(),
  python: z.string(),
  torch: z.string(),
  postgres: z.string(),
  postgresSettings: z.record(z.string(), z.string()),
  os: z.string(),
  cpuModel: z.string(),
  cpuCores: z.number(),
  memoryBytes: z.number(),
  gpu: z.string().nullable(),
  packages: z.record(z.string(), z.string()),
});
export type Environment = z.infer<typeof environmentSchema>;

export const modelConfigSchema = z.object({
  id: z.number(),
  arch: z.enum(['mlp', 'vgg', 'resnet']),
  batchSize: z.number(),
  learningRate: z.number(),
  l2: z.number(),
  hidden: z.array(z.number()).optional(),
  width: z.number().optional(),
  repeat: z.number().optional(),
  label: z.string(),
});

export const runInfoSchema = z.object({
  formatVersion: z.literal(FORMAT_VERSION),
  runId: z.string(),
  approach: z.string(),
  workload: z.string(),
  scale: z.string(),
  segments: z.number(),
  seed: z.number(),
  epochs: z.number(),
  options: z.record(z.string(), z.string()),
  configs: z.array(modelConfigSchema),
  dataset: z.record(z.string(), z.unknown()),
  startedAt: z.string(),
  environment: environmentSchema,
});
export type RunInfo = z.infer<typeof runInfoSchema>;

const spanSchema = z.object({
  type: z.literal('span'),
  kind: z.enum(['train', 'valid', 'engine-init', 'data', 'model-hop', 'idle', 'average', 'schedule']),
  start: z.number(),
  end: z.number(),
  segment: z.number().optional(),
  config: z.number().optional(),
  epoch: z.number().optional(),
  bytes: z.number().optional(),
});
const epochSchema = z.object({
  type: z.literal('epoch'),
  config: z.number(),
  epoch: z.number(),
  trainLoss: z.number(),
  validLoss: z.number(),
  validAccuracy: z.number(),
  trainExamples: z.number(),
  at: z.number(),
});
const counterSchema = z.object({
  type: z.literal('counter'),
  transport: z.enum(['copy', 'pipe', 'model-store', 'model-table', 'allreduce', 'sql', 'direct-read']),
  bytes: z.number(),
  at: z.number(),
  segment: z.number().optional(),
});
const unitSchema = z.object({
  type: z.literal('unit'),
  config: z.number(),
  segment: z.number(),
  epoch: z.number(),
  lossSum: z.number(),
  examples: z.number(),
  modelVersion: z.number().int().nonnegative().optional(),
  at: z.number(),
});
const phaseSchema = z.object({
  type: z.literal('phase'),
  phase: z.enum(['etl', 'execution']),
  edge: z.enum(['start', 'end']),
  at: z.number(),
});
const logSchema = z.object({
  type: z.literal('log'),
  level: z.enum(['info', 'warn', 'error']),
  message: z.string(),
  at: z.number(),
});
export const runEventSchema = z.discriminatedUnion('type', [
  spanSchema,
  epochSchema,
  counterSchema,
  unitSchema,
  phaseSchema,
  logSchema,
]);

/** One resource sample (samples.jsonl). Byte counters are cumulative since the sampler started. */
export const sampleSchema = z.object({
  t: z.number(),
  system: z.object({
    cpuPct: z.number(),
    memUsedBytes: z.number(),
    memTotalBytes: z.number(),
    diskReadBytes: z.number(),
    diskWriteBytes: z.number(),
    netRxBytes: z.number(),
    netTxBytes: z.number(),
  }),
  tree: z.object({
    pids: z.number(),
    cpuPct: z.number(),
    rssBytes: z.number(),
    readBytes: z.number(),
    writeBytes: z.number(),
  }),
  gpu: z
    .object({
      utilPct: z.number(),
      memUsedBytes: z.number(),
      memTotalBytes: z.number(),
    })
    .nullable(),
});
export type Sample = z.infer<typeof sampleSchema>;

export const breakdownSchema = z.object({
  trainValid: z.number(),
  dataTransmission: z.number(),
  modelTransmission: z.number(),
  approachSpecific: z.number(),
});
export type Breakdown = z.infer<typeof breakdownSchema>;

export const summarySchema = z.object({
  formatVersion: z.literal(FORMAT_VERSION),
  runId: z.string(),
  status: z.enum(['complete', 'incomplete']),
  finishedAt: z.string().nullable(),
  /** Seconds. */
  etlSeconds: z.number(),
  executionSeconds: z.number(),
  epochSeconds: z.array(z.number()),
  /** Per epoch, machine seconds per segment (averaged over segments), by component. */
  breakdown: z.array(breakdownSchema),
  metrics: z.array(
    z.object({
      config: z.number(),
      epoch: z.number(),
      trainLoss: z.number(),
      validLoss: z.number(),
      validAccuracy: z.number(),
    }),
  ),
  transportBytes: z.record(z.string(), z.number()),
  storage: z.object({
    /** Size of the packed training data inside the database. */
    sourceBytes: z.number(),
    /** Extra copies an approach made (exported files, replicas). */
    extraBytes: z.number(),
    blowup: z.number(),
  }),
  unitsCompleted: z.number(),
  unitsRetried: z.number(),
  resources: z
    .object({
      samples: z.number(),
      cpuPctMean: z.number(),
      memUsedPctMean: z.number(),
      treeRssBytesMax: z.number(),
      netBytes: z.number(),
      diskReadBytes: z.number(),
      diskWriteBytes: z.number(),
      gpuUtilPctMean: z.number().nullable(),
      gpuMemPctMean: z.number().nullable(),
    })
    .nullable(),
});
export type Summary = z.infer<typeof summarySchema>;
