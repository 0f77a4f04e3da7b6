// Random search: `trials` points drawn from the space by a seeded generator, each trained for every
// epoch. The draws depend on the seed only, not on results.
import type { SearchSpace } from '../core/search.js';
import { Mulberry32 } from '../sched/random.js';
import { samplePoint } from './space.js';
import type { Ask, Searcher } from './types.js';

export function createRandomSearcher(options: {
  space: SearchSpace;
  trials: number;
  maxEpochs: number;
  seed: number;
}): Searcher {
  const random = new Mulberry32(options.seed);
  let proposed = 0;
  return {
    name: 'random',
    async ask(): Promise<Ask> {
      if (proposed >= options.trials) return 'done';
      proposed++;
      return { kind: 'new', params: samplePoint(options.space, random), epochs: options.maxEpochs };
    },
    tell: async () => undefined,
    close: async () => undefined,
  };
}
