// Timing helpers every layer uses to leave no time unexplained (docs/measurement.md, "Breakdown"):
// an envelope span around a piece of work (the finer spans emitted inside it win the time they
// cover, KIND_PRIORITY in src/metrics/summarize.ts), and the idle time of segments whose share of a
// concurrent step ended before the others'.
import type { Span, SpanKind } from './events.js';

export type SpanTags = Pick<Span, 'segment' | 'config' | 'epoch'>;
export type EmitSpan = (span: Span) => void;

function spanOf(kind: SpanKind, start: number, end: number, tags: SpanTags): Span {
  const span: Span = { type: 'span', kind, start, end };
  if (tags.segment !== undefined) span.segment = tags.segment;
  if (tags.config !== undefined) span.config = tags.config;
  if (tags.epoch !== undefined) span.epoch = tags.epoch;
  return span;
}

/** Runs `work` and emits its interval as a span of `kind`, whether it succeeds or fails. */
export async function withSpan<T>(emit: EmitSpan, kind: SpanKind, tags: SpanTags, work: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await work();
  } finally {
    emit(spanOf(kind, start, Date.now(), tags));
  }
}

/**
 * Runs one loop per segment (0..segments-1) concurrently and resolves when all are done; a segment
 * whose loop ended before the last one is idle until then (an 'idle' span). Rejects as Promise.all.
 */
export async function everySegment(
  emit: EmitSpan,
  segments: number,
  loop: (segment: number) => Promise<void>,
): Promise<void> {
  const ended: number[] = new Array<number>(segments).fill(0);
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      await loop(segment);
      ended[segment] = Date.now();
    }),
  );
  const last = Math.max(...ended);
  ended.forEach((end, segment) => {
    if (last > end) emit(spanOf('idle', end, last, { segment }));
  });
}
