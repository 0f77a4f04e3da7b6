// The scheduler contract (docs/architecture.md, "Schedulers"): pure, no I/O, no clock. The same implementation
// is driven by real workers (wall clock, src/sched/driver.ts) and by the simulator (virtual clock).

import type { Unit } from '../core/unit.js';

export type { Unit } from '../core/unit.js';

export type Decision = Unit | 'wait' | 'done';

export interface Scheduler {
  /** What the idle segment should run next: a unit, nothing for now, or nothing ever again. */
  next(idleSegment: number): Decision;
  completed(unit: Unit): void;
  /** The unit's work was lost (a worker failed): it goes back to the queue. */
  failed(unit: Unit): void;
  /** Units already completed by an earlier, interrupted attempt of the run (resume). */
  restore?(done: readonly Unit[]): void;
}

export interface SchedulerOptions {
  configs: number;
  segments: number;
  epochs: number;
  /** Seed for the random choices of the async scheduler. */
  seed: number;
}

export type SchedulerFactory = (options: SchedulerOptions) => Scheduler;
