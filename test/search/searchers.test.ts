import { describe, expect, it } from 'vitest';
import type { SearchSpace } from '../../src/core/search.js';
import { ashaRungs, createAshaSearcher } from '../../src/search/asha.js';
import { createGridSearcher } from '../../src/search/grid.js';
import { createRandomSearcher } from '../../src/search/random.js';
import { SearchSession, type SearchJob } from '../../src/search/session.js';
import { inSpace, samplePoint } from '../../src/search/space.js';
import { Mulberry32 } from '../../src/sched/random.js';
import { driveSearch, syntheticLoss } from './drive.js';

const SPACE: SearchSpace = {
  arch: { kind: 'choice', values: ['resnet18', 'resnet34'] },
  learningRate: { kind: 'float', low: 1e-5, high: 1e-1, log: true },
  l2: { kind: 'choice', values: [1e-4, 1e-6] },
  batchSize: { kind: 'int', low: 16, high: 256, log: true },
};

describe('samplePoint', () => {
  it('draws every dimension within its range, log-uniformly where asked', () => {
    const random = new Mulberry32(7);
    const points = Array.from({ length: 4000 }, () => samplePoint(SPACE, random));
    for (const p of points) expect(inSpace(SPACE, p)).toBe(true);
    const decades = new Set(points.map((p) => Math.floor(Math.log10(p.learningRate as number))));
    expect([...decades].sort((a, b) => a - b)).toEqual([-5, -4, -3, -2]);
    // Log-uniform: each of the four decades holds about a quarter of the draws.
    const inDecade = points.filter((p) => (p.learningRate as number) < 1e-4).length / points.length;
    expect(Math.abs(inDecade - 0.25)).toBeLessThan(0.03);
    const batches = points.map((p) => p.batchSize as number);
    expect(Math.min(...batches)).toBe(16);
    expect(Math.max(...batches)).toBe(256);
    expect(batches.filter((b) => b < 64).length / batches.length).toBeGreaterThan(0.4);
    expect(new Set(points.map((p) => p.arch))).toEqual(new Set(['resnet18', 'resnet34']));
  });
});

describe('grid and random searchers', () => {
  it('grid proposes its points in order, each for every epoch, then is done', async () => {
    const points = [{ a: 1 }, { a: 2 }, { a: 3 }];
    const run = await driveSearch(createGridSearcher(points, 4), 2, () => 1, 3);
    expect(run.jobs.map((j) => j.params)).toEqual(points);
    expect(run.jobs.every((j) => j.from === 0 && j.to === 4)).toBe(true);
    expect(run.maxInFlight).toBe(2);
  });

  it('random proposes `trials` points that depend on the seed only', async () => {
    const make = (seed: number) => createRandomSearcher({ space: SPACE, trials: 6, maxEpochs: 3, seed });
    const a = await driveSearch(make(1), 3, (j) => syntheticLoss(j.params!, 3), 1);
    const b = await driveSearch(make(1), 3, () => 5, 2);
    const c = await driveSearch(make(2), 3, () => 5, 2);
    expect(a.jobs).toHaveLength(6);
    expect(b.jobs.map((j) => j.params)).toEqual(a.jobs.map((j) => j.params));
    expect(c.jobs.map((j) => j.params)).not.toEqual(a.jobs.map((j) => j.params));
  });
});

describe('SearchSession: the canonical order', () => {
  it('proposes job k after exactly the results of jobs 0..k-P, told in job order', async () => {
    for (const order of [1, 2, 3, 4]) {
      const run = await driveSearch(
        createRandomSearcher({ space: SPACE, trials: 10, maxEpochs: 2, seed: 5 }),
        3,
        () => 1,
        order,
      );
      run.jobs.forEach((job, k) => {
        expect(job.told).toBe(Math.max(0, k - 3 + 1));
      });
      expect(run.told.map((t) => t.job.job)).toEqual(run.told.map((_, i) => i));
      expect(run.maxInFlight).toBeLessThanOrEqual(3);
    }
  });

  it('holds a later result back until the earlier ones arrived', async () => {
    const session = new SearchSession(createRandomSearcher({ space: SPACE, trials: 5, maxEpochs: 1, seed: 1 }), 2);
    expect((await session.start()).jobs.map((j) => j.job)).toEqual([0, 1]);
    const early = await session.report(1, 0.5);
    expect(early).toEqual({ jobs: [], told: [] });
    // Job 0's result opens job 2; job 1's, which arrived first, is then due and opens job 3.
    const late = await session.report(0, 0.7);
    expect(late.told.map((t) => [t.job.job, t.value])).toEqual([
      [0, 0.7],
      [1, 0.5],
    ]);
    expect(late.jobs.map((j) => [j.job, j.told])).toEqual([
      [2, 1],
      [3, 2],
    ]);
    expect((await session.report(3, 0.1)).jobs).toEqual([]);
    expect((await session.report(2, 0.2)).jobs.map((j) => [j.job, j.told])).toEqual([[4, 3]]);
    expect(await session.report(1, 9)).toEqual({ jobs: [], told: [] });
  });
});

describe('ASHA', () => {
  it('rungs are minEpochs * eta^i, capped by the maximum', () => {
    expect(ashaRungs(1, 3, 9)).toEqual([1, 3, 9]);
    expect(ashaRungs(1, 2, 6)).toEqual([1, 2, 4, 6]);
    expect(ashaRungs(2, 3, 2)).toEqual([2]);
    expect(() => ashaRungs(0, 3, 9)).toThrow(/minEpochs/);
  });

  it('stops the worst configs at the first rung and promotes the best', async () => {
    const searcher = createAshaSearcher({ space: SPACE, trials: 9, minEpochs: 1, reduction: 3, maxEpochs: 9, seed: 4 });
    const value = (j: SearchJob): number => j.config; // config 0 best, config 8 worst
    const run = await driveSearch(searcher, 3, value, 11);
    const first = run.jobs.filter((j) => j.rung === 0);
    expect(first.map((j) => j.config)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(first.every((j) => j.from === 0 && j.to === 1)).toBe(true);
    const promoted = run.jobs.filter((j) => j.rung === 1).map((j) => j.config);
    expect(promoted.length).toBeLessThanOrEqual(3);
    expect(promoted).toContain(0);
    // The worst third never leaves the first rung.
    for (const worst of [6, 7, 8]) expect(promoted).not.toContain(worst);
    for (const j of run.jobs.filter((j) => j.rung === 1)) expect([j.from, j.to]).toEqual([1, 3]);
    expect(run.jobs.filter((j) => j.rung === 2).map((j) => [j.config, j.from, j.to])).toEqual([[0, 3, 9]]);
  });

  it('ranks a diverged config (null) last', async () => {
    const searcher = createAshaSearcher({ space: SPACE, trials: 3, minEpochs: 1, reduction: 3, maxEpochs: 3, seed: 4 });
    const run = await driveSearch(searcher, 3, (j) => (j.config === 0 ? null : 1 + j.config), 2);
    expect(run.jobs.filter((j) => j.rung === 1).map((j) => j.config)).toEqual([1]);
  });

  it('makes the same decisions whatever order the jobs finish in', async () => {
    const make = () =>
      createAshaSearcher({ space: SPACE, trials: 12, minEpochs: 1, reduction: 2, maxEpochs: 8, seed: 9 });
    const loss = (j: SearchJob, params: Map<number, SearchJob>) => syntheticLoss(params.get(j.config)!.params!, j.to);
    const runs = [];
    for (const order of [1, 2, 3, 4, 5]) {
      const firstJobs = new Map<number, SearchJob>();
      const searcher = make();
      const run = await driveSearch(
        searcher,
        4,
        (j) => {
          if (j.params) firstJobs.set(j.config, j);
          return loss(j, firstJobs);
        },
        order,
      );
      runs.push(run.jobs.map((j) => [j.job, j.config, j.from, j.to, j.told]));
    }
    for (const run of runs.slice(1)) expect(run).toEqual(runs[0]);
    expect(runs[0].some(([, , from]) => (from as number) > 0)).toBe(true);
  });
});
