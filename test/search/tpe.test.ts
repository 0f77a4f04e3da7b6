// TPE through the Optuna child (needs /usr/bin/python3 with python3-optuna: bash infra/setup.sh).
import { describe, expect, it } from 'vitest';
import type { SearchSpace } from '../../src/core/search.js';
import { createTpeSearcher } from '../../src/search/tpe.js';
import type { SearchJob } from '../../src/search/session.js';
import { inSpace } from '../../src/search/space.js';
import { driveSearch, syntheticLoss } from './drive.js';

const SPACE: SearchSpace = {
  arch: { kind: 'choice', values: ['resnet18', 'resnet34'] },
  learningRate: { kind: 'float', low: 1e-5, high: 1e-1, log: true },
  l2: { kind: 'choice', values: [1e-4, 1e-6] },
  batchSize: { kind: 'int', low: 16, high: 256, log: true },
};

const tpe = (seed = 3) => createTpeSearcher({ space: SPACE, trials: 10, maxEpochs: 2, seed, startupTrials: 3 });
const points = (jobs: SearchJob[]) => jobs.map((j) => j.params);
const loss = (j: SearchJob) => syntheticLoss(j.params!, 2);

describe('tpe (Optuna TPESampler)', () => {
  it('proposes configs that depend on the results it was told, reproducibly from its seed', async () => {
    const a = await driveSearch(await tpe(), 2, loss, 1);
    expect(a.jobs).toHaveLength(10);
    for (const job of a.jobs) expect(inSpace(SPACE, job.params!)).toBe(true);
    // The same seed and results give the same proposals, whatever order jobs finished in.
    const again = await driveSearch(await tpe(), 2, loss, 7);
    expect(points(again.jobs)).toEqual(points(a.jobs));
    // Other results: the random start-up proposals are the same, the modelled ones differ.
    const inverted = await driveSearch(await tpe(), 2, (j) => -loss(j), 1);
    const startup = 3 + 2 - 1; // proposals made before the 3 start-up trials were all told
    expect(points(inverted.jobs).slice(0, startup)).toEqual(points(a.jobs).slice(0, startup));
    expect(points(inverted.jobs).slice(startup)).not.toEqual(points(a.jobs).slice(startup));
    // Another seed, other proposals.
    const other = await driveSearch(await tpe(4), 2, loss, 1);
    expect(points(other.jobs)).not.toEqual(points(a.jobs));
  });

  it('moves towards the low losses it was told', async () => {
    const run = await driveSearch(
      await createTpeSearcher({ space: SPACE, trials: 24, maxEpochs: 1, seed: 5, startupTrials: 6 }),
      2,
      loss,
      3,
    );
    const mean = (jobs: SearchJob[]) => jobs.reduce((s, j) => s + loss(j), 0) / jobs.length;
    expect(mean(run.jobs.slice(12))).toBeLessThan(mean(run.jobs.slice(0, 6)));
  });

  it('takes a diverged result (null) as a failed trial and goes on', async () => {
    const run = await driveSearch(await tpe(), 3, (j) => (j.config % 2 === 0 ? null : loss(j)), 2);
    expect(run.jobs).toHaveLength(10);
    expect(run.told.filter((t) => t.value === null).length).toBeGreaterThan(0);
  });
});
