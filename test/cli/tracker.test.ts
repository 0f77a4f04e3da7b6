// The display's state from run events: units, phases, epochs, estimates (pure; a fake clock).
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/core/events.js';
import { JobTracker, RunTracker, epochStats, median } from '../../src/cli/tracker.js';

const shape = { configs: 2, segments: 2, epochs: 2 };
const phase = (p: 'etl' | 'startup' | 'execution', edge: 'start' | 'end', at: number): RunEvent => ({
  type: 'phase',
  phase: p,
  edge,
  at,
});
const start = (config: number, segment: number, epoch: number, at: number): RunEvent => ({
  type: 'unit-start',
  config,
  segment,
  epoch,
  at,
});
const unit = (config: number, segment: number, epoch: number, at: number): RunEvent => ({
  type: 'unit',
  config,
  segment,
  epoch,
  lossSum: 1,
  examples: 10,
  at,
});
const validated = (config: number, epoch: number, validLoss: number, validAccuracy: number, at: number): RunEvent => ({
  type: 'epoch',
  config,
  epoch,
  trainLoss: 0.5,
  validLoss,
  validAccuracy,
  trainExamples: 20,
  at,
});

describe('epoch figures', () => {
  it('takes the best and the median over configs, and names the config with the lowest loss', () => {
    const s = epochStats(
      3,
      [
        { config: 0, validLoss: 0.5, validAccuracy: 0.7 },
        { config: 1, validLoss: 0.3, validAccuracy: 0.75 },
        { config: 2, validLoss: 0.4, validAccuracy: 0.8 },
        { config: 3, validLoss: 0.6, validAccuracy: 0.6 },
      ],
      12,
    );
    expect(s).toEqual({
      epoch: 3,
      configs: 4,
      bestLoss: 0.3,
      medianLoss: 0.45,
      bestAccuracy: 0.8,
      medianAccuracy: 0.725,
      bestConfig: 1,
      seconds: 12,
    });
    expect(median([3, 1, 2])).toBe(2);
  });
});

describe('RunTracker', () => {
  it('follows the phases, counts units once and tells validation apart', () => {
    const t = new RunTracker(shape, 0);
    expect(t.snapshot(0)).toMatchObject({
      phase: 'preparing',
      unitsDone: 0,
      unitsTotal: 8,
      epoch: 0,
      rate: undefined,
      leftMs: undefined,
    });
    expect(t.apply(phase('etl', 'start', 1000))).toEqual([]);
    expect(t.snapshot(1500).phase).toBe('etl');
    expect(t.apply(phase('etl', 'end', 3000))).toEqual([{ kind: 'phase-end', phase: 'etl', seconds: 2 }]);
    t.apply(phase('execution', 'start', 3000));
    for (const [c, s] of [
      [0, 0],
      [1, 1],
    ])
      t.apply(start(c, s, 0, 3000));
    expect(t.snapshot(3500).active.map((u) => [u.segment, u.config])).toEqual([
      [0, 0],
      [1, 1],
    ]);
    t.apply(unit(0, 0, 0, 5000));
    t.apply(unit(0, 0, 0, 5000)); // a retried unit's second report
    expect(t.snapshot(5000)).toMatchObject({ phase: 'execution', unitsDone: 1 });
    for (const [c, s] of [
      [1, 1],
      [0, 1],
      [1, 0],
    ])
      t.apply(unit(c, s, 0, 6000));
    expect(t.snapshot(6000)).toMatchObject({ phase: 'validation', unitsDone: 4, epoch: 0, active: [] });
    expect(t.apply(validated(0, 0, 0.4, 0.8, 6500))).toEqual([
      { kind: 'config', metrics: expect.objectContaining({ config: 0 }) },
    ]);
    const notices = t.apply(validated(1, 0, 0.3, 0.7, 7000));
    expect(notices[1]).toEqual({
      kind: 'epoch',
      stats: {
        epoch: 0,
        configs: 2,
        bestLoss: 0.3,
        medianLoss: 0.35,
        bestAccuracy: 0.8,
        medianAccuracy: 0.75,
        bestConfig: 1,
        seconds: 4,
      },
    });
    expect(t.snapshot(7000)).toMatchObject({ phase: 'execution', epoch: 1 });
  });

  it("estimates from unit times in the first wave, then from the attempt's throughput and validation times", () => {
    const t = new RunTracker(shape, 0);
    t.apply(phase('execution', 'start', 0));
    t.apply(start(0, 0, 0, 0));
    t.apply(start(1, 1, 0, 0));
    t.apply(unit(0, 0, 0, 2000));
    // One unit took 2 s and two segments work at once: 1 unit/s, 7 units left.
    expect(t.snapshot(2000)).toMatchObject({ rate: 1, leftMs: 7000 });
    t.apply(unit(1, 1, 0, 4000));
    t.apply(unit(1, 0, 0, 6000));
    t.apply(unit(0, 1, 0, 8000));
    // Validation of epoch 0 from 8 s to 10 s: it is left out of the training time.
    expect(t.snapshot(9000).phase).toBe('validation');
    expect(t.snapshot(9000).rate).toBeCloseTo(0.5);
    t.apply(validated(0, 0, 0.5, 0.5, 9000));
    t.apply(validated(1, 0, 0.5, 0.5, 10_000));
    // 4 units in 8 s of training; 4 units left (8 s) plus one validation (2 s).
    expect(t.snapshot(10_000)).toMatchObject({ rate: 0.5, leftMs: 10_000 });
    t.apply(phase('execution', 'end', 20_000));
    expect(t.snapshot(20_000)).toMatchObject({ phase: 'finishing', leftMs: 0 });
  });

  it('counts what an earlier attempt finished but times only this attempt', () => {
    const t = new RunTracker(shape, 50_000);
    t.restore([
      phase('execution', 'start', 0),
      unit(0, 0, 0, 1000),
      unit(1, 1, 0, 1000),
      unit(0, 1, 0, 2000),
      unit(1, 0, 0, 2000),
      validated(0, 0, 1, 0.5, 3000),
      validated(1, 0, 1, 0.5, 3000),
      unit(0, 0, 1, 4000),
    ]);
    expect(t.snapshot(50_000)).toMatchObject({ unitsDone: 5, epoch: 1, rate: undefined, elapsedMs: 0 });
    t.apply(phase('execution', 'start', 60_000));
    t.apply(unit(1, 1, 1, 62_000));
    expect(t.snapshot(62_000)).toMatchObject({ unitsDone: 6, rate: 0.5, leftMs: 4000 });
    expect(t.apply({ type: 'interrupted', reason: 'SIGINT', at: 63_000 })).toEqual([
      { kind: 'interrupted', reason: 'SIGINT' },
    ]);
  });
});

describe('JobTracker', () => {
  it('estimates from the current item and the mean item time', () => {
    const job = new JobTracker('study', 4, 'runs', 0);
    expect(job.snapshot(0).leftMs).toBeUndefined();
    job.begin(0);
    // The first run says it has 30 s left after 10 s: 30 s + 3 runs of 40 s.
    expect(job.snapshot(10_000, 30_000)).toMatchObject({ done: 0, total: 4, leftMs: 150_000 });
    job.end(40_000);
    job.skip();
    job.begin(40_000);
    // Mean run 40 s; the current one has run 10 s and says nothing: 30 s + 1 run.
    expect(job.snapshot(50_000)).toMatchObject({ done: 2, leftMs: 70_000, elapsedMs: 50_000 });
    job.end(80_000);
    expect(job.snapshot(80_000)).toMatchObject({ done: 3, leftMs: 40_000 });
  });
});

describe('a search run', () => {
  const job = (n: number, config: number, from: number, to: number): RunEvent => ({
    type: 'search-job',
    job: n,
    config,
    from,
    to,
    told: 0,
    at: 1,
  });

  it('plans units from the jobs proposed so far and the configs still to come, and names no whole-run epoch', () => {
    // ASHA-like: 3 configs planned, each first to 1 epoch, on 2 segments.
    const tracker = new RunTracker({ configs: 3, segments: 2, epochs: 3, search: { trials: 3, firstEpochs: 1 } }, 0);
    expect(tracker.unitsTotal).toBe(6);
    tracker.apply(phase('execution', 'start', 0));
    tracker.apply(job(0, 0, 0, 1));
    tracker.apply(job(1, 1, 0, 1));
    expect(tracker.unitsTotal).toBe(6);
    tracker.apply(job(2, 0, 1, 3));
    tracker.apply(job(2, 0, 1, 3));
    expect(tracker.unitsTotal).toBe(10);
    tracker.apply(unit(0, 0, 0, 10));
    tracker.apply(unit(0, 1, 0, 20));
    expect(tracker.apply(validated(0, 0, 0.5, 0.6, 21)).map((n) => n.kind)).toEqual(['config']);
    const snapshot = tracker.snapshot(30);
    expect(snapshot.search).toEqual({ configs: 2, trials: 3 });
    expect(snapshot.unitsDone).toBe(2);
    expect(snapshot.phase).toBe('execution');
  });
});
