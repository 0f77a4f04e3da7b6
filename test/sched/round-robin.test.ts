import { describe, expect, it } from 'vitest';
import { createRoundRobinScheduler, roundRobinBatchCount, roundRobinBatches } from '../../src/sched/round-robin.js';
import type { Unit } from '../../src/sched/types.js';
import { allUnits, exercise, key } from './harness.js';

describe('roundRobinBatches', () => {
  it('plans R = max(M, W) batches where segment s trains config (s + b) mod R', () => {
    const batches = roundRobinBatches(3, 2);
    expect(batches).toEqual([
      [
        { config: 0, segment: 0, epoch: 0 },
        { config: 1, segment: 1, epoch: 0 },
      ],
      [
        { config: 1, segment: 0, epoch: 0 },
        { config: 2, segment: 1, epoch: 0 },
      ],
      [
        { config: 2, segment: 0, epoch: 0 },
        { config: 0, segment: 1, epoch: 0 },
      ],
    ]);
  });

  it('leaves segments idle when there are fewer configs than segments', () => {
    const batches = roundRobinBatches(2, 4);
    expect(batches).toHaveLength(4);
    expect(batches.map((b) => b.map((u) => [u.segment, u.config]))).toEqual([
      [
        [0, 0],
        [1, 1],
      ],
      [
        [0, 1],
        [3, 0],
      ],
      [
        [2, 0],
        [3, 1],
      ],
      [
        [1, 0],
        [2, 1],
      ],
    ]);
  });

  it.each([
    [1, 1],
    [5, 3],
    [3, 5],
    [4, 4],
    [16, 8],
    [7, 16],
  ])('with M=%i, W=%i every config visits every segment once, never twice in a batch', (m, w) => {
    const batches = roundRobinBatches(m, w);
    expect(batches).toHaveLength(roundRobinBatchCount(m, w));
    const seen = new Set<string>();
    for (const batch of batches) {
      expect(batch.length).toBeGreaterThan(0);
      expect(batch.length).toBe(Math.min(m, w));
      expect(new Set(batch.map((u) => u.config)).size).toBe(batch.length);
      expect(new Set(batch.map((u) => u.segment)).size).toBe(batch.length);
      for (const u of batch) seen.add(key(u));
    }
    expect(seen.size).toBe(m * w);
  });

  it('rejects bad sizes', () => {
    expect(() => roundRobinBatches(0, 2)).toThrow(/configs/);
    expect(() => roundRobinBatches(2, 1.5)).toThrow(/segments/);
  });
});

describe('createRoundRobinScheduler', () => {
  it('hands out one batch at a time and waits at the barrier', () => {
    const s = createRoundRobinScheduler({ configs: 3, segments: 2, epochs: 1, seed: 1 });
    const a = s.next(0) as Unit;
    expect(a).toEqual({ config: 0, segment: 0, epoch: 0 });
    expect(s.next(0)).toBe('wait'); // handed out, still running
    const b = s.next(1) as Unit;
    expect(b).toEqual({ config: 1, segment: 1, epoch: 0 });
    s.completed(a);
    expect(s.next(0)).toBe('wait'); // completed, but segment 1 still runs
    s.completed(b);
    expect(s.next(1)).toEqual({ config: 2, segment: 1, epoch: 0 });
    expect(s.next(0)).toEqual({ config: 1, segment: 0, epoch: 0 });
  });

  it('runs epochs one after another, then says done', () => {
    const s = createRoundRobinScheduler({ configs: 2, segments: 2, epochs: 2, seed: 1 });
    const order: string[] = [];
    for (;;) {
      const batch = [s.next(0), s.next(1)];
      if (batch.every((d) => d === 'done')) break;
      for (const d of batch) {
        if (typeof d !== 'object') throw new Error(`unexpected ${d}`);
        order.push(key(d));
      }
      for (const d of batch) s.completed(d as Unit);
    }
    expect(order).toEqual(['0:0:0', '0:1:1', '0:1:0', '0:0:1', '1:0:0', '1:1:1', '1:1:0', '1:0:1']);
    expect(s.next(0)).toBe('done');
  });

  it('idles segments without a config in a batch', () => {
    const s = createRoundRobinScheduler({ configs: 1, segments: 3, epochs: 1, seed: 1 });
    expect(s.next(1)).toBe('wait');
    expect(s.next(2)).toBe('wait');
    const u = s.next(0) as Unit;
    s.completed(u);
    expect(s.next(0)).toBe('wait');
    expect(s.next(1)).toBe('wait');
    expect(s.next(2)).toEqual({ config: 0, segment: 2, epoch: 0 });
  });

  it.each([
    { configs: 5, segments: 3, epochs: 2, failRate: 0 },
    { configs: 3, segments: 5, epochs: 2, failRate: 0.2 },
    { configs: 12, segments: 4, epochs: 3, failRate: 0.1 },
    { configs: 1, segments: 1, epochs: 2, failRate: 0.3 },
  ])('keeps the invariants over randomized interleavings (%o)', (opts) => {
    let failures = 0;
    for (let seed = 0; seed < 5; seed++) {
      const options = { ...opts, seed };
      const s = createRoundRobinScheduler(options);
      const r = roundRobinBatchCount(opts.configs, opts.segments);
      let lastBatch = -1;
      const result = exercise(s, {
        ...options,
        interleaving: seed,
        onHandOut: (u) => {
          // The batch of a unit: config = (segment + batch) mod R; batches never go backwards.
          const batch = u.epoch * r + ((u.config - u.segment + r) % r);
          expect(batch).toBeGreaterThanOrEqual(lastBatch);
          lastBatch = batch;
        },
      });
      expect(result.maxConcurrent).toBeLessThanOrEqual(Math.min(opts.configs, opts.segments));
      failures += result.failures;
    }
    if (opts.failRate > 0) expect(failures).toBeGreaterThan(0);
  });

  it('a failed unit goes back to its segment', () => {
    const s = createRoundRobinScheduler({ configs: 2, segments: 2, epochs: 1, seed: 1 });
    const a = s.next(0) as Unit;
    s.failed(a);
    expect(s.next(0)).toEqual(a);
  });

  it('restores completed units, skipping batches they finish', () => {
    const options = { configs: 3, segments: 2, epochs: 2, seed: 1 };
    const restored: Unit[] = [
      ...allUnits(3, 2, [0]),
      { config: 1, segment: 0, epoch: 1 }, // batch 1 of epoch 1, segment 0
      { config: 0, segment: 0, epoch: 1 }, // batch 0 of epoch 1, segment 0
      { config: 1, segment: 1, epoch: 1 }, // batch 0 of epoch 1, segment 1: batch 0 is finished
    ];
    const s = createRoundRobinScheduler(options);
    s.restore!(restored);
    expect(s.next(0)).toBe('wait');
    expect(s.next(1)).toEqual({ config: 2, segment: 1, epoch: 1 });
    exercise(createRoundRobinSchedulerRestored(options, restored), { ...options, restored });
  });

  it('restoring everything leaves nothing to do', () => {
    const s = createRoundRobinScheduler({ configs: 2, segments: 2, epochs: 2, seed: 1 });
    s.restore!(allUnits(2, 2, [0, 1]));
    expect(s.next(0)).toBe('done');
  });

  it('guards against misuse', () => {
    const s = createRoundRobinScheduler({ configs: 2, segments: 2, epochs: 1, seed: 1 });
    const a = s.next(0) as Unit;
    s.completed(a);
    expect(() => s.completed(a)).toThrow(/completed twice/);
    expect(() => s.completed({ config: 1, segment: 1, epoch: 0 })).toThrow(/not running/);
    expect(() => s.next(2)).toThrow(/segment 2/);
    expect(() => s.restore!([])).toThrow(/before the first next/);
    const t = createRoundRobinScheduler({ configs: 2, segments: 2, epochs: 1, seed: 1 });
    expect(() =>
      t.restore!([
        { config: 0, segment: 0, epoch: 0 },
        { config: 0, segment: 0, epoch: 0 },
      ]),
    ).toThrow(/twice/);
    expect(() => t.restore!([{ config: 2, segment: 0, epoch: 0 }])).toThrow(/out of range/);
    expect(() => createRoundRobinScheduler({ configs: 0, segments: 1, epochs: 1, seed: 1 })).toThrow(/configs/);
  });

  it('zero epochs is done at once', () => {
    expect(createRoundRobinScheduler({ configs: 2, segments: 2, epochs: 0, seed: 1 }).next(0)).toBe('done');
  });
});

function createRoundRobinSchedulerRestored(
  options: { configs: number; segments: number; epochs: number; seed: number },
  restored: Unit[],
) {
  const s = createRoundRobinScheduler(options);
  s.restore!(restored);
  return s;
}
