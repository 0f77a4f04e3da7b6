// Asynchronous successive halving (ASHA, Li et al. 2020; docs/search.md). Rungs are epoch counts
// minEpochs * eta^i, capped by maxEpochs. A new config trains to the first rung; whenever a job
// may start, the searcher first looks, from the second-highest rung down, for a config in the top
// 1/eta of the results its rung has so far that was not promoted yet, and promotes the best such
// one to the next rung (it trains on from where it stopped); otherwise it draws a new config. A
// config never promoted is stopped at its rung. New configs are drawn at random from the space.
import type { SearchSpace } from '../core/search.js';
import { Mulberry32 } from '../sched/random.js';
import { samplePoint } from './space.js';
import type { Ask, Searcher } from './types.js';

export interface AshaOptions {
  space: SearchSpace;
  /** New configs to draw. */
  trials: number;
  minEpochs: number;
  /** eta: the share 1/eta of each rung goes on. */
  reduction: number;
  maxEpochs: number;
  seed: number;
}

/** The rungs' epoch counts: minEpochs * eta^i below maxEpochs, then maxEpochs. */
export function ashaRungs(minEpochs: number, reduction: number, maxEpochs: number): number[] {
  if (!Number.isInteger(minEpochs) || minEpochs < 1)
    throw new RangeError(`asha: minEpochs must be an integer >= 1, got ${minEpochs}`);
  if (!Number.isInteger(reduction) || reduction < 2)
    throw new RangeError(`asha: reduction must be an integer >= 2, got ${reduction}`);
  if (!Number.isInteger(maxEpochs) || maxEpochs < minEpochs) {
    throw new RangeError(`asha: maxEpochs must be an integer >= minEpochs (${minEpochs}), got ${maxEpochs}`);
  }
  const rungs: number[] = [];
  for (let epochs = minEpochs; epochs < maxEpochs; epochs *= reduction) rungs.push(epochs);
  rungs.push(maxEpochs);
  return rungs;
}

interface RungResult {
  trial: number;
  value: number;
}

/** Best first: lower loss, then the earlier trial (a fixed order for equal losses). */
function byValue(a: RungResult, b: RungResult): number {
  return a.value - b.value || a.trial - b.trial;
}

export interface AshaState {
  rungs: readonly number[];
  /** Per rung, the results told so far. */
  results: readonly (readonly RungResult[])[];
  /** Per rung, the trials promoted from it. */
  promoted: readonly ReadonlySet<number>[];
}

export function createAshaSearcher(options: AshaOptions): Searcher & { state(): AshaState } {
  const rungs = ashaRungs(options.minEpochs, options.reduction, options.maxEpochs);
  const eta = options.reduction;
  const random = new Mulberry32(options.seed);
  const results: RungResult[][] = rungs.map(() => []);
  const promoted: Set<number>[] = rungs.map(() => new Set());
  /** Per job: its trial and the rung it trains up to. */
  const jobs: { trial: number; rung: number }[] = [];
  let trials = 0;
  let told = 0;

  return {
    name: 'asha',
    async ask(): Promise<Ask> {
      for (let rung = rungs.length - 2; rung >= 0; rung--) {
        const top = [...results[rung]].sort(byValue).slice(0, Math.floor(results[rung].length / eta));
        const next = top.find((r) => !promoted[rung].has(r.trial));
        if (next) {
          promoted[rung].add(next.trial);
          jobs.push({ trial: next.trial, rung: rung + 1 });
          return { kind: 'promote', trial: next.trial, epochs: rungs[rung + 1], rung: rung + 1 };
        }
      }
      if (trials < options.trials) {
        jobs.push({ trial: trials++, rung: 0 });
        return { kind: 'new', params: samplePoint(options.space, random), epochs: rungs[0], rung: 0 };
      }
      return told < jobs.length ? 'wait' : 'done';
    },
    async tell(job: number, value: number | null): Promise<void> {
      const asked = jobs[job];
      if (!asked) throw new Error(`asha: told the result of job ${job}, which was never proposed`);
      results[asked.rung].push({
        trial: asked.trial,
        value: value !== null && Number.isFinite(value) ? value : Infinity,
      });
      told++;
    },
    close: async () => undefined,
    state: () => ({ rungs, results, promoted }),
  };
}
