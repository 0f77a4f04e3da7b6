import { describe, expect, it } from 'vitest';
import { createDynamicAsyncScheduler } from '../../src/sched/async-dynamic.js';
import type { DynamicScheduler } from '../../src/sched/dynamic.js';
import { mulberry32 } from '../../src/sched/random.js';
import { createRoundRobinScheduler } from '../../src/sched/round-robin.js';
import { createRoundScheduler } from '../../src/sched/rounds.js';
import type { Unit } from '../../src/sched/types.js';

interface Arrival {
  config: number;
  from: number;
  to: number;
  /** Arrives once this many units completed (0: at the start). */
  after: number;
}

interface Exercise {
  completed: Unit[];
  handedOut: Unit[];
  failures: number;
  /** Per arrival: how many units had completed when its config's first unit was handed out. */
  firstUnitAfter: number[];
}

/** Drives a dynamic scheduler through a random interleaving of asks, completions, failures and arrivals. */
function exercise(
  scheduler: DynamicScheduler,
  segments: number,
  arrivals: Arrival[],
  seed: number,
  failRate = 0,
  restored: Unit[] = [],
): Exercise {
  const random = mulberry32(seed);
  const pending = [...arrivals].sort((a, b) => a.after - b.after);
  const running = new Map<number, Unit>();
  const configOn = new Map<number, number>();
  const waiting = new Set<number>();
  const finished = new Set<number>();
  const done = new Set<string>(restored.map((u) => `${u.config}/${u.epoch}/${u.segment}`));
  const completed: Unit[] = [];
  const handedOut: Unit[] = [];
  const firstUnitAfter = arrivals.map(() => -1);
  let failures = 0;
  const arrive = (): void => {
    while (pending.length > 0 && pending[0].after <= completed.length) {
      const a = pending.shift()!;
      scheduler.add(a.config, { from: a.from, to: a.to });
      waiting.clear();
    }
    if (pending.length === 0) scheduler.close();
  };
  arrive();
  for (let steps = 0; steps < 1_000_000; steps++) {
    const idle = [...Array(segments).keys()].filter((s) => !running.has(s) && !finished.has(s) && !waiting.has(s));
    if (idle.length === 0 && running.size === 0) break;
    if (idle.length > 0 && (running.size === 0 || random() < 0.5)) {
      const s = idle[Math.floor(random() * idle.length)];
      const d = scheduler.next(s);
      if (d === 'done') finished.add(s);
      else if (d === 'wait') waiting.add(s);
      else {
        expect(d.segment).toBe(s);
        expect(configOn.has(d.config)).toBe(false);
        expect(done.has(`${d.config}/${d.epoch}/${s}`)).toBe(false);
        // A config's units come epoch after epoch: its epoch is the one it has not finished.
        const before = [...restored, ...completed].filter((u) => u.config === d.config).length;
        expect(d.epoch).toBe(Math.floor(before / segments));
        running.set(s, d);
        configOn.set(d.config, s);
        handedOut.push(d);
        arrivals.forEach((a, i) => {
          if (a.config === d.config && firstUnitAfter[i] < 0 && d.epoch === a.from)
            firstUnitAfter[i] = completed.length;
        });
      }
    } else {
      const units = [...running.values()];
      const u = units[Math.floor(random() * units.length)];
      running.delete(u.segment);
      configOn.delete(u.config);
      if (random() < failRate) {
        scheduler.failed(u);
        failures++;
      } else {
        scheduler.completed(u);
        done.add(`${u.config}/${u.epoch}/${u.segment}`);
        completed.push(u);
        arrive();
      }
      waiting.clear();
    }
  }
  expect(pending).toHaveLength(0);
  return { completed, handedOut, failures, firstUnitAfter };
}

function expectEveryEpochOnEverySegment(completed: Unit[], segments: number, epochsOf: Map<number, number>): void {
  for (const [config, epochs] of epochsOf) {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const visited = completed
        .filter((u) => u.config === config && u.epoch === epoch)
        .map((u) => u.segment)
        .sort((a, b) => a - b);
      expect(visited, `config ${config} epoch ${epoch}`).toEqual([...Array(segments).keys()]);
    }
    expect(completed.filter((u) => u.config === config)).toHaveLength(epochs * segments);
  }
}

const SCHEDULERS = { async: createDynamicAsyncScheduler, rounds: createRoundScheduler };

describe.each(Object.entries(SCHEDULERS))('dynamic scheduler %s', (_, make) => {
  it('trains every config for exactly its epochs on every segment, configs arriving mid-run', () => {
    for (let seed = 0; seed < 6; seed++) {
      const segments = 2 + (seed % 3);
      const arrivals: Arrival[] = [
        { config: 0, from: 0, to: 3, after: 0 },
        { config: 1, from: 0, to: 1, after: 0 },
        { config: 2, from: 0, to: 2, after: 3 },
        { config: 3, from: 0, to: 4, after: 5 },
        { config: 4, from: 0, to: 1, after: 9 },
      ];
      const run = exercise(make({ segments, seed }), segments, arrivals, 100 + seed, seed % 2 === 0 ? 0.1 : 0);
      expectEveryEpochOnEverySegment(run.completed, segments, new Map(arrivals.map((a) => [a.config, a.to])));
    }
  });

  it('brings a stopped config back where it stopped (ASHA promoting it)', () => {
    const segments = 3;
    const arrivals: Arrival[] = [
      { config: 0, from: 0, to: 1, after: 0 },
      { config: 1, from: 0, to: 1, after: 0 },
      { config: 0, from: 1, to: 3, after: 6 },
    ];
    const run = exercise(make({ segments, seed: 2 }), segments, arrivals, 5);
    expectEveryEpochOnEverySegment(
      run.completed,
      segments,
      new Map([
        [0, 3],
        [1, 1],
      ]),
    );
  });

  it('refuses a config that arrives while it trains, from the wrong epoch, or after close', () => {
    const scheduler = make({ segments: 2, seed: 1 });
    scheduler.add(0, { from: 0, to: 2 });
    expect(() => scheduler.add(0, { from: 2, to: 3 })).toThrow(/still trains/);
    const first = scheduler.next(0) as Unit;
    scheduler.completed(first);
    scheduler.completed(scheduler.next(1) as Unit);
    scheduler.completed(scheduler.next(0) as Unit);
    scheduler.completed(scheduler.next(1) as Unit);
    expect(scheduler.trainedEpochs(0)).toBe(2);
    expect(() => scheduler.add(0, { from: 1, to: 3 })).toThrow(/has trained 2/);
    expect(() => scheduler.add(1, { from: 0, to: 0 })).toThrow(/0 <= from < to/);
    // New to this scheduler, a config may come for later epochs (a resume).
    scheduler.add(1, { from: 2, to: 3 });
    expect(scheduler.trainedEpochs(1)).toBe(2);
    scheduler.close();
    expect(() => scheduler.add(2, { from: 0, to: 1 })).toThrow(/after close/);
  });

  it('waits while open with nothing to hand out, and is done once closed and drained', () => {
    const scheduler = make({ segments: 2, seed: 1 });
    expect(scheduler.next(0)).toBe('wait');
    scheduler.add(0, { from: 0, to: 1 });
    const a = scheduler.next(0) as Unit;
    scheduler.completed(a);
    const b = scheduler.next(1) as Unit;
    expect([a.segment, b.segment, b.config, b.epoch]).toEqual([0, 1, 0, 0]);
    scheduler.completed(b);
    expect(scheduler.trainedEpochs(0)).toBe(1);
    expect(scheduler.next(0)).toBe('wait');
    scheduler.close();
    expect(scheduler.next(0)).toBe('done');
  });

  it('restores units an earlier attempt finished and hands out only the rest', () => {
    const segments = 3;
    const restored: Unit[] = [
      { config: 0, segment: 0, epoch: 0 },
      { config: 0, segment: 1, epoch: 0 },
      { config: 0, segment: 2, epoch: 0 },
      { config: 0, segment: 2, epoch: 1 },
      { config: 1, segment: 1, epoch: 0 },
    ];
    const scheduler = make({ segments, seed: 3 });
    scheduler.restore?.(restored);
    const arrivals = [
      { config: 0, from: 0, to: 2, after: 0 },
      { config: 1, from: 0, to: 1, after: 0 },
    ];
    const run = exercise(scheduler, segments, arrivals, 9, 0, restored);
    const keys = (units: Unit[]) => units.map((u) => `${u.config}/${u.epoch}/${u.segment}`).sort();
    expect(keys(run.completed)).toEqual(['0/1/0', '0/1/1', '1/0/0', '1/0/2']);
    expect(scheduler.trainedEpochs(0)).toBe(2);
  });
});

describe('createRoundScheduler', () => {
  it('with every config there from the start, hands out the fixed grid round-robin schedule', () => {
    for (const [configs, segments] of [
      [5, 3],
      [2, 4],
      [4, 4],
    ]) {
      const epochs = 2;
      const rounds = createRoundScheduler({ segments, seed: 0 });
      for (let c = 0; c < configs; c++) rounds.add(c, { from: 0, to: epochs });
      rounds.close();
      const grid = createRoundRobinScheduler({ configs, segments, epochs, seed: 0 });
      const sequence = (scheduler: { next(s: number): unknown; completed(u: Unit): void }): string[] => {
        const out: string[] = [];
        for (;;) {
          const batch: Unit[] = [];
          let finished = false;
          for (let s = 0; s < segments; s++) {
            const d = scheduler.next(s);
            if (d === 'done') finished = true;
            else if (d !== 'wait') batch.push(d as Unit);
          }
          if (finished && batch.length === 0) return out;
          for (const u of batch) {
            out.push(`${u.config}/${u.segment}/${u.epoch}`);
            scheduler.completed(u);
          }
        }
      };
      expect(sequence(rounds)).toEqual(sequence(grid));
    }
  });

  it('lets a config that arrives during a round wait for the next round', () => {
    const segments = 2;
    const scheduler = createRoundScheduler({ segments, seed: 0 });
    scheduler.add(0, { from: 0, to: 1 });
    scheduler.add(1, { from: 0, to: 2 });
    const first = [scheduler.next(0), scheduler.next(1)] as Unit[];
    expect(scheduler.roundOpen()).toBe(true);
    scheduler.add(2, { from: 0, to: 1 });
    for (const u of first) scheduler.completed(u);
    const second = [scheduler.next(0), scheduler.next(1)] as Unit[];
    expect(second.map((u) => u.config).sort()).toEqual([0, 1]);
    for (const u of second) scheduler.completed(u);
    expect(scheduler.roundOpen()).toBe(false);
    expect(scheduler.lastRound()).toEqual([
      { config: 0, epoch: 0 },
      { config: 1, epoch: 0 },
    ]);
    // The next round: config 1's second epoch and the newcomer's first.
    const third = [scheduler.next(0), scheduler.next(1)] as Unit[];
    expect(third.map((u) => `${u.config}/${u.epoch}`).sort()).toEqual(['1/1', '2/0']);
  });
});
