import { describe, expect, it } from 'vitest';
import { createAsyncRandomScheduler } from '../../src/sched/async-random.js';
import { mulberry32 } from '../../src/sched/random.js';
import type { Unit } from '../../src/sched/types.js';
import { allUnits, exercise, key } from './harness.js';

const make = (configs: number, segments: number, epochs: number, seed = 1) =>
  createAsyncRandomScheduler({ configs, segments, epochs, seed });

describe('mulberry32', () => {
  it('is deterministic per seed and uniform enough', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    expect(mulberry32(43)()).not.toBe(mulberry32(42)());
  });
});

describe('createAsyncRandomScheduler', () => {
  it.each([
    { configs: 8, segments: 3, epochs: 3, failRate: 0 },
    { configs: 3, segments: 8, epochs: 2, failRate: 0 },
    { configs: 5, segments: 5, epochs: 2, failRate: 0.15 },
    { configs: 40, segments: 4, epochs: 2, failRate: 0.05 },
    { configs: 1, segments: 1, epochs: 3, failRate: 0.3 },
    { configs: 2, segments: 6, epochs: 2, failRate: 0.2 },
  ])('keeps the invariants over randomized interleavings (%o)', (opts) => {
    let failures = 0;
    for (let seed = 0; seed < 8; seed++) {
      const options = { ...opts, seed };
      const result = exercise(createAsyncRandomScheduler(options), { ...options, interleaving: 1000 + seed });
      failures += result.failures;
      expect(result.maxConcurrent).toBeLessThanOrEqual(Math.min(opts.configs, opts.segments));
    }
    if (opts.failRate > 0) expect(failures).toBeGreaterThan(0);
  });

  it('hands out no unit of the next epoch before all units of the epoch completed', () => {
    const s = make(2, 2, 2);
    const a = s.next(0) as Unit;
    const b = s.next(1) as Unit;
    s.completed(a);
    s.completed(b);
    const c = s.next(0) as Unit;
    expect(c.epoch).toBe(0);
    expect(s.next(1)).not.toBe('wait');
    const d = { config: 1 - c.config, segment: 1, epoch: 0 };
    s.completed(c);
    // Segment 0 has visited both configs; epoch 0 still has a running unit on segment 1.
    expect(s.next(0)).toBe('wait');
    s.completed(d);
    const e = s.next(0) as Unit;
    expect(e.epoch).toBe(1);
  });

  it('waits when every unvisited config trains elsewhere', () => {
    const s = make(1, 2, 1);
    const a = s.next(0) as Unit;
    expect(s.next(1)).toBe('wait');
    s.completed(a);
    expect(s.next(1)).toEqual({ config: 0, segment: 1, epoch: 0 });
    expect(s.next(0)).toBe('wait');
  });

  it('puts a failed unit back: the config is free and the segment unvisited', () => {
    const s = make(1, 2, 1);
    const a = s.next(0) as Unit;
    s.failed(a);
    // The config may now train on segment 1 first ...
    const b = s.next(1) as Unit;
    expect(b).toEqual({ config: 0, segment: 1, epoch: 0 });
    expect(s.next(0)).toBe('wait');
    s.completed(b);
    // ... and still has to visit segment 0.
    expect(s.next(0)).toEqual({ config: 0, segment: 0, epoch: 0 });
  });

  it('chooses uniformly among the free unvisited configs', () => {
    // First choice of segment 0 with config 0 busy on segment 1: uniform over configs 1..4.
    const counts = new Array<number>(5).fill(0);
    const trials = 4000;
    for (let seed = 0; seed < trials; seed++) {
      const s = make(5, 2, 1, seed);
      let first = s.next(1) as Unit;
      while (first.config !== 0) {
        // Rebuild until segment 1 holds config 0 (keeps the test about segment 0's choice).
        s.failed(first);
        first = s.next(1) as Unit;
      }
      counts[(s.next(0) as Unit).config]++;
    }
    expect(counts[0]).toBe(0);
    for (let c = 1; c < 5; c++) expect(Math.abs(counts[c] / trials - 0.25)).toBeLessThan(0.03);
  });

  it('is uniform on the scan path too (few free configs among many busy ones)', () => {
    // 10 configs, 8 of them busy on segments 1..8: a draw for segment 0 hits a free config with
    // probability 0.2, so all 8 draws miss in 17% of the trials and the scan decides.
    const trials = 3000;
    let lower = 0;
    for (let seed = 0; seed < trials; seed++) {
      const s = make(10, 9, 1, seed);
      const busy = new Set<number>();
      for (let seg = 1; seg <= 8; seg++) busy.add((s.next(seg) as Unit).config);
      const free = [...Array(10).keys()].filter((c) => !busy.has(c));
      const chosen = (s.next(0) as Unit).config;
      expect(free).toContain(chosen);
      if (chosen === free[0]) lower++;
    }
    expect(Math.abs(lower / trials - 0.5)).toBeLessThan(0.04);
  });

  it('is deterministic for a seed', () => {
    const run = (seed: number) =>
      exercise(make(6, 3, 2, seed), { configs: 6, segments: 3, epochs: 2, seed, interleaving: 7 }).handedOut.map(key);
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });

  it('restores units done by an earlier attempt', () => {
    const options = { configs: 4, segments: 3, epochs: 3, seed: 9 };
    const restored: Unit[] = [
      ...allUnits(4, 3, [0]),
      { config: 0, segment: 0, epoch: 1 },
      { config: 2, segment: 1, epoch: 1 },
      { config: 3, segment: 1, epoch: 1 },
    ];
    const s = createAsyncRandomScheduler(options);
    s.restore!(restored);
    const result = exercise(s, { ...options, restored, interleaving: 3 });
    expect(result.completed).toHaveLength(3 * 12 - restored.length);
    expect(result.handedOut.every((u) => u.epoch >= 1)).toBe(true);
  });

  it('restoring whole epochs skips them; restoring everything leaves nothing', () => {
    const s = make(2, 2, 3);
    s.restore!(allUnits(2, 2, [0, 1]));
    expect((s.next(0) as Unit).epoch).toBe(2);
    const t = make(2, 2, 2);
    t.restore!(allUnits(2, 2, [0, 1]));
    expect(t.next(0)).toBe('done');
  });

  it('guards its invariants', () => {
    const s = make(3, 2, 1);
    const a = s.next(0) as Unit;
    expect(() => s.next(0)).toThrow(/second unit/);
    s.completed(a);
    expect(() => s.completed(a)).toThrow(/completed twice/);
    expect(() => s.failed(a)).toThrow(/not running/);
    expect(() => s.completed({ config: 5, segment: 0, epoch: 0 })).toThrow(/out of range/);
    expect(() => s.next(-1)).toThrow(/segment -1/);
    expect(() => s.restore!([])).toThrow(/before the first next/);
    const t = make(3, 2, 1);
    expect(() => t.restore!([a, a])).toThrow(/twice/);
    expect(() => make(3, 0, 1)).toThrow(/segments/);
    expect(() => make(3, 1, -1)).toThrow(/epochs/);
  });

  it('zero epochs is done at once', () => {
    expect(make(2, 2, 0).next(1)).toBe('done');
  });
});
