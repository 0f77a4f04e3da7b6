// Cerebro's asynchronous random scheduler for configs that arrive and stop (a search,
// docs/search.md). For an idle segment: choose uniformly at random among the configs that train
// now, are not training anywhere and have not visited this segment in their current epoch.
// No barrier between configs: a config starts its next epoch as soon as its last unit of the
// current one completed (the approach validates it within that unit), whatever the others do.
// Candidates are scanned in arrival order, O(configs) per decision: searches run tens to hundreds
// of configs at once, not the grid scheduler's ten thousand.
import { ConfigLedger, type ConfigEpochs, type DynamicScheduler, type DynamicSchedulerOptions } from './dynamic.js';
import type { WakeHint } from './hints.js';
import { Mulberry32 } from './random.js';
import type { Decision, Unit } from './types.js';
import { checkSegment, formatUnit } from './validate.js';

export function createDynamicAsyncScheduler(options: DynamicSchedulerOptions): DynamicScheduler & WakeHint {
  const { segments } = options;
  if (!Number.isInteger(segments) || segments < 1)
    throw new RangeError(`scheduler: segments must be an integer >= 1, got ${segments}`);
  const random = new Mulberry32(options.seed);
  const ledger = new ConfigLedger(segments);
  /** Configs that still have epochs to train, in arrival order. */
  let active: number[] = [];
  const runningConfig = new Int32Array(segments).fill(-1);
  let closed = false;
  let started = false;
  let wakeups = 0;

  function settle(unit: Unit, what: string): void {
    const s = unit.segment;
    checkSegment(s, segments);
    const state = ledger.configs.get(unit.config);
    if (runningConfig[s] !== unit.config || !state || state.busyOn !== s || state.epoch !== unit.epoch) {
      const r = runningConfig[s];
      throw new Error(
        `async-dynamic: ${what} unit ${formatUnit(unit)} is not running ` +
          `(segment ${s} runs ${r < 0 ? 'nothing' : `config ${r}`}); ` +
          'a unit completed twice or never handed out',
      );
    }
    runningConfig[s] = -1;
    state.busyOn = -1;
    wakeups++;
  }

  return {
    next(idleSegment: number): Decision {
      checkSegment(idleSegment, segments);
      started = true;
      if (runningConfig[idleSegment] >= 0) {
        throw new Error(
          `async-dynamic: segment ${idleSegment} was given a second unit while ` +
            `running config ${runningConfig[idleSegment]}`,
        );
      }
      const free: number[] = [];
      for (const c of active) {
        const state = ledger.configs.get(c)!;
        if (state.busyOn < 0 && !state.visited[idleSegment]) free.push(c);
      }
      if (free.length === 0) return closed && active.length === 0 ? 'done' : 'wait';
      const config = free[random.int(free.length)];
      const state = ledger.configs.get(config)!;
      state.busyOn = idleSegment;
      runningConfig[idleSegment] = config;
      return { config, segment: idleSegment, epoch: state.epoch };
    },

    completed(unit: Unit): void {
      settle(unit, 'completed');
      const state = ledger.configs.get(unit.config)!;
      state.visited[unit.segment] = 1;
      state.visitedCount++;
      if (state.visitedCount === segments) {
        ledger.finishEpoch(unit.config);
        if (state.epoch >= state.to) active = active.filter((c) => c !== unit.config);
      }
    },

    failed(unit: Unit): void {
      settle(unit, 'failed');
    },

    add(config: number, epochs: ConfigEpochs): void {
      if (closed) throw new Error(`async-dynamic: config ${config} added after close()`);
      if (ledger.add(config, epochs, 'async-dynamic')) active.push(config);
      wakeups++;
    },

    close(): void {
      closed = true;
      wakeups++;
    },

    trainedEpochs: (config: number) => ledger.trainedEpochs(config),

    restore(done: readonly Unit[]): void {
      if (started || ledger.configs.size > 0)
        throw new Error('async-dynamic: restore() must be called before any add() or next()');
      ledger.restore(done);
    },

    wakeups: () => wakeups,
  };
}
