// The records of a run folder besides its events (docs/architecture.md, "Run folder"): run.json,
// samples.jsonl and summary.json. Reports and `bench compare` read only what these schemas accept, so
// a malformed folder fails loudly instead of producing numbers. Types are derived from the schemas.
import { z } from 'zod';
import { BYTE_COLUMNS, PHASES, spanKindSchema, type RunEvent } from './events.js';
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
  /**
   * The CPUs the bench process may run on (Linux Cpus_allowed_list, e.g. "0-3" or "0,2"), as
   * `taskset` or a container's cpuset left it; absent in runs written before it was recorded.
   */
  cpuAffinity: z.string().optional(),
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

/** CPU and memory of one group of the run's processes (a segment's server, the engine workers, ...). */
export const processGroupSampleSchema = z.object({
  pids: z.number(),
  /** Percent of the whole machine (all cores = 100). */
  cpuPct: z.number(),
  /** Private resident memory of every process plus the largest shared resident set among them. */
  memBytes: z.number(),
});
export type ProcessGroupSample = z.infer<typeof processGroupSampleSchema>;

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
    /** Sum of the processes' RSS (shared pages count once per process that maps them). */
    rssBytes: z.number(),
    readBytes: z.number(),
    writeBytes: z.number(),
    /** The groups' memBytes summed (absent in samples written before it was measured). */
    memBytes: z.number().optional(),
    /** Per process group, by name (absent in samples written before groups were measured). */
    groups: z.record(z.string(), processGroupSampleSchema).optional(),
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

/** Per epoch, machine seconds per segment (averaged over segments). */
export const breakdownSchema = z.object({
  trainValid: z.number(),
  dataTransmission: z.number(),
  modelTransmission: z.number(),
  /** idle + average + schedule (their shares are in `kinds`). */
  approachSpecific: z.number(),
  /** Time no span covers: its own category, never part of a component. */
  unattributed: z.number(),
  /** The same seconds by span kind (the components are sums of these). */
  kinds: z.record(spanKindSchema, z.number()),
});
export type Breakdown = z.infer<typeof breakdownSchema>;

/** Bytes of the training data (validation copies are left out on both sides of the blowup). */
export const dataBytesSchema = z.object({
  /** As stored: a table's heap, TOAST and indexes (compressed where the column is); a file's size. */
  storedBytes: z.number(),
  /** The packed buffers' payload (x and y), uncompressed. */
  logicalBytes: z.number(),
});
export type DataBytes = z.infer<typeof dataBytesSchema>;

export function sumDataBytes(parts: readonly DataBytes[]): DataBytes {
  return {
    storedBytes: parts.reduce((sum, p) => sum + p.storedBytes, 0),
    logicalBytes: parts.reduce((sum, p) => sum + p.logicalBytes, 0),
  };
}

export const storageSchema = z.object({
  /** The packed training data in the database. */
  data: dataBytesSchema,
  /** Copies of it the approach keeps besides the database (exports, replicas). */
  copies: dataBytesSchema,
  /** (data + copies) / data, counted as stored. */
  blowupStored: z.number(),
  /** (data + copies) / data, counted as logical bytes: the paper's Table 3 definition on uncompressed data. */
  blowupLogical: z.number(),
});
export type Storage = z.infer<typeof storageSchema>;

const byPhaseSchema = z.object(
  Object.fromEntries(PHASES.map((p) => [p, z.number()])) as Record<(typeof PHASES)[number], z.ZodNumber>,
);
const byColumnSchema = z.object(
  Object.fromEntries(BYTE_COLUMNS.map((c) => [c, z.number()])) as Record<(typeof BYTE_COLUMNS)[number], z.ZodNumber>,
);

/** The version of the measurement definitions a summary was computed with (docs/measurement.md). */
export const MEASUREMENT_VERSION = 4;

export const summarySchema = z.object({
  formatVersion: z.literal(FORMAT_VERSION),
  measurementVersion: z.literal(MEASUREMENT_VERSION),
  runId: z.string(),
  status: z.enum(['complete', 'incomplete']),
  finishedAt: z.string().nullable(),
  /** Seconds. */
  etlSeconds: z.number(),
  startupSeconds: z.number(),
  /** The raw loop's calibration (docs/ci.md): neither ETL nor execution. */
  calibrationSeconds: z.number(),
  executionSeconds: z.number(),
  epochSeconds: z.array(z.number()),
  /** Execution seconds inside no epoch window (before the first, between epochs, after the last). */
  outsideEpochsSeconds: z.number(),
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
  /** Bytes counted per transport over the whole run. */
  transportBytes: z.record(z.string(), z.number()),
  bytes: z.object({
    /** Per transport, the bytes counted in each phase. */
    byTransport: z.record(z.string(), byPhaseSchema),
    /** Execution-phase bytes by Table 6 column (TRANSPORT_TABLE). */
    execution: byColumnSchema,
    /** Bytes counted in the ETL phase, any transport. */
    etl: z.number(),
    /** Bytes counted in the start-up phase, any transport. */
    startup: z.number(),
  }),
  /** null when the sizes are unknown (a summary derived from events, or written before they were measured). */
  storage: storageSchema.nullable(),
  unitsCompleted: z.number(),
  unitsRetried: z.number(),
  resources: z
    .object({
      samples: z.number(),
      /** Machine-wide. */
      cpuPctMean: z.number(),
      memUsedPctMean: z.number(),
      /** The run's own processes (percent of the machine's cores, bytes and percent of its memory). */
      runCpuPctMean: z.number(),
      runMemBytesMean: z.number(),
      runMemBytesMax: z.number(),
      runMemPctMean: z.number(),
      treeRssBytesMax: z.number(),
      /** Per process group: the segments' servers, the coordinator, the engine workers, the harness. */
      groups: z.record(
        z.string(),
        z.object({ cpuPctMean: z.number(), memBytesMean: z.number(), memBytesMax: z.number() }),
      ),
      /** Sampled rx + tx of every interface, loopback included. */
      netBytes: z.number(),
      /** Sampled tx of every interface: a byte sent over loopback counts once. */
      netTxBytes: z.number(),
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
   * incomplete (storage sizes unknown). 'recomputed': summary.json was written with older
   * measurement definitions; the summary was computed again from the events, keeping its status.
   */
  summarySource: 'file' | 'derived' | 'recomputed';
  /** Things tolerated while reading (a torn last line of a run that died mid-write). */
  warnings: string[];
}
