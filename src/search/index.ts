// The searcher layer (docs/search.md): a searcher made from a workload's search spec.
import type { SearchSpec } from '../core/search.js';
import { createAshaSearcher } from './asha.js';
import { createGridSearcher } from './grid.js';
import { createRandomSearcher } from './random.js';
import { checkSpace } from './space.js';
import { createTpeSearcher } from './tpe.js';
import type { Searcher } from './types.js';

export async function createSearcher(spec: SearchSpec): Promise<Searcher> {
  checkSpace(spec.space);
  const { space, trials, maxEpochs, seed } = spec;
  switch (spec.searcher) {
    case 'grid':
      if (!spec.points || spec.points.length === 0) throw new RangeError('search: a grid needs its points');
      return createGridSearcher(spec.points, maxEpochs);
    case 'random':
      return createRandomSearcher({ space, trials, maxEpochs, seed });
    case 'tpe':
      return createTpeSearcher({ space, trials, maxEpochs, seed, startupTrials: spec.startupTrials ?? 10 });
    case 'asha':
      return createAshaSearcher({ space, trials, maxEpochs, seed, minEpochs: spec.minEpochs ?? 1, reduction: spec.reduction ?? 3 });
  }
}
