// Cerebro's asynchronous random scheduler (model hopper). For an idle segment, choose uniformly at
// random among the configs that are not training anywhere right now and have not yet visited this
// segment in the current epoch; 'wait' when there is none now but the epoch is unfinished. Epoch
// barrier (Cerebro's semantics): units of epoch e + 1 are handed out only after all M * W units of
// epoch e completed. Pure: no I/O, no clock; randomness from a seeded PRNG.
//
// Data structures, sized for M = 10^4 configs on W = 64 segments (6.4M units) in well under a
// second of simulation:
// - per segment s, a permutation order[s] of the configs whose first left[s] entries are the
//   configs still unvisited in this epoch. Handing out the config at index i swaps it with the last
//   unvisited entry (O(1)); a new epoch just resets left[s] = M, since the visited configs are
//   exactly the tail of the permutation. Stored as 16-bit numbers where M allows (halves the cache
//   misses of the random draws). A failure, which is rare, finds the config's index by a linear
//   search instead of keeping an inverse permutation (that would double the memory traffic of the
//   hot path); restore partitions each segment's permutation once;
// - busyOn[c]: the segment config c trains on, or -1; runningConfig[s]: the config segment s runs,
//   or -1 (only units of the current epoch can be running).
// A decision draws a random unvisited config and rejects it while it is busy: at most W - 1 configs
// are busy, so while many configs are unvisited a draw succeeds with probability >= 1/2. After a few
// rejected draws it scans the (then few) unvisited configs. Each path picks uniformly among the free
// unvisited configs, so their mixture does too. No decision scans all M configs.
import { Mulberry32 } from './random.js';
import type { WakeHint } from './hints.js';
import type { Decision, Scheduler, SchedulerOptions, Unit } from './types.js';
import { checkOptions, checkSegment, checkUnit, formatUnit, groupRestored } from './validate.js';

/** Random draws before falling back to a scan of the unvisited configs. */
const DRAWS = 8;

export function createAsyncRandomScheduler(options: SchedulerOptions): Scheduler & WakeHint {
  checkOptions(options);
  const { configs: m, segments: w, epochs } = options;
  const random = new Mulberry32(options.seed);
  const unitsPerEpoch = m * w;

  const order = m <= 0x10000 ? new Uint16Array(m * w) : new Int32Array(m * w);
  for (let s = 0; s < w; s++) {
    const base = s * m;
    for (let c = 0; c < m; c++) order[base + c] = c;
  }
  const left = new Int32Array(w).fill(m);
  const busyOn = new Int32Array(m).fill(-1);
  const runningConfig = new Int32Array(w).fill(-1);
  let epoch = 0;
  let doneInEpoch = 0;
  let started = false;
  /** Completions and failures: each frees a config, which may give a waiting segment work. */
  let wakeups = 0;
  /** Units finished by an earlier attempt, applied when their epoch starts. */
  let restored: Map<number, Unit[]> | undefined;

  /** Index of config c in segment s's permutation: a linear search, only for the rare paths. */
  function indexOf(s: number, c: number): number {
    const base = s * m;
    for (let i = 0; i < m; i++) if (order[base + i] === c) return i;
    throw new Error(`async-random: config ${c} missing from segment ${s}'s permutation`);
  }

  /**
   * Marks restored units visited at the start of their epoch: per segment, one pass moves the
   * restored configs to the visited tail (O(M) per segment, not O(M) per unit).
   */
  function visitRestored(units: readonly Unit[]): void {
    const bySegment = new Map<number, number[]>();
    for (const u of units) {
      const list = bySegment.get(u.segment);
      if (list === undefined) bySegment.set(u.segment, [u.config]);
      else list.push(u.config);
    }
    const mark = new Uint8Array(m);
    for (const [s, configs] of bySegment) {
      for (const c of configs) mark[c] = 1;
      const base = s * m;
      let i = 0;
      let j = m - 1;
      for (;;) {
        while (i <= j && mark[order[base + i]] === 0) i++;
        while (i <= j && mark[order[base + j]] === 1) j--;
        if (i >= j) break;
        const t = order[base + i];
        order[base + i] = order[base + j];
        order[base + j] = t;
      }
      left[s] = i;
      for (const c of configs) mark[c] = 0;
    }
  }

  /** Puts config c back among the unvisited configs of segment s (failure). */
  function unvisit(s: number, c: number): void {
    const base = s * m;
    const i = indexOf(s, c);
    const first = left[s];
    if (i < first) throw new Error(`async-random: config ${c} has not visited segment ${s} in epoch ${epoch}`);
    order[base + i] = order[base + first];
    order[base + first] = c;
    left[s] = first + 1;
  }

  /** Starts epoch `epoch` (and skips epochs that restored units finish entirely). */
  function startEpoch(): void {
    while (epoch < epochs) {
      left.fill(m);
      doneInEpoch = 0;
      const units = restored?.get(epoch);
      if (units !== undefined) {
        restored!.delete(epoch);
        visitRestored(units);
        doneInEpoch = units.length;
      }
      if (doneInEpoch < unitsPerEpoch) return;
      epoch++;
    }
  }

  /** Hands the unvisited config at index i of segment s's permutation to segment s. */
  function take(s: number, i: number): Unit {
    const base = s * m;
    const c = order[base + i];
    if (busyOn[c] >= 0) {
      throw new Error(`async-random: config ${c} would train on segments ${busyOn[c]} and ${s} at once`);
    }
    const last = left[s] - 1;
    order[base + i] = order[base + last];
    order[base + last] = c;
    left[s] = last;
    busyOn[c] = s;
    runningConfig[s] = c;
    return { config: c, segment: s, epoch };
  }

  /** Checks that the unit is the one its segment runs, and frees the segment and the config. */
  function settle(unit: Unit, what: string): void {
    const s = unit.segment;
    const c = unit.config;
    if (!(s >= 0 && s < w) || runningConfig[s] !== c || c < 0 || unit.epoch !== epoch || epoch >= epochs) {
      checkUnit(unit, options);
      const r = runningConfig[s];
      throw new Error(
        `async-random: ${what} unit ${formatUnit(unit)} is not running ` +
          `(segment ${s} runs ${r < 0 ? 'nothing' : formatUnit({ config: r, segment: s, epoch })}); ` +
          `a unit completed twice or never handed out`,
      );
    }
    runningConfig[s] = -1;
    busyOn[c] = -1;
  }

  startEpoch();

  return {
    next(idleSegment: number): Decision {
      const s = idleSegment;
      if (!(s >= 0 && s < w)) checkSegment(s, w);
      started = true;
      if (epoch >= epochs) return 'done';
      if (runningConfig[s] >= 0) {
        const current = formatUnit({ config: runningConfig[s], segment: s, epoch });
        throw new Error(`async-random: segment ${s} was given a second unit while running ${current}`);
      }
      const n = left[s];
      if (n === 0) return 'wait';
      const base = s * m;
      for (let k = 0; k < DRAWS; k++) {
        const i = random.int(n);
        if (busyOn[order[base + i]] < 0) return take(s, i);
      }
      let free = 0;
      for (let i = 0; i < n; i++) if (busyOn[order[base + i]] < 0) free++;
      if (free === 0) return 'wait';
      let k = random.int(free);
      for (let i = 0; i < n; i++) {
        if (busyOn[order[base + i]] < 0) {
          if (k === 0) return take(s, i);
          k--;
        }
      }
      throw new Error('async-random: unreachable');
    },

    completed(unit: Unit): void {
      settle(unit, 'completed');
      wakeups++;
      doneInEpoch++;
      if (doneInEpoch === unitsPerEpoch) {
        epoch++;
        startEpoch();
      }
    },

    failed(unit: Unit): void {
      settle(unit, 'failed');
      unvisit(unit.segment, unit.config);
      wakeups++;
    },

    wakeups(): number {
      return wakeups;
    },

    restore(done: readonly Unit[]): void {
      if (started) throw new Error('async-random: restore() must be called before the first next()');
      restored = groupRestored(done, options);
      epoch = 0;
      startEpoch();
    },
  };
}
