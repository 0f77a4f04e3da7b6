// What the segments of an in-DBMS statement did besides the engine's own spans (docs/measurement.md,
// "Breakdown"): dispatch, the executor's gaps, waits for the slowest segment and the results'
// return, as src/metrics/attribution.ts defines them, emitted for udaf, ctq and ma.
import type { RunContext } from '../../src/core/approach.js';
import type { SpanKind } from '../../src/core/events.js';
import type { EngineSpan } from '../../src/engine/indb.js';
import { statementSpans } from '../../src/metrics/attribution.js';
import type { Interval } from '../../src/metrics/summarize.js';

/** One segment's engine spans in a statement. */
export interface SegmentSpans {
  segment: number;
  spans: readonly EngineSpan[];
}

export interface StatementShape {
  /** The segments the statement involves: every segment of a barrier statement, or the one it targets. */
  segments: readonly number[];
  epoch: number;
  /** Kind of the dispatch part (default 'schedule'). */
  dispatch?: SpanKind;
  /** Kind of the results' return (default 'schedule'; ma: 'model-hop', the trained models' collect). */
  collect?: SpanKind;
}

/** Runs `statement` and returns its rows with the interval it took. */
export async function timed<T>(statement: () => Promise<T>): Promise<{ result: T; interval: Interval }> {
  const start = Date.now();
  const result = await statement();
  return { result, interval: { start, end: Date.now() } };
}

/** Emits the spans that account for a statement's time outside its engine spans. */
export function emitStatementSpans(
  ctx: Pick<RunContext, 'emit'>,
  statement: Interval,
  results: readonly SegmentSpans[],
  shape: StatementShape,
): void {
  const engineSpans = results.flatMap((r) => r.spans.map(({ start, end }) => ({ segment: r.segment, start, end })));
  const { segments, epoch, dispatch, collect } = shape;
  for (const span of statementSpans({ statement, engineSpans, segments, epoch, dispatch, collect })) ctx.emit(span);
}
