// The wall-clock driver loop of real runs: one async loop per segment asks the scheduler for work,
// runs it, and reports back. The scheduler stays pure; everything about time, failure and
// cancellation lives here, and so does the measurement of what the scheduling costs
// (docs/measurement.md, "Breakdown"): each unit's dispatch as a 'schedule' envelope around it, and
// every moment a segment has no unit to run as 'idle'.
import type { EmitSpan } from '../core/spans.js';
import type { Scheduler, Unit } from './types.js';
import { formatUnit } from './validate.js';
import { errorMessage } from '../core/errors.js';

export interface RunScheduleOptions {
  scheduler: Scheduler;
  segments: number;
  runUnit: (unit: Unit) => Promise<void>;
  /**
   * Awaited when the last unit of an epoch completed, before any unit of the next epoch runs
   * (validation happens here), and after the last epoch before runSchedule resolves. Called for
   * every epoch in which this call ran a unit; epochs that restored units finished entirely are not
   * reported again.
   */
  onEpochComplete?: (epoch: number) => Promise<void>;
  /**
   * Each config keeps its own epochs (a dynamic scheduler, src/sched/dynamic.ts): units of any
   * epochs interleave, there is no epoch gate and onEpochComplete is not called; runUnit validates
   * a config whose epoch its unit completed.
   */
  perConfigEpochs?: boolean;
  /** Told about every failed attempt (attempt counts from 1), the last one included. */
  onUnitFailed?: (unit: Unit, error: unknown, attempt: number) => void;
  /** Attempts per unit before the whole run fails (default 3). */
  maxAttempts?: number;
  signal?: AbortSignal;
  /**
   * Receives the driver's spans: per segment, a 'schedule' span around every runUnit call (tagged
   * with the unit; the engine's finer spans inside it take the time they cover, so what is left is
   * dispatch), and an 'idle' span for every stretch without a unit to run: told to wait, waiting
   * for the previous epoch's validation before the next epoch's unit, done while others still run.
   */
  emit?: EmitSpan;
}

export interface RunScheduleResult {
  /** Units completed by this call. */
  completed: number;
  /** Failed attempts that were put back to the scheduler and retried. */
  retried: number;
}

/** The run was cancelled through its AbortSignal. */
export class AbortError extends Error {
  override name = 'AbortError';
}

/** A unit failed maxAttempts times; `cause` is the last error. */
export class UnitFailedError extends Error {
  override name = 'UnitFailedError';
  constructor(
    readonly unit: Unit,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(`unit ${formatUnit(unit)} failed ${attempts} time(s); last error: ${errorMessage(cause)}`, { cause });
  }
}

function abortErrorOf(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new AbortError(reason === undefined ? 'the run was aborted' : `the run was aborted: ${errorMessage(reason)}`, {
    cause: reason,
  });
}

export async function runSchedule(options: RunScheduleOptions): Promise<RunScheduleResult> {
  const { scheduler, segments, runUnit, onUnitFailed, signal } = options;
  const onEpochComplete = options.perConfigEpochs ? undefined : options.onEpochComplete;
  const emit: EmitSpan = options.emit ?? (() => undefined);
  const idle = (segment: number, start: number): void => {
    const end = Date.now();
    if (end > start) emit({ type: 'span', kind: 'idle', start, end, segment });
  };
  const dispatchSpan = (segment: number, unit: Unit, start: number): void =>
    emit({ type: 'span', kind: 'schedule', start, end: Date.now(), segment, config: unit.config, epoch: unit.epoch });
  const doneAt = new Map<number, number>();
  const maxAttempts = options.maxAttempts ?? 3;
  if (!Number.isInteger(segments) || segments < 1) {
    throw new RangeError(`runSchedule: segments must be an integer >= 1, got ${segments}`);
  }
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`runSchedule: maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  }
  if (signal?.aborted) throw abortErrorOf(signal);

  // Stopping: the first fatal error (or the abort) wins; every loop returns at its next step and
  // the run rejects at once, without waiting for units still running (their results are ignored).
  let stopped: { error: unknown } | undefined;
  let rejectStop!: (error: unknown) => void;
  const stopPromise = new Promise<never>((_, reject) => {
    rejectStop = reject;
  });
  stopPromise.catch(() => undefined);
  const stop = (error: unknown): void => {
    if (stopped !== undefined) return;
    stopped = { error };
    rejectStop(error);
  };
  const onAbort = (): void => stop(abortErrorOf(signal!));
  signal?.addEventListener('abort', onAbort, { once: true });

  // Waking: segments told to 'wait' sleep until any unit settles.
  let wakeUp!: () => void;
  let wakePromise = new Promise<void>((resolve) => {
    wakeUp = resolve;
  });
  let sleeping = 0;
  let finished = 0;
  const wake = (): void => {
    const resolve = wakeUp;
    wakePromise = new Promise<void>((r) => {
      wakeUp = r;
    });
    sleeping = 0;
    resolve();
  };

  // Epoch hooks: the first unit of epoch e + 1 that the scheduler hands out (it does so only after
  // every unit of epoch e completed) opens a gate that runs onEpochComplete(e); every unit of
  // epoch e + 1 waits for the gate before it runs.
  let lastEpoch: number | undefined;
  let gate: Promise<void> = Promise.resolve();
  const enterEpoch = (epoch: number): Promise<void> => {
    if (lastEpoch === undefined) {
      lastEpoch = epoch;
    } else if (epoch > lastEpoch) {
      const closed = lastEpoch;
      lastEpoch = epoch;
      gate = gate.then(() => onEpochComplete?.(closed));
    } else if (epoch < lastEpoch) {
      throw new Error(`runSchedule: the scheduler handed out a unit of epoch ${epoch} after one of epoch ${lastEpoch}`);
    }
    return gate;
  };

  const attempts = new Map<string, number>();
  let completed = 0;
  let retried = 0;

  const loop = async (segment: number): Promise<void> => {
    for (;;) {
      if (stopped !== undefined) return;
      const decision = scheduler.next(segment);
      if (decision === 'done') {
        finished++;
        doneAt.set(segment, Date.now());
        return;
      }
      if (decision === 'wait') {
        if (sleeping + finished === segments - 1) {
          throw new Error(
            `runSchedule: the scheduler told segment ${segment} to wait while no unit runs and every other segment ` +
              `waits or is done`,
          );
        }
        sleeping++;
        const waitStart = Date.now();
        await Promise.race([wakePromise, stopPromise]);
        idle(segment, waitStart);
        continue;
      }
      const unit = decision;
      if (unit.segment !== segment) {
        throw new Error(`runSchedule: segment ${segment} was handed unit ${formatUnit(unit)} of another segment`);
      }
      if (!options.perConfigEpochs) {
        const gateStart = Date.now();
        await Promise.race([enterEpoch(unit.epoch), stopPromise]);
        idle(segment, gateStart);
        if (stopped !== undefined) return;
      }
      const key = `${unit.epoch}:${unit.config}:${unit.segment}`;
      const dispatched = Date.now();
      try {
        await Promise.race([(async () => runUnit(unit))(), stopPromise]);
      } catch (error) {
        dispatchSpan(segment, unit, dispatched);
        if (stopped !== undefined) return;
        const attempt = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, attempt);
        onUnitFailed?.(unit, error, attempt);
        if (attempt >= maxAttempts) throw new UnitFailedError(unit, attempt, error);
        scheduler.failed(unit);
        retried++;
        wake();
        // Let the segments just woken ask first, so the config can go on elsewhere instead of
        // straight back to the worker that failed it.
        await Promise.race([new Promise<void>((resolve) => setImmediate(resolve)), stopPromise]);
        continue;
      }
      dispatchSpan(segment, unit, dispatched);
      if (stopped !== undefined) return;
      scheduler.completed(unit);
      completed++;
      wake();
    }
  };

  try {
    const loops: Promise<void>[] = [];
    for (let s = 0; s < segments; s++) loops.push(loop(s).catch(stop));
    await Promise.race([Promise.all(loops), stopPromise]);
    if (stopped !== undefined) throw stopped.error;
    await Promise.race([gate, stopPromise]);
    if (lastEpoch !== undefined && onEpochComplete !== undefined) {
      await Promise.race([onEpochComplete(lastEpoch), stopPromise]);
    }
    return { completed, retried };
  } catch (error) {
    stop(error);
    throw stopped!.error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Segments that ran out of units waited for the others (and the last validation).
    for (const [segment, at] of doneAt) idle(segment, at);
  }
}
