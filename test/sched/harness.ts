// Drives a scheduler through a randomized interleaving of asks, completions and failures, checking
// the invariants every scheduler must keep.
import { expect } from 'vitest';
import { mulberry32 } from '../../src/sched/random.js';
import type { Scheduler, SchedulerOptions, Unit } from '../../src/sched/types.js';

export interface ExerciseOptions extends SchedulerOptions {
  /** Probability that a running unit fails instead of completing. */
  failRate?: number;
  /** Units done before the scheduler starts (already restored into it). */
  restored?: readonly Unit[];
  /** Seed of the interleaving (not of the scheduler). */
  interleaving?: number;
  /** Called with every unit handed out. */
  onHandOut?: (unit: Unit, completedInEpoch: (epoch: number) => number) => void;
}

export interface ExerciseResult {
  handedOut: Unit[];
  completed: Unit[];
  failures: number;
  maxConcurrent: number;
}

export const key = (u: Unit): string => `${u.epoch}:${u.config}:${u.segment}`;

export function exercise(scheduler: Scheduler, options: ExerciseOptions): ExerciseResult {
  const { configs, segments, epochs } = options;
  const random = mulberry32(options.interleaving ?? 12345);
  const failRate = options.failRate ?? 0;
  const done = new Set<string>((options.restored ?? []).map(key));
  const doneInEpoch = new Array<number>(epochs).fill(0);
  for (const u of options.restored ?? []) doneInEpoch[u.epoch]++;
  const runningOn = new Map<number, Unit>(); // segment -> unit
  const configOn = new Map<number, number>(); // config -> segment
  const finished = new Set<number>();
  const waiting = new Set<number>();
  const handedOut: Unit[] = [];
  const completed: Unit[] = [];
  let failures = 0;
  let maxConcurrent = 0;
  const perEpoch = configs * segments;

  for (let steps = 0; ; steps++) {
    if (steps > 100 * (epochs * perEpoch + 10)) throw new Error('exercise: no progress');
    const idle: number[] = [];
    for (let s = 0; s < segments; s++) if (!runningOn.has(s) && !finished.has(s) && !waiting.has(s)) idle.push(s);
    const running = [...runningOn.values()];
    if (idle.length === 0 && running.length === 0) break;
    // Either an idle segment asks, or a running unit settles.
    if (idle.length > 0 && (running.length === 0 || random() < 0.5)) {
      const s = idle[Math.floor(random() * idle.length)];
      const decision = scheduler.next(s);
      if (decision === 'done') {
        finished.add(s);
      } else if (decision === 'wait') {
        waiting.add(s);
      } else {
        expect(decision.segment).toBe(s);
        expect(decision.config).toBeGreaterThanOrEqual(0);
        expect(decision.config).toBeLessThan(configs);
        // Epoch barrier: every unit of earlier epochs completed.
        for (let e = 0; e < decision.epoch; e++) expect(doneInEpoch[e], `epoch ${e} complete`).toBe(perEpoch);
        expect(done.has(key(decision)), `unit ${key(decision)} handed out after it completed`).toBe(false);
        expect(configOn.has(decision.config), `config ${decision.config} on two segments`).toBe(false);
        options.onHandOut?.(decision, (e) => doneInEpoch[e]);
        runningOn.set(s, decision);
        configOn.set(decision.config, s);
        handedOut.push(decision);
        maxConcurrent = Math.max(maxConcurrent, runningOn.size);
      }
    } else {
      const unit = running[Math.floor(random() * running.length)];
      runningOn.delete(unit.segment);
      configOn.delete(unit.config);
      if (random() < failRate) {
        failures++;
        scheduler.failed(unit);
      } else {
        expect(done.has(key(unit)), `unit ${key(unit)} completed twice`).toBe(false);
        done.add(key(unit));
        doneInEpoch[unit.epoch]++;
        completed.push(unit);
        scheduler.completed(unit);
      }
      // Any settle may release waiting segments.
      waiting.clear();
    }
  }
  expect(finished.size, 'every segment was told done').toBe(segments);
  // Every config visited every segment exactly once per epoch.
  expect(done.size).toBe(epochs * perEpoch);
  for (let e = 0; e < epochs; e++) {
    for (let c = 0; c < configs; c++) {
      for (let s = 0; s < segments; s++) expect(done.has(`${e}:${c}:${s}`)).toBe(true);
    }
  }
  return { handedOut, completed, failures, maxConcurrent };
}

/** All units of the given epochs. */
export function allUnits(configs: number, segments: number, epochs: number[]): Unit[] {
  const units: Unit[] = [];
  for (const epoch of epochs) {
    for (let config = 0; config < configs; config++) {
      for (let segment = 0; segment < segments; segment++) units.push({ config, segment, epoch });
    }
  }
  return units;
}
