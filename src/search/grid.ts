// The fixed list (today's grids): its points in order, each trained for every epoch.
import type { SearchParams } from '../core/search.js';
import type { Ask, Searcher } from './types.js';

export function createGridSearcher(points: readonly SearchParams[], maxEpochs: number): Searcher {
  let next = 0;
  return {
    name: 'grid',
    ask: async (): Promise<Ask> =>
      next < points.length ? { kind: 'new', params: { ...points[next++] }, epochs: maxEpochs } : 'done',
    tell: async () => undefined,
    close: async () => undefined,
  };
}
