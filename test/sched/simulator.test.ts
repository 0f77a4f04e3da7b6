import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/sched/random.js';
import { roundRobinBatches } from '../../src/sched/round-robin.js';
import {
  drawRuntimes,
  EventQueue,
  meanRuntime,
  proposition1,
  proposition2,
  simulate,
  sweep,
} from '../../src/sched/simulator.js';

describe('EventQueue', () => {
  it('pops events in time order', () => {
    const random = mulberry32(5);
    const q = new EventQueue(50);
    const times: number[] = [];
    for (let s = 0; s < 50; s++) {
      const t = Math.floor(random() * 20);
      times.push(t);
      q.push(t, s);
    }
    const out: number[] = [];
    const segments = new Set<number>();
    while (q.size > 0) {
      out.push(q.minTime());
      segments.add(q.pop());
    }
    expect(out).toEqual([...times].sort((a, b) => a - b));
    expect(segments.size).toBe(50);
  });

  it('replaceMin keeps the heap order', () => {
    const random = mulberry32(9);
    const q = new EventQueue(16);
    for (let s = 0; s < 16; s++) q.push(random() * 10, s);
    let last = -Infinity;
    for (let i = 0; i < 1000; i++) {
      const now = q.minTime();
      expect(now).toBeGreaterThanOrEqual(last);
      last = now;
      q.replaceMin(now + 1 + random() * 5, q.minSegment());
    }
    expect(() => {
      const full = new EventQueue(1);
      full.push(1, 0);
      full.push(2, 1);
    }).toThrow(/full/);
  });
});

describe('simulate', () => {
  const base = { configs: 64, workers: 4, epochs: 2, p: 0.7, ls: 1, lm: 8, seed: 3 };

  it('runs every unit; the synchronous makespan is the sum of the batch maxima', () => {
    const runtimes = drawRuntimes(base.configs, base.p, base.ls, base.lm, base.seed);
    const expected = roundRobinBatches(base.configs, base.workers)
      .map((batch) => Math.max(...batch.map((u) => runtimes[u.config])))
      .reduce((a, b) => a + b, 0);
    const sync = simulate({ ...base, scheduler: 'sync' });
    expect(sync.units).toBe(64 * 4 * 2);
    expect(sync.makespan).toBe(expected * base.epochs);
    const busy = runtimes.reduce((a, b) => a + b, 0) * base.workers * base.epochs;
    expect(sync.busyFraction).toBeCloseTo(busy / (base.workers * sync.makespan), 12);
  });

  it('the asynchronous makespan is at least every segment running every config once per epoch', () => {
    const runtimes = drawRuntimes(base.configs, base.p, base.ls, base.lm, base.seed);
    const perSegment = runtimes.reduce((a, b) => a + b, 0) * base.epochs;
    const async = simulate({ ...base, scheduler: 'async' });
    expect(async.units).toBe(64 * 4 * 2);
    expect(async.makespan).toBeGreaterThanOrEqual(perSegment);
    expect(async.makespan).toBeLessThan(perSegment * 1.2);
    expect(async.busyFraction).toBeGreaterThan(0.8);
  });

  it('is deterministic for a seed, and the seed matters', () => {
    const a = simulate({ ...base, scheduler: 'async' });
    expect(simulate({ ...base, scheduler: 'async' })).toEqual(a);
    expect(simulate({ ...base, seed: 4, scheduler: 'async' }).makespan).not.toBe(a.makespan);
  });

  it('handles fewer configs than workers', () => {
    const sync = simulate({ ...base, configs: 3, workers: 8, scheduler: 'sync' });
    const async = simulate({ ...base, configs: 3, workers: 8, scheduler: 'async' });
    expect(sync.units).toBe(3 * 8 * 2);
    expect(async.units).toBe(3 * 8 * 2);
    expect(async.makespan).toBeLessThanOrEqual(sync.makespan);
  });

  it('rejects bad parameters', () => {
    expect(() => simulate({ ...base, p: 1.5, scheduler: 'sync' })).toThrow(/p must be/);
    expect(() => simulate({ ...base, workers: 0, scheduler: 'sync' })).toThrow(/workers/);
    expect(() => simulate({ ...base, lm: -1, scheduler: 'sync' })).toThrow(/lm/);
    expect(() => simulate({ ...base, scheduler: 'other' as 'sync' })).toThrow(/unknown scheduler/);
  });
});

describe('the closed forms of section 4.1', () => {
  it('Proposition 1 and 2 by hand', () => {
    // p = 0.5, W = 2, ls = 1, lm = 3: lbar = 2; P(batch all short) = 0.25.
    expect(meanRuntime(0.5, 1, 3)).toBe(2);
    expect(proposition1(0.5, 2, 1, 3)).toBeCloseTo(0.25 * 0.5 + 0.75 * 1.5, 12);
    expect(proposition2(0.5, 1, 3)).toBe(1.5);
    // Proposition 1 grows with W towards Proposition 2.
    expect(proposition1(0.9, 1, 1, 8)).toBeCloseTo(1, 12);
    expect(proposition1(0.9, 400, 1, 8)).toBeCloseTo(proposition2(0.9, 1, 8), 9);
  });

  // Proposition 1 models a synchronous epoch as M batches of W units, each lasting as long as its
  // slowest config, and an asynchronous epoch as every segment running all M configs back to back
  // (M * lbar). The round-robin with M >= W is exactly M batches of W, so the simulated speedup is
  // on the same basis. What remains between the two:
  // - finite M: the drawn share of short configs is not exactly p (standard error
  //   sqrt(p(1 - p) / M), about 0.7% of lbar's long part for M = 2000);
  // - the asynchronous epoch barrier: near an epoch's end a segment's few unvisited configs can all
  //   be busy elsewhere and it idles; this tail is O(W * lm) per epoch, O(W / M) relative;
  // - consecutive round-robin batches share W - 1 configs, so their maxima are correlated: no bias
  //   in the mean, a larger variance (hence several repeats).
  // With M = 2000 and W = 8 these stay well inside the 10% asked for (about 1-2% in practice).
  it('for M >> W the simulated speedup is within 10% of Proposition 1', () => {
    const points = sweep({
      configs: 2000,
      workers: [8],
      p: [0.5, 0.8, 0.9, 0.95],
      ls: 1,
      lm: 8,
      epochs: 1,
      seed: 11,
      repeats: 3,
    });
    for (const point of points) {
      expect(Math.abs(point.speedup / point.prop1 - 1), `p = ${point.p}`).toBeLessThan(0.1);
    }
  });

  it('Proposition 2 bounds the speedup across a sweep', () => {
    const points = sweep({
      configs: 500,
      workers: [1, 2, 4, 16, 64],
      p: [0.2, 0.5, 0.9, 0.99],
      ls: 1,
      lm: 8,
      epochs: 2,
      seed: 2,
      repeats: 2,
    });
    for (const point of points) {
      // The exact bound for the drawn runtimes: a batch lasts at most lm, an asynchronous epoch at
      // least the sum of the runtimes. Against lbar(p) it needs a tolerance for the drawn share.
      expect(point.speedup, `W = ${point.workers}, p = ${point.p}`).toBeLessThanOrEqual(point.prop2 * 1.1);
      expect(point.speedup).toBeGreaterThan(0.95);
    }
    for (let seed = 0; seed < 5; seed++) {
      const options = { configs: 100, workers: 16, epochs: 1, p: 0.9, ls: 1, lm: 8, seed };
      const runtimes = drawRuntimes(100, 0.9, 1, 8, seed);
      const lbar = runtimes.reduce((a, b) => a + b, 0) / runtimes.length;
      const speedup =
        simulate({ ...options, scheduler: 'sync' }).makespan / simulate({ ...options, scheduler: 'async' }).makespan;
      expect(speedup).toBeLessThanOrEqual(8 / lbar + 1e-9);
    }
  });

  it('sweep reports one point per (W, p) with the closed forms', () => {
    const points = sweep({ configs: 32, workers: [2, 4], p: [0.5, 0.9], ls: 1, lm: 4, epochs: 1, seed: 1 });
    expect(points.map((p) => [p.workers, p.p])).toEqual([
      [2, 0.5],
      [2, 0.9],
      [4, 0.5],
      [4, 0.9],
    ]);
    for (const point of points) {
      expect(point).toMatchObject({ configs: 32, epochs: 1, ls: 1, lm: 4 });
      expect(point.prop1).toBe(proposition1(point.p, point.workers, 1, 4));
      expect(point.prop2).toBe(proposition2(point.p, 1, 4));
    }
    expect(() => sweep({ configs: 32, workers: [], p: [0.5], ls: 1, lm: 4, epochs: 1, seed: 1 })).toThrow(/workers/);
    expect(() => sweep({ configs: 32, workers: [2], p: [0.5], ls: 1, lm: 4, epochs: 1, seed: 1, repeats: 0 })).toThrow(
      /repeats/,
    );
  });
});

describe('the big case (timing comes from bench/simulate.ts)', () => {
  it('simulates 10,000 configs on 64 workers over 10 epochs in well under 5 s', () => {
    for (const scheduler of ['async', 'sync'] as const) {
      const started = performance.now();
      const result = simulate({ scheduler, configs: 10_000, workers: 64, epochs: 10, p: 0.9, ls: 1, lm: 8, seed: 1 });
      const ms = performance.now() - started;
      expect(result.units).toBe(6_400_000);
      expect(ms, `${scheduler}: ${ms.toFixed(0)} ms`).toBeLessThan(5000);
    }
  });
});
