// The event vocabulary of a run (docs/architecture.md, "Events"): every layer speaks these, and
// events.jsonl holds one per line. The zod schemas are the source; the TypeScript types are derived
// from them, so the file format and the types cannot drift apart.
import { z } from 'zod';
import { searchParamsSchema } from './search.js';
import { modelConfigSchema } from './workload.js';

/** What a timed interval was spent on. Listed once; the breakdown maps each to a paper component. */
export const SPAN_KINDS = [
  'train',
  'valid',
  'engine-init',
  'data',
  'model-hop',
  'idle',
  'average',
  'schedule',
] as const;
export const spanKindSchema = z.enum(SPAN_KINDS);
export type SpanKind = z.infer<typeof spanKindSchema>;

/** The four components of the paper's per-epoch breakdown (Figure 9B/C). */
export const BREAKDOWN_COMPONENTS = [
  'trainValid',
  'dataTransmission',
  'modelTransmission',
  'approachSpecific',
] as const;
export type BreakdownComponent = (typeof BREAKDOWN_COMPONENTS)[number];

/**
 * What the breakdown reports: the four components, and the time no span covers ("unattributed"),
 * which is its own category and never folded into a component.
 */
export const BREAKDOWN_CATEGORIES = [...BREAKDOWN_COMPONENTS, 'unattributed'] as const;
export type BreakdownCategory = (typeof BREAKDOWN_CATEGORIES)[number];

export const COMPONENT_OF_KIND: Readonly<Record<SpanKind, BreakdownComponent>> = {
  train: 'trainValid',
  valid: 'trainValid',
  'engine-init': 'trainValid',
  data: 'dataTransmission',
  'model-hop': 'modelTransmission',
  idle: 'approachSpecific',
  average: 'approachSpecific',
  schedule: 'approachSpecific',
};

/** The paper's columns a counted byte can land in (Table 6), besides ETL. */
export const BYTE_COLUMNS = ['network', 'disk', 'local'] as const;
export type ByteColumn = (typeof BYTE_COLUMNS)[number];

/**
 * Every transport whose bytes a run counts exactly, and the Table 6 column its execution-phase bytes
 * belong to (docs/measurement.md, "Bytes"). Bytes counted in the ETL or start-up phase go to the ETL
 * or start-up bytes column whatever their transport; calibration bytes to neither. The one place
 * this mapping is written; the README copies it.
 */
export const TRANSPORT_TABLE = {
  copy: { column: 'network', counts: 'rows streamed out of a database instance by COPY (exports, replicas)' },
  sql: {
    column: 'network',
    counts: 'models returned as result rows via the coordinator and sent to every segment (MA collect and broadcast)',
  },
  'model-table': {
    column: 'network',
    counts: 'model hops between segments through database tables: copy, verify, delete (udaf, ctq models-in=db)',
  },
  'model-store': {
    column: 'network',
    counts: "model hops through the shared model store: a checkpoint read and written per unit (the paper's shared FS)",
  },
  allreduce: { column: 'network', counts: 'gradients all-reduced between data-parallel ranks' },
  'direct-read': { column: 'disk', counts: 'heap and TOAST page files read directly' },
  'export-file': { column: 'disk', counts: 'export and replica files written, and read back into workers' },
  'model-state': {
    column: 'disk',
    counts: "model state the aggregate reads and writes in the segment's own models table (udaf, ctq db, ma), no hop",
  },
  pipe: { column: 'local', counts: 'pipes between the harness and its engine workers' },
} as const satisfies Record<string, { column: ByteColumn; counts: string }>;
export type Transport = keyof typeof TRANSPORT_TABLE;
export const TRANSPORTS = Object.keys(TRANSPORT_TABLE) as [Transport, ...Transport[]];
export const transportSchema = z.enum(TRANSPORTS);

/**
 * The phases of a run, in order of their first start. Their intervals sum to the run's wall time.
 * 'calibration' (the raw engine loop measured in the run, docs/ci.md) comes between start-up and
 * execution and counts as neither.
 */
export const PHASES = ['etl', 'startup', 'calibration', 'execution'] as const;
export const phaseSchema = z.enum(PHASES);
export type Phase = z.infer<typeof phaseSchema>;

/** A timed interval. Times are milliseconds since the Unix epoch (fractional). */
export const spanSchema = z.object({
  type: z.literal('span'),
  kind: spanKindSchema,
  start: z.number(),
  end: z.number(),
  /** The segment (worker slot) whose machine time this is; absent for coordinator-only work. */
  segment: z.number().optional(),
  config: z.number().optional(),
  epoch: z.number().optional(),
  bytes: z.number().optional(),
});
export type Span = z.infer<typeof spanSchema>;

/** Per config per epoch convergence figures. */
export const epochMetricsSchema = z.object({
  type: z.literal('epoch'),
  config: z.number(),
  epoch: z.number(),
  trainLoss: z.number(),
  validLoss: z.number(),
  validAccuracy: z.number(),
  trainExamples: z.number(),
  at: z.number(),
});
export type EpochMetrics = z.infer<typeof epochMetricsSchema>;

/** Bytes moved by one transport. */
export const counterSchema = z.object({
  type: z.literal('counter'),
  transport: transportSchema,
  bytes: z.number(),
  at: z.number(),
  segment: z.number().optional(),
});
export type Counter = z.infer<typeof counterSchema>;

/** One (config, segment) sub-epoch finished; lets an interrupted run resume. */
export const unitDoneSchema = z.object({
  type: z.literal('unit'),
  config: z.number(),
  segment: z.number(),
  epoch: z.number(),
  /** The unit's training loss sum and example count (an epoch's loss survives a resume). */
  lossSum: z.number(),
  examples: z.number(),
  /**
   * The model's version after this unit: the number of sub-epochs it has trained. Stored with the
   * model too, so a resume can tell whether the stored model is the one the events describe.
   */
  modelVersion: z.number().optional(),
  at: z.number(),
});
export type UnitDone = z.infer<typeof unitDoneSchema>;

/**
 * A (config, segment) sub-epoch began. Nothing is computed from it; it lets a live display show
 * what each worker is on and measure unit times while they run (docs/terminal.md).
 */
export const unitStartSchema = z.object({
  type: z.literal('unit-start'),
  config: z.number(),
  segment: z.number(),
  epoch: z.number(),
  at: z.number(),
});
export type UnitStart = z.infer<typeof unitStartSchema>;

/** A phase boundary the harness records. */
export const phaseMarkSchema = z.object({
  type: z.literal('phase'),
  phase: phaseSchema,
  edge: z.enum(['start', 'end']),
  at: z.number(),
});
export type PhaseMark = z.infer<typeof phaseMarkSchema>;

export const logLineSchema = z.object({
  type: z.literal('log'),
  level: z.enum(['info', 'warn', 'error']),
  message: z.string(),
  at: z.number(),
});
export type LogLine = z.infer<typeof logLineSchema>;

/** The run stopped before it finished (a signal, an error); written before the summary. */
export const interruptedSchema = z.object({
  type: z.literal('interrupted'),
  reason: z.string(),
  at: z.number(),
});
export type Interrupted = z.infer<typeof interruptedSchema>;

/**
 * The raw engine loop's training throughput on this machine, measured in the run's calibration
 * phase (docs/ci.md): one process per worker, all at once, each training every config of the
 * workload with the run's engine threads on synthetic data of the workload's shape.
 */
export const calibrationSchema = z.object({
  type: z.literal('calibration'),
  /**
   * Examples/s of ONE worker: per worker the harmonic mean over configs (every config trains the
   * same examples in a run), then the harmonic mean over workers.
   */
  examplesPerSecond: z.number(),
  workers: z.number(),
  threads: z.number(),
  /** Train-loop seconds each worker aimed at, split evenly across the configs. */
  budgetSeconds: z.number(),
  /** Per config, examples/s averaged (harmonically) over workers. */
  configs: z.array(z.object({ config: z.number(), examplesPerSecond: z.number() })),
  device: z.string(),
  at: z.number(),
});
export type Calibration = z.infer<typeof calibrationSchema>;

/** A search proposed a new config (docs/search.md): the point it sampled and the model config made from it. */
export const searchConfigSchema = z.object({
  type: z.literal('search-config'),
  config: modelConfigSchema,
  params: searchParamsSchema,
  at: z.number(),
});
export type SearchConfigEvent = z.infer<typeof searchConfigSchema>;

/**
 * A config arrives to train its epochs [from, to): a new config (from 0), or one ASHA promotes to
 * its next rung. Jobs are numbered in the order the searcher proposed them; `told` is how many job
 * results (jobs 0..told-1) the searcher had been told when it proposed this one.
 */
export const searchJobSchema = z.object({
  type: z.literal('search-job'),
  job: z.number().int(),
  config: z.number().int(),
  from: z.number().int(),
  to: z.number().int(),
  /** ASHA: the rung the job trains the config up to (0 = the first). */
  rung: z.number().int().optional(),
  told: z.number().int(),
  at: z.number(),
});
export type SearchJobEvent = z.infer<typeof searchJobSchema>;

/** A job's result as the searcher was told it, in job order: the validation loss after its last epoch. */
export const searchResultSchema = z.object({
  type: z.literal('search-result'),
  job: z.number().int(),
  config: z.number().int(),
  /** Epochs the config has trained (the job's `to`). */
  epochs: z.number().int(),
  /** Validation loss; null when it was not a finite number (the config diverged). */
  value: z.number().nullable(),
  at: z.number(),
});
export type SearchResultEvent = z.infer<typeof searchResultSchema>;

export const runEventSchema = z.discriminatedUnion('type', [
  spanSchema,
  epochMetricsSchema,
  counterSchema,
  unitDoneSchema,
  unitStartSchema,
  phaseMarkSchema,
  logLineSchema,
  interruptedSchema,
  calibrationSchema,
  searchConfigSchema,
  searchJobSchema,
  searchResultSchema,
]);
export type RunEvent = z.infer<typeof runEventSchema>;

/** What an approach may emit while training (the harness writes phases and interruptions itself). */
export type TrainEvent =
  | Span
  | EpochMetrics
  | Counter
  | UnitDone
  | UnitStart
  | LogLine
  | SearchConfigEvent
  | SearchJobEvent
  | SearchResultEvent;

/** The time an event is about: a span's end, any other event's `at`. */
export function eventTime(event: RunEvent): number {
  return event.type === 'span' ? event.end : event.at;
}
