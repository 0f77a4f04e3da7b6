// UDAF's synchronous round-robin for configs that arrive and stop (a search, docs/search.md): the
// schedule is a sequence of rounds. A round takes the configs that train at its start (in config
// order), m of them, and runs one epoch of each as the round-robin's R = max(m, W) sub-epoch
// batches (batch b: segment s trains the round's config (s + b) mod R, or idles), each batch a
// barrier. Configs that arrive during a round wait for the next one; the approach validates the
// round's configs between rounds. With every config there from the start for the same epochs,
// the rounds are exactly the fixed-grid round-robin's epochs (round-robin.ts).
import { ConfigLedger, type ConfigEpochs, type DynamicScheduler, type DynamicSchedulerOptions } from './dynamic.js';
import type { WakeHint } from './hints.js';
import { roundRobinBatchCount } from './round-robin.js';
import type { Decision, Unit } from './types.js';
import { checkSegment, formatUnit } from './validate.js';

const PENDING = 0;
const RUNNING = 1;
const COMPLETED = 2;
const IDLE = 3;

export interface RoundScheduler extends DynamicScheduler, WakeHint {
  /** Whether a round is under way (false between rounds: the last one ended, the next not begun). */
  roundOpen(): boolean;
  /** The (config, epoch) pairs the last finished round trained (each config one epoch). */
  lastRound(): readonly { config: number; epoch: number }[];
}

export function createRoundScheduler(options: DynamicSchedulerOptions): RoundScheduler {
  const { segments } = options;
  if (!Number.isInteger(segments) || segments < 1)
    throw new RangeError(`scheduler: segments must be an integer >= 1, got ${segments}`);
  const ledger = new ConfigLedger(segments);
  /** Configs that still have epochs to train, by id. */
  const active = new Set<number>();
  let round: { config: number; epoch: number }[] = [];
  let finishedRound: { config: number; epoch: number }[] = [];
  let open = false;
  let batch = 0;
  let batchCount = 0;
  const status = new Uint8Array(segments);
  const batchConfig = new Int32Array(segments);
  let remaining = 0;
  let closed = false;
  let started = false;
  let wakeups = 0;

  /** Sets up batch `batch` of the open round, skipping batches whose units restored already did. */
  function enterBatch(): void {
    while (batch < batchCount) {
      remaining = 0;
      for (let s = 0; s < segments; s++) {
        const index = (s + batch) % batchCount;
        if (index >= round.length) {
          status[s] = IDLE;
          batchConfig[s] = -1;
          continue;
        }
        const { config } = round[index];
        batchConfig[s] = config;
        const state = ledger.configs.get(config)!;
        if (state.visited[s]) {
          status[s] = COMPLETED;
        } else {
          status[s] = PENDING;
          remaining++;
        }
      }
      if (remaining > 0) return;
      batch++;
    }
    endRound();
  }

  function endRound(): void {
    for (const { config } of round) {
      ledger.finishEpoch(config);
      const state = ledger.configs.get(config)!;
      if (state.epoch >= state.to) active.delete(config);
    }
    finishedRound = round;
    round = [];
    open = false;
    wakeups++;
  }

  function beginRound(): void {
    round = [...active].sort((a, b) => a - b).map((config) => ({ config, epoch: ledger.configs.get(config)!.epoch }));
    if (round.length === 0) return;
    open = true;
    batch = 0;
    batchCount = roundRobinBatchCount(round.length, segments);
    enterBatch();
  }

  function running(unit: Unit, what: string): void {
    checkSegment(unit.segment, segments);
    const s = unit.segment;
    const state = ledger.configs.get(unit.config);
    if (!open || batchConfig[s] !== unit.config || status[s] !== RUNNING || !state || state.epoch !== unit.epoch) {
      throw new Error(
        `rounds: ${what} unit ${formatUnit(unit)} is not running (round batch ${batch}); a unit completed twice or ` +
          `never handed out`,
      );
    }
  }

  return {
    next(idleSegment: number): Decision {
      checkSegment(idleSegment, segments);
      started = true;
      if (!open) beginRound();
      if (!open) return closed ? 'done' : 'wait';
      if (status[idleSegment] !== PENDING) return 'wait';
      status[idleSegment] = RUNNING;
      const config = batchConfig[idleSegment];
      return { config, segment: idleSegment, epoch: ledger.configs.get(config)!.epoch };
    },

    completed(unit: Unit): void {
      running(unit, 'completed');
      status[unit.segment] = COMPLETED;
      const state = ledger.configs.get(unit.config)!;
      state.visited[unit.segment] = 1;
      state.visitedCount++;
      remaining--;
      if (remaining === 0) {
        batch++;
        enterBatch();
        wakeups++;
      }
    },

    failed(unit: Unit): void {
      running(unit, 'failed');
      status[unit.segment] = PENDING;
      wakeups++;
    },

    add(config: number, epochs: ConfigEpochs): void {
      if (closed) throw new Error(`rounds: config ${config} added after close()`);
      if (ledger.add(config, epochs, 'rounds')) active.add(config);
      wakeups++;
    },

    close(): void {
      closed = true;
      wakeups++;
    },

    trainedEpochs: (config: number) => ledger.trainedEpochs(config),
    roundOpen: () => open,
    lastRound: () => finishedRound,

    restore(done: readonly Unit[]): void {
      if (started || ledger.configs.size > 0)
        throw new Error('rounds: restore() must be called before any add() or next()');
      ledger.restore(done);
    },

    wakeups: () => wakeups,
  };
}
