// What a statement that runs on several segments at once costs besides the engine's own spans
// (docs/measurement.md, "Breakdown"). Pure: the statement's interval and the engine spans its
// segments reported in, the spans that account for the rest out.
//
// For a pushed-down aggregate (udaf's batch and validation statements, MA's per-config statement),
// each segment's time inside the statement is:
//   dispatch  statement start .. the segment's first engine span: planning, shipping the plan (and,
//             for MA, the model as a parameter: the broadcast), starting the scan;
//   its scan  first .. last engine span: the engine's own spans; the gaps between them are the
//             executor fetching and detoasting (decompressing) the next buffer before the engine
//             sees it, so they count as 'data' (the paper's Data Transmission includes the
//             decompression for in-DBMS approaches). An envelope span loses every instant a
//             finer span covers (KIND_PRIORITY), so only the gaps end up there;
//   barrier   its last engine span .. the slowest segment's last engine span: 'idle';
//   collect   the slowest segment's last engine span .. statement end: the results' trip back
//             through the coordinator (for MA, the trained models: the collect).
// A segment with no engine span in the statement (no unit in this batch, or not the segment a
// targeted statement runs on) is idle for all of it.
import type { Span, SpanKind } from '../core/events.js';
import type { Interval } from './summarize.js';

export interface StatementSpansInput {
  statement: Interval;
  /** The engine spans of this statement, with the segment each ran on. */
  engineSpans: readonly { segment: number; start: number; end: number }[];
  /** Every segment of the cluster. */
  segments: readonly number[];
  /** The epoch the statement belongs to (tags the spans so they count in its window). */
  epoch?: number;
  /** Kind of the dispatch part (default 'schedule'; MA: 'model-hop', the broadcast). */
  dispatch?: SpanKind;
  /** Kind of the collect part (default 'schedule'; MA: 'model-hop', the collect). */
  collect?: SpanKind;
}

export function statementSpans(input: StatementSpansInput): Span[] {
  const { statement, engineSpans, segments, epoch } = input;
  const dispatch = input.dispatch ?? 'schedule';
  const collect = input.collect ?? 'schedule';
  const out: Span[] = [];
  const push = (kind: SpanKind, start: number, end: number, segment: number): void => {
    const from = Math.max(start, statement.start);
    const to = Math.min(end, statement.end);
    if (!(to > from)) return;
    const span: Span = { type: 'span', kind, start: from, end: to, segment };
    if (epoch !== undefined) span.epoch = epoch;
    out.push(span);
  };
  const bySegment = new Map<number, { first: number; last: number }>();
  for (const s of engineSpans) {
    const known = bySegment.get(s.segment);
    if (known === undefined) bySegment.set(s.segment, { first: s.start, last: s.end });
    else {
      known.first = Math.min(known.first, s.start);
      known.last = Math.max(known.last, s.end);
    }
  }
  const slowest = bySegment.size > 0 ? Math.max(...[...bySegment.values()].map((r) => r.last)) : statement.start;
  for (const segment of segments) {
    const own = bySegment.get(segment);
    if (own === undefined) {
      push('idle', statement.start, statement.end, segment);
      continue;
    }
    push(dispatch, statement.start, own.first, segment);
    push('data', own.first, own.last, segment);
    push('idle', own.last, slowest, segment);
    push(collect, slowest, statement.end, segment);
  }
  return out;
}

/** 0..segments-1. */
export function segmentIds(segments: number): number[] {
  return Array.from({ length: segments }, (_, i) => i);
}
