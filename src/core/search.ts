// Searches (docs/search.md): a space of hyperparameters, the searcher that walks it, and the number
// of configs in flight. A workload with a search proposes its configs during the run instead of
// listing them up front; run.json records the spec, the events record every proposal.
import { z } from 'zod';

export const SEARCHERS = ['grid', 'random', 'tpe', 'asha'] as const;
export type SearcherName = (typeof SEARCHERS)[number];

/** One dimension of a search space. `log`: sampled uniformly in log space. */
export const searchParamSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('choice'), values: z.array(z.union([z.string(), z.number()])).min(1) }),
  z.object({ kind: z.literal('float'), low: z.number(), high: z.number(), log: z.boolean() }),
  z.object({ kind: z.literal('int'), low: z.number().int(), high: z.number().int(), log: z.boolean() }),
]);
export type SearchParam = z.infer<typeof searchParamSchema>;

/** Named dimensions; a point is sampled dimension by dimension in this order. */
export const searchSpaceSchema = z.record(z.string(), searchParamSchema);
export type SearchSpace = z.infer<typeof searchSpaceSchema>;

/** One point of a space: a value per dimension. */
export const searchParamsSchema = z.record(z.string(), z.union([z.string(), z.number()]));
export type SearchParams = z.infer<typeof searchParamsSchema>;

export const searchSpecSchema = z.object({
  searcher: z.enum(SEARCHERS),
  space: searchSpaceSchema,
  /** New configs the search proposes (grid: the length of `points`). */
  trials: z.number().int().min(1),
  /** Jobs in flight at once at most: the paper's degree of parallelism. */
  inFlight: z.number().int().min(1),
  /** Epochs a config trains at most (the workload's epochs). */
  maxEpochs: z.number().int().min(1),
  /** Seeds the searcher's random choices (random points, TPE's sampler, ASHA's new configs). */
  seed: z.number().int(),
  /** grid: the points, proposed in this order. */
  points: z.array(searchParamsSchema).optional(),
  /** tpe: trials sampled at random before TPE models the results (Optuna's n_startup_trials). */
  startupTrials: z.number().int().min(0).optional(),
  /** asha: the first rung's epochs and the reduction factor eta (rungs at minEpochs * eta^i). */
  minEpochs: z.number().int().min(1).optional(),
  reduction: z.number().int().min(2).optional(),
});
export type SearchSpec = z.infer<typeof searchSpecSchema>;
