// MOP over a worker fleet with Cerebro's async random scheduler (export, da; ctq uses the same
// scheduler through SQL). Validation of every config closes each epoch. A search's configs arrive
// during the run instead (docs/search.md): each is validated by the unit that completes its epoch.
import type { RunContext } from '../../src/core/approach.js';
import { createAsyncRandomScheduler } from '../../src/sched/async-random.js';
import { runSchedule } from '../../src/sched/driver.js';
import type { WorkerFleet } from '../../src/engine/fleet.js';
import { runAsyncSearch } from './search-drive.js';
import { errorMessage } from '../../src/core/errors.js';

export async function runMop(ctx: RunContext, fleet: WorkerFleet): Promise<void> {
  const { workload } = ctx;
  if (workload.search) {
    return runAsyncSearch(ctx, fleet.size, {
      trainUnit: (unit) => fleet.trainUnit(unit),
      validate: (config, epoch, segment) => fleet.validateConfig(config, epoch, segment),
    });
  }
  const scheduler = createAsyncRandomScheduler({
    configs: workload.configs.length,
    segments: fleet.size,
    epochs: workload.epochs,
    seed: workload.seed,
  });
  scheduler.restore?.(ctx.epochs.completedUnits);
  for (const epoch of ctx.epochs.unvalidatedCompleteEpochs()) await fleet.validateAll(epoch);
  await runSchedule({
    scheduler,
    segments: fleet.size,
    signal: ctx.signal,
    runUnit: (unit) => fleet.trainUnit(unit),
    emit: ctx.emit,
    onUnitFailed: (unit, error, attempt) =>
      ctx.emit({
        type: 'log',
        level: 'warn',
        message:
          `unit config ${unit.config} on seg${unit.segment} epoch ${unit.epoch} failed ` +
          `(attempt ${attempt}): ${errorMessage(error)}; it goes back to the queue`,
        at: Date.now(),
      }),
    onEpochComplete: (epoch) => fleet.validateAll(epoch),
  });
}
