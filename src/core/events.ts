// The event vocabulary of a run (docs/architecture.md, "Events"): every layer speaks these, and
// events.jsonl holds one per line. The zod schemas are the source; the TypeScript types are derived
// from them, so the file format and the types cannot drift apart.
import { z } from 'zod';

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
export const BREAKDOWN_COMPONENTS = ['trainValid', 'dataTransmission', 'modelTransmission', 'approachSpecific'] as const;
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
 * column whatever their transport. The one place this mapping is written; the README copies it.
 */
export const TRANSPORT_TABLE = {
  copy: { column: 'network', counts: 'rows streamed out of a database instance by COPY (exports, replicas)' },
  sql: {
    column: 'network',
    counts: 'models sent as SQL parameters and returned as result rows via the coordinator (MA broadcast and collect)',
  },
  'model-table': { column: 'network', counts: 'model hops through database tables (udaf, ctq models-in=db)' },
  'model-store': {
    column: 'network',
    counts: "model hops through the shared model store: a checkpoint read and written per unit (the paper's shared FS)",
  },
  allreduce: { column: 'network', counts: 'gradients all-reduced between data-parallel ranks' },
  'direct-read': { column: 'disk', counts: 'heap and TOAST page files read directly' },
  'export-file': { column: 'disk', counts: 'export and replica files written, and read back into workers' },
  'model-state': {
    column: 'disk',
    counts: "model state read from and written to the segment's own models table by the aggregate (udaf), no hop",
  },
  checkpoint: { column: 'disk', counts: 'model state written only to be kept (for resume), not to hop' },
  pipe: { column: 'local', counts: 'pipes between the harness and its engine workers' },
} as const satisfies Record<string, { column: ByteColumn; counts: string }>;
export type Transport = keyof typeof TRANSPORT_TABLE;
export const TRANSPORTS = Object.keys(TRANSPORT_TABLE) as [Transport, ...Transport[]];
export const transportSchema = z.enum(TRANSPORTS);

/** The phases of a run, in order. Their intervals sum to the run's wall time. */
export const PHASES = ['etl', 'startup', 'execution'] as const;
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

export const runEventSchema = z.discriminatedUnion('type', [
  spanSchema,
  epochMetricsSchema,
  counterSchema,
  unitDoneSchema,
  phaseMarkSchema,
  logLineSchema,
  interruptedSchema,
]);
export type RunEvent = z.infer<typeof runEventSchema>;

/** What an approach may emit while training (the harness writes phases and interruptions itself). */
export type TrainEvent = Span | EpochMetrics | Counter | UnitDone | LogLine;

/** The time an event is about: a span's end, any other event's `at`. */
export function eventTime(event: RunEvent): number {
  return event.type === 'span' ? event.end : event.at;
}
