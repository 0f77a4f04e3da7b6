// An optional capability of the schedulers here, beyond the Scheduler contract: a counter of the
// state changes that may give work to a segment that was told to 'wait'. The simulator asks waiting
// segments again only when it moved; without it, it would ask every waiting segment after every
// completion (for the round-robin, W^2 / 2 useless asks per batch).
import type { Scheduler } from './types.js';

export interface WakeHint {
  /** Increases whenever a segment that was told to 'wait' may now get a unit (or 'done'). */
  wakeups(): number;
}

export function wakeHintOf(scheduler: Scheduler): WakeHint | undefined {
  const candidate = scheduler as Scheduler & Partial<WakeHint>;
  return typeof candidate.wakeups === 'function' ? (candidate as WakeHint) : undefined;
}
