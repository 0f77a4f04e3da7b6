// The UDAF approach's synchronous round-robin (paper section 3.1, appendix B). An epoch is
// R = max(M, W) sub-epoch batches; in batch b, segment s trains config (s + b) mod R when that is
// < M, else the segment idles in that batch. Each batch is a barrier: the next batch starts only
// when every unit of the current one completed. Pure: no I/O, no clock.
import type { WakeHint } from './hints.js';
import type { Decision, Scheduler, SchedulerOptions, Unit } from './types.js';
import { checkOptions, checkSegment, checkUnit, formatUnit, groupRestored } from './validate.js';

const PENDING = 0;
const RUNNING = 1;
const COMPLETED = 2;
const IDLE = 3;

/** The number of sub-epoch batches per epoch: R = max(M, W). */
export function roundRobinBatchCount(configs: number, segments: number): number {
  return Math.max(configs, segments);
}

/** The config segment `segment` trains in batch `batch`, or -1 where the segment idles. */
export function roundRobinConfig(configs: number, segments: number, batch: number, segment: number): number {
  const r = roundRobinBatchCount(configs, segments);
  const config = (segment + batch) % r;
  return config < configs ? config : -1;
}

/**
 * The per-epoch plan (epoch 0): R batches, each the units that run together (idle segments are left
 * out). The UDAF approach builds one SQL statement per batch from it.
 */
export function roundRobinBatches(configs: number, segments: number): Unit[][] {
  checkOptions({ configs, segments, epochs: 1, seed: 0 });
  const batches: Unit[][] = [];
  const r = roundRobinBatchCount(configs, segments);
  for (let b = 0; b < r; b++) {
    const batch: Unit[] = [];
    for (let s = 0; s < segments; s++) {
      const config = roundRobinConfig(configs, segments, b, s);
      if (config >= 0) batch.push({ config, segment: s, epoch: 0 });
    }
    batches.push(batch);
  }
  return batches;
}

export function createRoundRobinScheduler(options: SchedulerOptions): Scheduler & WakeHint {
  checkOptions(options);
  const { configs, segments, epochs } = options;
  const batchCount = roundRobinBatchCount(configs, segments);
  const status = new Uint8Array(segments);
  const batchConfig = new Int32Array(segments);
  let epoch = 0;
  let batch = 0;
  /** Units of the current batch not yet completed. */
  let remaining = 0;
  let started = false;
  let wakeups = 0;
  /** Units finished by an earlier attempt, keyed per epoch by segment * configs + config. */
  let restored: Map<number, Set<number>> | undefined;

  /** Sets up the batch at (epoch, batch), skipping batches that restored units already cover. */
  function enterBatch(): void {
    while (epoch < epochs) {
      const done = restored?.get(epoch);
      remaining = 0;
      for (let s = 0; s < segments; s++) {
        const config = (s + batch) % batchCount;
        batchConfig[s] = config;
        if (config >= configs) {
          status[s] = IDLE;
        } else if (done?.has(s * configs + config)) {
          status[s] = COMPLETED;
        } else {
          status[s] = PENDING;
          remaining++;
        }
      }
      if (remaining > 0) return;
      advance();
    }
  }

  function advance(): void {
    batch++;
    if (batch === batchCount) {
      batch = 0;
      restored?.delete(epoch);
      epoch++;
    }
  }

  function running(unit: Unit, what: string): void {
    checkUnit(unit, options);
    const s = unit.segment;
    if (epoch >= epochs || unit.epoch !== epoch || batchConfig[s] !== unit.config || status[s] !== RUNNING) {
      const state = epoch >= epochs ? 'the schedule is done' : `epoch ${epoch}, batch ${batch}`;
      throw new Error(
        `round-robin: ${what} unit ${formatUnit(unit)} is not running (${state}); ` +
          `a unit completed twice or never handed out`,
      );
    }
  }

  enterBatch();

  return {
    next(idleSegment: number): Decision {
      checkSegment(idleSegment, segments);
      started = true;
      if (epoch >= epochs) return 'done';
      if (status[idleSegment] !== PENDING) return 'wait';
      status[idleSegment] = RUNNING;
      return { config: batchConfig[idleSegment], segment: idleSegment, epoch };
    },

    completed(unit: Unit): void {
      running(unit, 'completed');
      status[unit.segment] = COMPLETED;
      remaining--;
      if (remaining === 0) {
        advance();
        enterBatch();
        wakeups++;
      }
    },

    failed(unit: Unit): void {
      running(unit, 'failed');
      status[unit.segment] = PENDING;
      wakeups++;
    },

    wakeups(): number {
      return wakeups;
    },

    restore(done: readonly Unit[]): void {
      if (started) throw new Error('round-robin: restore() must be called before the first next()');
      const byEpoch = groupRestored(done, options);
      restored = new Map();
      for (const [e, units] of byEpoch) {
        restored.set(e, new Set(units.map((u) => u.segment * configs + u.config)));
      }
      epoch = 0;
      batch = 0;
      enterBatch();
    },
  };
}
