// The vocabulary of DESIGN.md section 2 and 7 as types. Every layer speaks these.

/** What a timed interval was spent on (DESIGN section 7). */
export type SpanKind =
  | 'train'
  | 'valid'
  | 'engine-init'
  | 'data'
  | 'model-hop'
  | 'idle'
  | 'average'
  | 'schedule';

export const SPAN_KINDS: readonly SpanKind[] = [
  'train',
  'valid',
  'engine-init',
  'data',
  'model-hop',
  'idle',
  'average',
  'schedule',
];

/** The four components of the paper's per-epoch breakdown (Figure 9B/C). */
export type BreakdownComponent = 'trainValid' | 'dataTransmission' | 'modelTransmission' | 'approachSpecific';

export const COMPONENT_OF_KIND: Record<SpanKind, BreakdownComponent> = {
  train: 'trainValid',
  valid: 'trainValid',
  'engine-init': 'trainValid',
  data: 'dataTransmission',
  'model-hop': 'modelTransmission',
  idle: 'approachSpecific',
  average: 'approachSpecific',
  schedule: 'approachSpecific',
};

/** A timed interval. Times are milliseconds since the Unix epoch (fractional). */
export interface Span {
  type: 'span';
  kind: SpanKind;
  start: number;
  end: number;
  /** The segment (worker slot) whose machine time this is; absent for coordinator-only work. */
  segment?: number;
  config?: number;
  epoch?: number;
  bytes?: number;
}

/** Per config per epoch convergence figures. */
export interface EpochMetrics {
  type: 'epoch';
  config: number;
  epoch: number;
  trainLoss: number;
  validLoss: number;
  validAccuracy: number;
  trainExamples: number;
  at: number;
}

/** Bytes moved by one transport (COPY, pipes to workers, model store, all-reduce, ...). */
export type Transport = 'copy' | 'pipe' | 'model-store' | 'model-table' | 'allreduce' | 'sql' | 'direct-read';

export interface Counter {
  type: 'counter';
  transport: Transport;
  bytes: number;
  at: number;
  segment?: number;
}

/** One (config, segment) sub-epoch finished; lets an interrupted run resume. */
export interface UnitDone {
  type: 'unit';
  config: number;
  segment: number;
  epoch: number;
  /** The unit's training loss sum and example count (an epoch's loss survives a resume). */
  lossSum: number;
  examples: number;
  /** The model's version after this unit: the sub-epochs it has trained (in-DBMS approaches). */
  modelVersion?: number;
  at: number;
}

/** A phase boundary the harness records (ETL, execution). */
export interface PhaseMark {
  type: 'phase';
  phase: 'etl' | 'execution';
  edge: 'start' | 'end';
  at: number;
}

export interface LogLine {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
  at: number;
}

export type RunEvent = Span | EpochMetrics | Counter | UnitDone | PhaseMark | LogLine;

/** What an approach may emit while training (the harness writes phase marks itself). */
export type TrainEvent = Span | EpochMetrics | Counter | UnitDone | LogLine;
