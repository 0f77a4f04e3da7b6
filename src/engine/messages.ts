// The worker protocol's requests and replies, typed (infra/engine/bench_engine/worker.py).
import type { Span, SpanKind } from '../core/events.js';
import type { ModelConfig } from '../core/workload.js';

/** A span as the engine reports it: wall-clock ms since the Unix epoch. */
export interface EngineSpan {
  kind: SpanKind;
  start: number;
  end: number;
}

/** One packed buffer: x = n * prod(inputShape) float32 LE, y = n int32 LE. */
import type { PackedBuffer } from '../core/packed.js';

export type { PackedBuffer } from '../core/packed.js';

export type DatasetName = 'train' | 'valid' | (string & {});

export interface HelloReply {
  ok: true;
  pid: number;
  torch: string;
  /** 'cpu' or e.g. 'cuda:0 (NVIDIA H100 80GB HBM3)'. */
  device: string;
  /** Seconds the worker spent importing torch and the engine. */
  importSeconds: number;
  threads: number;
  python: string;
  engine: string;
}

export interface LoadRequest {
  dataset: DatasetName;
  inputShape: number[];
  classes: number;
  buffers: readonly PackedBuffer[];
}

export interface LoadReply {
  ok: true;
  /** Examples loaded by this request. */
  examples: number;
  /** Examples the dataset now holds (load appends). */
  totalExamples: number;
  buffers: number;
  /** One 'data' span: from the request header's arrival to the end of decoding. */
  spans: EngineSpan[];
}

export interface ClearReply {
  ok: true;
  examples: number;
}

export interface InitRequest {
  config: ModelConfig;
  seed: number;
  /** Default: the loaded train dataset's. */
  inputShape?: number[];
  classes?: number;
  /** Write the checkpoint here (atomically); without it the checkpoint comes back as payload. */
  modelOut?: string;
  dataset?: DatasetName;
}

export interface InitReply {
  ok: true;
  modelBytesOut: number;
  spans: EngineSpan[];
}

export interface TrainRequest {
  config: ModelConfig;
  /** Initialises the model when there is no checkpoint to start from. */
  seed: number;
  /** Checkpoint to start from; null: a fresh model from seed. */
  modelIn: string | null;
  /** Where the new checkpoint is written (temporary file + rename). */
  modelOut: string;
  epoch: number;
  /** Default 'train'. */
  dataset?: DatasetName;
  /** The model's version after this unit (sub-epochs trained), written into modelOut's header. */
  modelVersion?: number;
  /** The segment whose shard this unit trains on (recorded with the version). */
  segment?: number;
}

export interface TrainBytesRequest {
  config: ModelConfig;
  seed: number;
  epoch: number;
  dataset?: DatasetName;
}

export interface TrainReply {
  ok: true;
  epoch: number | null;
  /** Sum over mini-batches of (loss of its first pass x its size). */
  lossSum: number;
  examples: number;
  steps: number;
  /** The version of the model written (its header's `units`): sub-epochs trained. */
  modelVersion: number;
  modelBytesIn: number;
  modelBytesOut: number;
  /** model-hop (checkpoint read) or engine-init (fresh model), train, model-hop (write). */
  spans: EngineSpan[];
}

export interface ValidateRequest {
  config: ModelConfig;
  modelIn: string;
  epoch?: number;
  /** Default 'valid'. */
  dataset?: DatasetName;
}

export interface ValidateBytesRequest {
  config: ModelConfig;
  epoch?: number;
  dataset?: DatasetName;
}

export interface ValidateReply {
  ok: true;
  epoch: number | null;
  lossSum: number;
  correct: number;
  examples: number;
  modelBytesIn: number;
  /** model-hop (checkpoint read), valid. */
  spans: EngineSpan[];
}

export interface ErrorReply {
  ok: false;
  error: string;
  traceback?: string;
}

export interface SpanTags {
  segment?: number;
  config?: number;
  epoch?: number;
  /** Bytes to put on model-hop spans (e.g. the checkpoint size). */
  hopBytes?: number;
  /** Bytes to put on data spans. */
  dataBytes?: number;
}

/** The engine's spans as run events, tagged with where and for what they were spent. */
export function toSpans(spans: readonly EngineSpan[], tags: SpanTags = {}): Span[] {
  return spans.map((s) => {
    const span: Span = { type: 'span', kind: s.kind, start: s.start, end: s.end };
    if (tags.segment !== undefined) span.segment = tags.segment;
    if (tags.config !== undefined) span.config = tags.config;
    if (tags.epoch !== undefined) span.epoch = tags.epoch;
    if (s.kind === 'model-hop' && tags.hopBytes !== undefined) span.bytes = tags.hopBytes;
    if (s.kind === 'data' && tags.dataBytes !== undefined) span.bytes = tags.dataBytes;
    return span;
  });
}

/** Bytes of packed buffers (x + y). */
export function packedBytes(buffers: readonly PackedBuffer[]): number {
  let n = 0;
  for (const b of buffers) n += b.x.length + b.y.length;
  return n;
}

/** A train/validate reply's spans as run events: the checkpoint read (first model-hop) carries
 * modelBytesIn, the write (the model-hop after training) modelBytesOut. */
export function replySpans(
  reply: { spans: readonly EngineSpan[]; modelBytesIn?: number; modelBytesOut?: number },
  tags: Omit<SpanTags, 'hopBytes'> = {},
): Span[] {
  let trained = false;
  return toSpans(reply.spans, tags).map((span) => {
    if (span.kind === 'train' || span.kind === 'valid') trained = true;
    if (span.kind === 'model-hop') {
      const bytes = trained ? reply.modelBytesOut : reply.modelBytesIn;
      if (bytes !== undefined) span.bytes = bytes;
    }
    return span;
  });
}
