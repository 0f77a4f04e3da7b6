// Virtual-clock simulation of the very scheduler objects the real runs use (paper section 4.1):
// each config's per-sub-epoch runtime is drawn once, ls with probability p, else lm, and is the same
// on every segment. An event queue (binary heap on virtual time) holds the running units; whenever
// a unit finishes, the scheduler is told and the idle segments ask for work again.
import { createAsyncRandomScheduler } from './async-random.js';
import { deriveSeed, mulberry32 } from './random.js';
import { createRoundRobinScheduler } from './round-robin.js';
import { wakeHintOf } from './hints.js';
import type { Scheduler, Unit } from './types.js';

export type SimulatedScheduler = 'sync' | 'async';

export interface SimulateOptions {
  scheduler: SimulatedScheduler;
  configs: number;
  workers: number;
  epochs: number;
  /** Probability that a config is short (runtime ls); otherwise it is long (lm). */
  p: number;
  ls: number;
  lm: number;
  seed: number;
}

export interface SimulationResult {
  /** Virtual time at which the last unit finished. */
  makespan: number;
  units: number;
  /** Busy worker-time over workers * makespan. */
  busyFraction: number;
}

/** Per-config sub-epoch runtimes: ls with probability p, else lm. Depends only on the seed. */
export function drawRuntimes(configs: number, p: number, ls: number, lm: number, seed: number): Float64Array {
  const random = mulberry32(deriveSeed(seed, 1));
  const runtimes = new Float64Array(configs);
  for (let c = 0; c < configs; c++) runtimes[c] = random() < p ? ls : lm;
  return runtimes;
}

function checkSimulation(options: Omit<SimulateOptions, 'scheduler' | 'workers' | 'seed'>): void {
  const { configs, epochs, p, ls, lm } = options;
  if (!Number.isInteger(configs) || configs < 1)
    throw new RangeError(`simulate: configs must be an integer >= 1, got ${configs}`);
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new RangeError(`simulate: epochs must be an integer >= 1, got ${epochs}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`simulate: p must be in [0, 1], got ${p}`);
  if (!(ls > 0) || !Number.isFinite(ls)) throw new RangeError(`simulate: ls must be a positive number, got ${ls}`);
  if (!(lm > 0) || !Number.isFinite(lm)) throw new RangeError(`simulate: lm must be a positive number, got ${lm}`);
}

function checkWorkers(workers: number): void {
  if (!Number.isInteger(workers) || workers < 1)
    throw new RangeError(`simulate: workers must be an integer >= 1, got ${workers}`);
}

/** Runs a schedule to the end on a virtual clock, each unit taking runtimes[unit.config]. */
export function simulateSchedule(scheduler: Scheduler, workers: number, runtimes: ArrayLike<number>): SimulationResult {
  const queue = new EventQueue(workers);
  const hint = wakeHintOf(scheduler);
  let seenWakeups = -1;
  // The unit each segment runs, as numbers: storing the unit objects in an array would cost a
  // write barrier per unit; the completion gets a fresh (cheap, short-lived) object instead.
  const runningConfig = new Int32Array(workers);
  const runningEpoch = new Int32Array(workers);
  // Segments that asked and were told to wait; they ask again after every completion.
  const waiting = new Int32Array(workers);
  let waitingCount = 0;
  let finished = 0;
  let now = 0;
  let busy = 0;
  let units = 0;

  for (let s = 0; s < workers; s++) {
    const decision = scheduler.next(s);
    if (decision === 'wait') waiting[waitingCount++] = s;
    else if (decision === 'done') finished++;
    else {
      const runtime = start(decision, s);
      busy += runtime;
      units++;
      queue.push(runtime, s);
    }
  }

  while (queue.size > 0) {
    now = queue.minTime();
    const s = queue.minSegment();
    scheduler.completed({ config: runningConfig[s], segment: s, epoch: runningEpoch[s] });
    const decision = scheduler.next(s);
    if (decision === 'wait' || decision === 'done') {
      queue.pop();
      if (decision === 'wait') waiting[waitingCount++] = s;
      else finished++;
    } else {
      // The segment goes on at once: one sift-down instead of a pop and a push.
      const runtime = start(decision, s);
      busy += runtime;
      units++;
      queue.replaceMin(now + runtime, s);
    }
    // The completion may have released work for the segments that wait (a batch or an epoch
    // ended, a config became free); the segment that just asked is not asked twice.
    const count = decision === 'wait' ? waitingCount - 1 : waitingCount;
    if (count > 0 && (hint === undefined || hint.wakeups() !== seenWakeups)) {
      if (hint !== undefined) seenWakeups = hint.wakeups();
      let kept = 0;
      for (let i = 0; i < count; i++) {
        const w = waiting[i];
        const d = scheduler.next(w);
        if (d === 'wait') waiting[kept++] = w;
        else if (d === 'done') finished++;
        else {
          const runtime = start(d, w);
          busy += runtime;
          units++;
          queue.push(now + runtime, w);
        }
      }
      if (count < waitingCount) waiting[kept++] = s;
      waitingCount = kept;
    }
  }

  function start(unit: Unit, s: number): number {
    if (unit.segment !== s) throw new Error(`simulate: segment ${s} was handed a unit of segment ${unit.segment}`);
    const config = unit.config;
    runningConfig[s] = config;
    runningEpoch[s] = unit.epoch;
    return runtimes[config];
  }

  if (finished !== workers) {
    throw new Error(
      `simulate: the scheduler stalled at time ${now} with ${waitingCount} segment(s) waiting and nothing running`,
    );
  }
  return { makespan: now, units, busyFraction: now > 0 ? busy / (workers * now) : 1 };
}

/**
 * Binary min-heap of running segments keyed by finish time: at most one entry per segment, so its
 * capacity is the number of workers. Events at equal times come out in an order fixed by the heap's
 * operations (deterministic, not FIFO): a tie-break key would make every sift walk past the many
 * equal times of a two-valued runtime distribution and cost about 2.5x.
 */
export class EventQueue {
  readonly times: Float64Array;
  readonly segments: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.times = new Float64Array(capacity);
    this.segments = new Int32Array(capacity);
  }

  minTime(): number {
    return this.times[0];
  }

  minSegment(): number {
    return this.segments[0];
  }

  push(time: number, segment: number): void {
    if (this.size === this.times.length) throw new Error('EventQueue: full');
    const times = this.times;
    const segments = this.segments;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent];
      if (pt <= time) break;
      times[i] = pt;
      segments[i] = segments[parent];
      i = parent;
    }
    times[i] = time;
    segments[i] = segment;
  }

  /** Removes the earliest event and returns its segment. */
  pop(): number {
    const top = this.segments[0];
    const size = --this.size;
    if (size > 0) this.siftDown(this.times[size], this.segments[size]);
    return top;
  }

  /** Replaces the earliest event by (time, segment). */
  replaceMin(time: number, segment: number): void {
    this.siftDown(time, segment);
  }

  private siftDown(time: number, segment: number): void {
    const times = this.times;
    const segments = this.segments;
    const size = this.size;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      let ct = times[child];
      const right = child + 1;
      if (right < size) {
        const rt = times[right];
        if (rt < ct) {
          child = right;
          ct = rt;
        }
      }
      if (ct >= time) break;
      times[i] = ct;
      segments[i] = segments[child];
      i = child;
    }
    times[i] = time;
    segments[i] = segment;
  }
}

export function simulate(options: SimulateOptions): SimulationResult {
  checkSimulation(options);
  checkWorkers(options.workers);
  const { configs, workers, epochs, p, ls, lm, seed } = options;
  const runtimes = drawRuntimes(configs, p, ls, lm, seed);
  const schedulerOptions = { configs, segments: workers, epochs, seed: deriveSeed(seed, 2) };
  const scheduler =
    options.scheduler === 'sync'
      ? createRoundRobinScheduler(schedulerOptions)
      : options.scheduler === 'async'
        ? createAsyncRandomScheduler(schedulerOptions)
        : (() => {
            throw new RangeError(`simulate: unknown scheduler ${String(options.scheduler)}`);
          })();
  return simulateSchedule(scheduler, workers, runtimes);
}

/** Mean sub-epoch runtime: lbar = p * ls + (1 - p) * lm. */
export function meanRuntime(p: number, ls: number, lm: number): number {
  return p * ls + (1 - p) * lm;
}

/**
 * Proposition 1: the expected speedup of the asynchronous scheduler over the synchronous one with
 * M >> W, the synchronous epoch being M batches of W units each lasting as long as its slowest
 * config, the asynchronous one M * lbar: p^W * ls / lbar + (1 - p^W) * lm / lbar. The round-robin
 * with M >= W is exactly M batches of W, so simulated speedups compare on the same basis; they
 * drift from it by the drawn share of short configs (finite M) and by the asynchronous epoch's
 * tail, where a segment's last unvisited configs are busy elsewhere (O(W / M), see the tests).
 * With M < W the round-robin runs W batches of M units and the proposition does not apply.
 */
export function proposition1(p: number, workers: number, ls: number, lm: number): number {
  const lbar = meanRuntime(p, ls, lm);
  const pw = p ** workers;
  return (pw * ls) / lbar + ((1 - pw) * lm) / lbar;
}

/** Proposition 2: the speedup's upper bound eta = lm / lbar (Proposition 1 as W grows). */
export function proposition2(p: number, ls: number, lm: number): number {
  return lm / meanRuntime(p, ls, lm);
}

export interface SweepOptions {
  configs: number;
  workers: readonly number[];
  p: readonly number[];
  ls: number;
  lm: number;
  epochs: number;
  seed: number;
  /** Simulations per point; repeat r uses seed + r for both schedulers (same runtimes). */
  repeats?: number;
}

export interface SweepPoint {
  workers: number;
  p: number;
  ls: number;
  lm: number;
  configs: number;
  epochs: number;
  /** Means over the repeats. */
  syncMakespan: number;
  asyncMakespan: number;
  /** Mean over the repeats of syncMakespan / asyncMakespan. */
  speedup: number;
  prop1: number;
  prop2: number;
}

export function sweep(options: SweepOptions): SweepPoint[] {
  const { configs, ls, lm, epochs, seed } = options;
  const repeats = options.repeats ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new RangeError(`sweep: repeats must be an integer >= 1, got ${repeats}`);
  if (options.workers.length === 0) throw new RangeError('sweep: workers must list at least one value');
  if (options.p.length === 0) throw new RangeError('sweep: p must list at least one value');
  const points: SweepPoint[] = [];
  for (const workers of options.workers) {
    checkWorkers(workers);
    for (const p of options.p) {
      checkSimulation({ configs, epochs, p, ls, lm });
      let syncSum = 0;
      let asyncSum = 0;
      let speedupSum = 0;
      for (let r = 0; r < repeats; r++) {
        const base = { configs, workers, epochs, p, ls, lm, seed: seed + r };
        const sync = simulate({ ...base, scheduler: 'sync' });
        const async = simulate({ ...base, scheduler: 'async' });
        syncSum += sync.makespan;
        asyncSum += async.makespan;
        speedupSum += sync.makespan / async.makespan;
      }
      points.push({
        workers,
        p,
        ls,
        lm,
        configs,
        epochs,
        syncMakespan: syncSum / repeats,
        asyncMakespan: asyncSum / repeats,
        speedup: speedupSum / repeats,
        prop1: proposition1(p, workers, ls, lm),
        prop2: proposition2(p, ls, lm),
      });
    }
  }
  return points;
}
