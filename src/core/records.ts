// The records of a run folder besides its events (docs/architecture.md, "Run folder"): run.json,
// samples.jsonl and summary.json. Reports and `bench compare` read only what these schemas accept, so
// a malformed folder fails loudly instead of producing numbers. Types are derived from the schemas.
import { z } from 'zod';
import type { RunEvent } from './events.js';
import { modelConfigSchema } from './workload.js';

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

/** A declared option's value as run.json keeps it. */
export const optionValueSchema = z.union([z.string(), z.number(), z.boolean()]);
export type OptionValue = z.infer<typeof optionValueSchema>;

export const runInfoSchema = z.object({
  formatVersion: z.literal(FORMAT_VERSION),
  runId: z.string(),
  approach: z.string(),
  workload: z.string(),
  scale: z.string(),
  segments: z.number(),
  seed: z.number(),
  epochs: z.number(),
  /** The approach's options, every declared one with its value (defaults included). */
  options: z.record(z.string(), optionValueSchema),
  /** The workload's options, every declared one with its value (absent in runs written before they were recorded). */
  workloadOptions: z.record(z.string(), optionValueSchema).optional(),
  /** Engine threads per worker (absent in runs written before it was recorded). */
  threads: z.number().optional(),
  /** The configs as they ran; `arch` is any name, so runs of an older engine's models stay readable. */
  configs: z.array(modelConfigSchema.extend({ arch: z.string() })),
  dataset: z.record(z.string(), z.unknown()),
  startedAt: z.string(),
  environment: environmentSchema,
});
export type RunInfo = z.infer<typeof runInfoSchema>;

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

/** A run folder as the reports and `bench compare` read it. */
export interface LoadedRun {
  dir: string;
  info: RunInfo;
  events: RunEvent[];
  samples: Sample[];
  summary: Summary;
  /**
   * 'file': summary.json as the harness wrote it. 'derived': summary.json was missing (the
   * process died before writing it), so the summary was computed from the events and marked
   * incomplete (storage sizes unknown: 0).
   */
  summarySource: 'file' | 'derived';
  /** Things tolerated while reading (a torn last line of a run that died mid-write). */
  warnings: string[];
}
