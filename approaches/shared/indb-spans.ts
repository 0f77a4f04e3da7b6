// What the segments of an in-DBMS statement did besides the engine's own spans (docs/measurement.md,
// "Breakdown"): dispatch, the executor's gaps, waits for the slowest segment and the results'
// return, as src/metrics/attribution.ts defines them, emitted for udaf, ctq and ma.
import type { RunContext } from '../../src/core/approach.js';
import type { SpanKind } from '../../src/core/events.js';
import { emitEngineSpans, parseStepFrame, type EngineSpan, type StepRow, type Task } from '../../src/engine/indb.js';
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

/**
 * Waits for `work` and for `earlier`, work started before it and still running (ma's average and
 * broadcast of one config while the next config's statement trains); when both fail, the earlier
 * work's failure is the one reported.
 */
export async function alongside<T>(work: Promise<T>, earlier: Promise<void>): Promise<T> {
  const [result, before] = await Promise.allSettled([work, earlier]);
  if (before.status === 'rejected') throw before.reason;
  if (result.status === 'rejected') throw result.reason;
  return result.value;
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

/**
 * Validate configs in one statement (udaf, ma): the segments at once, each row's engine spans and
 * result recorded under its config's epoch. A search validates configs after different epochs
 * together: the statement's own spans count in the latest.
 */
export async function validateInOneStatement(
  ctx: RunContext,
  run: (tasks: Task[]) => Promise<StepRow[]>,
  which: readonly { task: Task; epoch: number }[],
  segments: readonly number[],
): Promise<void> {
  const epochOf = new Map(which.map(({ task, epoch }) => [task.config, epoch]));
  const statement = await timed(() => run(which.map((w) => w.task)));
  const reported: SegmentSpans[] = [];
  for (const row of statement.result) {
    const { result } = parseStepFrame(row.result);
    const epoch = epochOf.get(row.config);
    if (epoch === undefined) throw new Error(`a validation returned config ${row.config}, which it was not asked for`);
    emitEngineSpans(ctx, result.spans, { segment: row.seg, config: row.config, epoch });
    reported.push({ segment: row.seg, spans: result.spans });
    ctx.epochs.validated(epoch, result);
  }
  // The statement ends when the slowest segment does: its dispatch, the barrier, the return.
  const statementEpoch = Math.max(...which.map((w) => w.epoch));
  emitStatementSpans(ctx, statement.interval, reported, { segments, epoch: statementEpoch });
}
