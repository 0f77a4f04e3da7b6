// Training a search's configs as they arrive (docs/search.md, "Configs that arrive and stop"): the
// loops that feed a SearchRun's jobs to the approaches' execution. Each approach supplies how it
// trains a unit and validates a config; these own the order. Every epoch of every config is
// validated (Figure 12's learning curves); the last epoch of a job is what the searcher hears.
import type { RunContext } from '../../src/core/approach.js';
import type { ModelConfig } from '../../src/core/workload.js';
import type { Unit } from '../../src/core/unit.js';
import { createDynamicAsyncScheduler } from '../../src/sched/async-dynamic.js';
import { runSchedule } from '../../src/sched/driver.js';
import type { DynamicScheduler } from '../../src/sched/dynamic.js';
import { createRoundScheduler } from '../../src/sched/rounds.js';
import type { Scheduler } from '../../src/sched/types.js';
import type { SearchJob } from '../../src/search/session.js';
import { SearchRun, type Arrivals } from './search.js';
import { errorMessage } from '../../src/core/errors.js';

export interface SearchExecution {
  /** Train one sub-epoch (config on a segment's data). */
  trainUnit(unit: Unit): Promise<void>;
  /** Validate a config after its epoch; `segment`: where the epoch ended (where its model is). */
  validate(config: number, epoch: number, segment: number): Promise<void>;
  /** A new config arrived (SearchHooks.onConfig). */
  onConfig?(config: ModelConfig): Promise<void>;
}

/** Jobs that arrived but are not in a scheduler yet, and whether the search will propose more. */
class Inbox {
  private readonly jobs: SearchJob[] = [];
  closed = false;

  take(arrivals: Arrivals): void {
    this.jobs.push(...arrivals.jobs);
    this.closed = arrivals.closed;
  }

  /** Into a dynamic scheduler: each job's epochs, then close() once nothing more can come. */
  admit(scheduler: DynamicScheduler): void {
    for (const job of this.jobs.splice(0)) scheduler.add(job.config, { from: job.from, to: job.to });
    if (this.closed) scheduler.close();
  }

  shift(): SearchJob | undefined {
    return this.jobs.shift();
  }

  get size(): number {
    return this.jobs.length;
  }
}

function failedUnitLog(ctx: RunContext, unit: Unit, error: unknown, attempt: number): void {
  const why = errorMessage(error);
  ctx.emit({
    type: 'log',
    level: 'warn',
    message:
      `unit config ${unit.config} on seg${unit.segment} epoch ${unit.epoch} failed ` +
      `(attempt ${attempt}): ${why}; it goes back to the queue`,
    at: Date.now(),
  });
}

/**
 * Opens the search (replaying an earlier attempt's) and validates the epochs an earlier attempt
 * trained but did not validate, telling the search; `where` says on which segment.
 */
async function openSearch(
  ctx: RunContext,
  execution: SearchExecution,
  inbox: Inbox,
  where: (config: number) => number,
): Promise<SearchRun> {
  const { run, arrivals } = await SearchRun.open(ctx, { onConfig: execution.onConfig });
  try {
    inbox.take(arrivals);
    for (const { config, epoch } of ctx.epochs.unvalidatedConfigEpochs()) {
      await execution.validate(config, epoch, where(config));
      inbox.take(await run.validated(config, epoch));
    }
    return run;
  } catch (error) {
    await run.close();
    throw error;
  }
}

/**
 * Cerebro's async scheduler over the configs the search has in flight (ctq, da, export): the unit
 * that completes a config's epoch validates it on its segment and tells the search, whose new
 * jobs join the scheduler once that unit is completed there. A retried unit skips what it did.
 */
export async function runAsyncSearch(ctx: RunContext, segments: number, execution: SearchExecution): Promise<void> {
  const inbox = new Inbox();
  const run = await openSearch(ctx, execution, inbox, (config) => config % segments);
  try {
    const scheduler = createDynamicAsyncScheduler({ segments, seed: ctx.workload.seed });
    scheduler.restore?.(ctx.epochs.completedUnits);
    inbox.admit(scheduler);
    const feeding: Scheduler = {
      next: (segment) => scheduler.next(segment),
      // A promoted config comes back only after its last unit left the scheduler.
      completed: (unit) => {
        scheduler.completed(unit);
        inbox.admit(scheduler);
      },
      failed: (unit) => scheduler.failed(unit),
    };
    await runSchedule({
      scheduler: feeding,
      segments,
      signal: ctx.signal,
      perConfigEpochs: true,
      runUnit: async (unit) => {
        const { config, epoch } = unit;
        if (!ctx.epochs.isUnitDone(unit)) await execution.trainUnit(unit);
        if (!ctx.epochs.epochTrained(config, epoch)) return;
        if (!ctx.epochs.isValidated(config, epoch)) await execution.validate(config, epoch, unit.segment);
        inbox.take(await run.validated(config, epoch));
      },
      onUnitFailed: (unit, error, attempt) => failedUnitLog(ctx, unit, error, attempt),
    });
    if (!run.done)
      throw new Error('the search stopped proposing before it was done (a scheduler with nothing left to run)');
  } finally {
    await run.close();
  }
}

/** One sub-epoch batch of UDAF's rounds: the units every segment runs at once (one statement). */
export type RoundBatch = (units: Unit[]) => Promise<void>;

/**
 * UDAF's round-robin rebuilt per round over the configs in flight (src/sched/rounds.ts): each
 * batch of a round is one call of `runBatch`; between rounds the round's configs are validated
 * (`validateRound`, one statement) and the search hears them; configs that arrived join the next round.
 */
export async function runRoundSearch(
  ctx: RunContext,
  segments: number,
  execution: Omit<SearchExecution, 'trainUnit' | 'validate'> & {
    runBatch: RoundBatch;
    validateRound(configs: readonly { config: number; epoch: number }[]): Promise<void>;
  },
): Promise<void> {
  const inbox = new Inbox();
  const validateOne = (config: number, epoch: number): Promise<void> => execution.validateRound([{ config, epoch }]);
  const run = await openSearch(
    ctx,
    { ...execution, trainUnit: () => Promise.resolve(), validate: validateOne },
    inbox,
    (c) => c % segments,
  );
  try {
    const scheduler = createRoundScheduler({ segments, seed: ctx.workload.seed });
    scheduler.restore?.(ctx.epochs.completedUnits);
    inbox.admit(scheduler);
    for (;;) {
      ctx.signal.throwIfAborted();
      const batch: Unit[] = [];
      let finished = 0;
      for (let s = 0; s < segments; s++) {
        const decision = scheduler.next(s);
        if (decision === 'done') finished++;
        else if (decision !== 'wait') batch.push(decision);
      }
      if (finished === segments) break;
      if (batch.length === 0)
        throw new Error('the round scheduler handed out an empty batch while the search was not done');
      await execution.runBatch(batch);
      for (const unit of batch) scheduler.completed(unit);
      if (scheduler.roundOpen()) continue;
      const round = scheduler.lastRound().filter(({ config, epoch }) => !ctx.epochs.isValidated(config, epoch));
      if (round.length > 0) await execution.validateRound(round);
      for (const { config, epoch } of scheduler.lastRound()) inbox.take(await run.validated(config, epoch));
      inbox.admit(scheduler);
    }
    if (!run.done) throw new Error('the search stopped proposing before it was done');
  } finally {
    await run.close();
  }
}

/**
 * The Hyperopt-Spark analogue (task-parallel): each worker takes the next job and trains it alone,
 * every epoch a pass over all the shards of its own full replica, validating after each epoch.
 * Units an earlier attempt finished are skipped.
 */
export async function runJobsPerWorker(
  ctx: RunContext,
  workers: number,
  segments: number,
  execution: {
    trainUnit(unit: Unit, worker: number): Promise<void>;
    validate(config: number, epoch: number, worker: number): Promise<void>;
    onConfig?: SearchExecution['onConfig'];
  },
): Promise<void> {
  const inbox = new Inbox();
  const run = await openSearch(
    ctx,
    { ...execution, trainUnit: (unit) => execution.trainUnit(unit, 0) },
    inbox,
    (config) => config % workers,
  );
  let wake: () => void = () => undefined;
  let changed = new Promise<void>((resolve) => (wake = resolve));
  const notify = (): void => {
    const resolve = wake;
    changed = new Promise<void>((r) => (wake = r));
    resolve();
  };
  let busy = 0;
  let failure: unknown;
  const loop = async (worker: number): Promise<void> => {
    for (;;) {
      if (failure !== undefined) return;
      ctx.signal.throwIfAborted();
      const job = inbox.shift();
      if (!job) {
        if (inbox.closed && busy === 0) return;
        if (busy === 0) throw new Error('the search proposes nothing while no job runs and it is not done');
        await changed;
        continue;
      }
      busy++;
      try {
        for (let epoch = job.from; epoch < job.to; epoch++) {
          for (let segment = 0; segment < segments; segment++) {
            ctx.signal.throwIfAborted();
            const unit = { config: job.config, segment, epoch };
            if (!ctx.epochs.isUnitDone(unit)) await execution.trainUnit(unit, worker);
          }
          if (!ctx.epochs.isValidated(job.config, epoch)) await execution.validate(job.config, epoch, worker);
        }
        inbox.take(await run.validated(job.config, job.to - 1));
      } finally {
        busy--;
        notify();
      }
    }
  };
  try {
    await Promise.all(
      Array.from({ length: workers }, (_, worker) =>
        loop(worker).catch((error: unknown) => {
          failure ??= error;
          notify();
        }),
      ),
    );
    if (failure !== undefined) throw failure;
    if (!run.done) throw new Error('the search stopped proposing before it was done');
  } finally {
    await run.close();
  }
}
