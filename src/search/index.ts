// The searcher layer (docs/search.md): a searcher made from a workload's search spec.
import type { SearchSpec } from '../core/search.js';
import { deriveSeed } from '../sched/random.js';
import { createAshaSearcher } from './asha.js';
import { createGridSearcher } from './grid.js';
import { createRandomSearcher } from './random.js';
import { checkSpace } from './space.js';
import { createTpeSearcher } from './tpe.js';
import type { Searcher } from './types.js';

const SEARCH_STREAM = 0x5ea7c;

export async function createSearcher(spec: SearchSpec): Promise<Searcher> {
  checkSpace(spec.space);
  const { space, trials, maxEpochs } = spec;
  // Its own stream of the run's seed, an unsigned 32-bit number (what Optuna's seed takes).
  const seed = deriveSeed(spec.seed, SEARCH_STREAM);
  switch (spec.searcher) {
    case 'grid':
      if (!spec.points || spec.points.length === 0) throw new RangeError('search: a grid needs its points');
      return createGridSearcher(spec.points, maxEpochs);
    case 'random':
      return createRandomSearcher({ space, trials, maxEpochs, seed });
    case 'tpe':
      return createTpeSearcher({ space, trials, maxEpochs, seed, startupTrials: spec.startupTrials ?? 10 });
    case 'asha':
      return createAshaSearcher({
        space,
        trials,
        maxEpochs,
        seed,
        minEpochs: spec.minEpochs ?? 1,
        reduction: spec.reduction ?? 3,
      });
  }
}
