// The searcher contract (docs/search.md): a searcher proposes jobs one at a time and is told each
// job's result. Jobs are numbered in the order ask() returned them, trials (new configs) in the
// order they were proposed; the trial number is the config's id in the run.
import type { SearchParams } from '../core/search.js';

/** What a searcher asks for next. */
export type Proposal =
  /** A new config, to train epochs [0, epochs). ASHA: `rung` 0. */
  | { kind: 'new'; params: SearchParams; epochs: number; rung?: number }
  /** ASHA: train trial `trial` on, up to `epochs` (the next rung's). */
  | { kind: 'promote'; trial: number; epochs: number; rung: number };

/**
 * 'wait': nothing to propose until another result is told (ASHA with no config to promote and no
 * new one left); 'done': nothing ever again.
 */
export type Ask = Proposal | 'wait' | 'done';

export interface Searcher {
  readonly name: string;
  ask(): Promise<Ask>;
  /** The validation loss after job `job`'s last epoch; null when it was not finite (the config diverged). */
  tell(job: number, value: number | null): Promise<void>;
  /** Releases what the searcher holds (the Optuna child). */
  close(): Promise<void>;
}
