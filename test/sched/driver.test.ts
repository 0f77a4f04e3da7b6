import { describe, expect, it } from 'vitest';
import { createAsyncRandomScheduler } from '../../src/sched/async-random.js';
import { AbortError, runSchedule, UnitFailedError } from '../../src/sched/driver.js';
import { mulberry32 } from '../../src/sched/random.js';
import { createRoundRobinScheduler } from '../../src/sched/round-robin.js';
import type { Scheduler, Unit } from '../../src/sched/types.js';
import { allUnits, key } from './harness.js';
import type { Span } from '../../src/core/events.js';
import { summarize } from '../../src/metrics/summarize.js';
import { runInfo } from '../metrics/fixtures.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A fake worker fleet: records what runs when, and checks the invariants while it runs. */
function fakeFleet(options: { delay?: (unit: Unit) => number; fail?: (unit: Unit, attempt: number) => boolean }) {
  const runningConfigs = new Set<number>();
  const runningSegments = new Set<number>();
  const attempts = new Map<string, number>();
  const completed: Unit[] = [];
  const events: string[] = [];
  let hookRunning = false;
  // Violations are collected, not thrown: a throw inside runUnit would look like a worker failure.
  const violations: string[] = [];
  const runUnit = async (unit: Unit): Promise<void> => {
    if (hookRunning) violations.push(`${key(unit)} runs while onEpochComplete runs`);
    if (runningConfigs.has(unit.config)) violations.push(`config ${unit.config} on two segments`);
    if (runningSegments.has(unit.segment)) violations.push(`segment ${unit.segment} runs two units`);
    runningConfigs.add(unit.config);
    runningSegments.add(unit.segment);
    const attempt = (attempts.get(key(unit)) ?? 0) + 1;
    attempts.set(key(unit), attempt);
    events.push(`start ${key(unit)}`);
    try {
      await sleep(options.delay?.(unit) ?? 1);
      if (options.fail?.(unit, attempt)) throw new Error(`worker ${unit.segment} lost config ${unit.config}`);
      completed.push(unit);
      events.push(`done ${key(unit)}`);
    } finally {
      runningConfigs.delete(unit.config);
      runningSegments.delete(unit.segment);
    }
  };
  const onEpochComplete = async (epoch: number): Promise<void> => {
    hookRunning = true;
    events.push(`epoch ${epoch}`);
    await sleep(5);
    hookRunning = false;
  };
  return { runUnit, onEpochComplete, completed, events, attempts, violations };
}

describe('runSchedule', () => {
  it.each(['async', 'sync'] as const)('runs every unit of a %s schedule, validating after each epoch', async (kind) => {
    const options = { configs: 5, segments: 3, epochs: 3, seed: 4 };
    const scheduler = kind === 'async' ? createAsyncRandomScheduler(options) : createRoundRobinScheduler(options);
    const random = mulberry32(1);
    const delays = new Map<number, number>();
    const delayOf = (config: number): number => {
      const known = delays.get(config);
      if (known !== undefined) return known;
      const drawn = 1 + Math.floor(random() * 4);
      delays.set(config, drawn);
      return drawn;
    };
    const fleet = fakeFleet({ delay: (u) => delayOf(u.config) });
    const result = await runSchedule({
      scheduler,
      segments: 3,
      runUnit: fleet.runUnit,
      onEpochComplete: fleet.onEpochComplete,
    });
    expect(result).toEqual({ completed: 45, retried: 0 });
    expect(fleet.violations).toEqual([]);
    expect(new Set(fleet.completed.map(key))).toEqual(new Set(allUnits(5, 3, [0, 1, 2]).map(key)));
    // Each epoch's hook comes after its last unit and before the first unit of the next epoch.
    const hooks = fleet.events.map((e, i) => [e, i] as const).filter(([e]) => e.startsWith('epoch'));
    expect(hooks.map(([e]) => e)).toEqual(['epoch 0', 'epoch 1', 'epoch 2']);
    for (const [e, i] of hooks) {
      const epoch = Number(e.split(' ')[1]);
      const before = fleet.events.slice(0, i);
      const after = fleet.events.slice(i + 1);
      expect(before.filter((x) => x.startsWith(`done ${epoch}:`))).toHaveLength(15);
      expect(after.some((x) => x.startsWith(`start ${epoch}:`))).toBe(false);
      expect(before.some((x) => x.startsWith(`start ${epoch + 1}:`))).toBe(false);
    }
    expect(fleet.events.at(-1)).toBe('epoch 2');
  });

  it('retries a unit that a failing worker lost; its config goes on elsewhere first', async () => {
    const scheduler = createAsyncRandomScheduler({ configs: 1, segments: 2, epochs: 1, seed: 1 });
    const failures: [string, number][] = [];
    const fleet = fakeFleet({ fail: (u, attempt) => u.segment === 0 && attempt === 1 });
    const result = await runSchedule({
      scheduler,
      segments: 2,
      runUnit: fleet.runUnit,
      onUnitFailed: (unit, error, attempt) => {
        expect(String(error)).toMatch(/worker 0 lost config 0/);
        failures.push([key(unit), attempt]);
      },
    });
    expect(result).toEqual({ completed: 2, retried: 1 });
    expect(fleet.violations).toEqual([]);
    expect(failures).toEqual([['0:0:0', 1]]);
    expect(fleet.completed.map(key)).toEqual(['0:0:1', '0:0:0']);
  });

  it('survives a flaky fleet: every unit completes once', async () => {
    const random = mulberry32(3);
    const scheduler = createAsyncRandomScheduler({ configs: 6, segments: 4, epochs: 2, seed: 2 });
    const fleet = fakeFleet({ fail: () => random() < 0.2 });
    let failed = 0;
    const result = await runSchedule({
      scheduler,
      segments: 4,
      runUnit: fleet.runUnit,
      onUnitFailed: () => failed++,
      maxAttempts: 20,
    });
    expect(result.completed).toBe(48);
    expect(fleet.violations).toEqual([]);
    expect(result.retried).toBe(failed);
    expect(failed).toBeGreaterThan(0);
    expect(new Set(fleet.completed.map(key)).size).toBe(48);
  });

  it('fails the run when a unit fails maxAttempts times, naming the unit and the cause', async () => {
    const scheduler = createAsyncRandomScheduler({ configs: 1, segments: 2, epochs: 1, seed: 1 });
    const fleet = fakeFleet({ fail: (u) => u.segment === 0 });
    const attempts: number[] = [];
    const run = runSchedule({
      scheduler,
      segments: 2,
      runUnit: fleet.runUnit,
      maxAttempts: 3,
      onUnitFailed: (_u, _e, attempt) => attempts.push(attempt),
    });
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnitFailedError);
    expect((error as Error).message).toMatch(
      /config 0, segment 0, epoch 0.*failed 3 time\(s\).*worker 0 lost config 0/,
    );
    expect((error as UnitFailedError).unit).toEqual({ config: 0, segment: 0, epoch: 0 });
    expect(((error as Error).cause as Error).message).toMatch(/worker 0 lost/);
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('a round-robin unit is retried on its own segment', async () => {
    const scheduler = createRoundRobinScheduler({ configs: 2, segments: 2, epochs: 1, seed: 1 });
    const fleet = fakeFleet({ fail: (u, attempt) => u.segment === 1 && attempt < 3 });
    const result = await runSchedule({ scheduler, segments: 2, runUnit: fleet.runUnit });
    expect(result).toEqual({ completed: 4, retried: 4 });
  });

  it('aborts promptly with an AbortError', async () => {
    const scheduler = createAsyncRandomScheduler({ configs: 4, segments: 2, epochs: 1, seed: 1 });
    const controller = new AbortController();
    const fleet = fakeFleet({ delay: () => 10_000 });
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    const error = await runSchedule({
      scheduler,
      segments: 2,
      runUnit: fleet.runUnit,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('user pressed ctrl-c'));
    const scheduler = createAsyncRandomScheduler({ configs: 1, segments: 1, epochs: 1, seed: 1 });
    const error = await runSchedule({
      scheduler,
      segments: 1,
      runUnit: async () => {},
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as Error).message).toMatch(/ctrl-c/);
  });

  it('fails the run when onEpochComplete fails, before the next epoch starts', async () => {
    const scheduler = createRoundRobinScheduler({ configs: 2, segments: 2, epochs: 3, seed: 1 });
    const fleet = fakeFleet({});
    const error = await runSchedule({
      scheduler,
      segments: 2,
      runUnit: fleet.runUnit,
      onEpochComplete: async (epoch) => {
        if (epoch === 0) throw new Error('validation failed');
      },
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('validation failed');
    expect(fleet.completed.every((u) => u.epoch === 0)).toBe(true);
  });

  it('resumes: runs only what restore left, and validates only the epochs it ran', async () => {
    const options = { configs: 3, segments: 2, epochs: 2, seed: 1 };
    const scheduler = createAsyncRandomScheduler(options);
    scheduler.restore!([...allUnits(3, 2, [0]), { config: 1, segment: 1, epoch: 1 }]);
    const fleet = fakeFleet({});
    const result = await runSchedule({
      scheduler,
      segments: 2,
      runUnit: fleet.runUnit,
      onEpochComplete: fleet.onEpochComplete,
    });
    expect(result.completed).toBe(5);
    expect(fleet.events.filter((e) => e.startsWith('epoch'))).toEqual(['epoch 1']);
  });

  it('reports a scheduler that never hands out work instead of hanging', async () => {
    const stuck: Scheduler = { next: () => 'wait', completed: () => {}, failed: () => {} };
    await expect(runSchedule({ scheduler: stuck, segments: 3, runUnit: async () => {} })).rejects.toThrow(
      /wait while no unit runs/,
    );
  });

  it('passes scheduler invariant errors through', async () => {
    const scheduler = createAsyncRandomScheduler({ configs: 2, segments: 2, epochs: 1, seed: 1 });
    const error = await runSchedule({
      scheduler,
      segments: 2,
      runUnit: async (unit) => {
        scheduler.completed(unit); // a buggy caller completing behind the driver's back
      },
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/completed twice/);
  });

  it('rejects bad options', async () => {
    const scheduler = createAsyncRandomScheduler({ configs: 1, segments: 1, epochs: 1, seed: 1 });
    await expect(runSchedule({ scheduler, segments: 0, runUnit: async () => {} })).rejects.toThrow(/segments/);
    await expect(runSchedule({ scheduler, segments: 1, runUnit: async () => {}, maxAttempts: 0 })).rejects.toThrow(
      /maxAttempts/,
    );
  });
});

describe('runSchedule spans', () => {
  it('wraps every unit in a schedule span and every wait in an idle one: nothing is left unattributed', async () => {
    const spans: Span[] = [];
    const emit = (span: Span): void => {
      spans.push(span);
    };
    const options = { configs: 3, segments: 2, epochs: 2, seed: 7 };
    const runUnit = async (unit: Unit): Promise<void> => {
      // The engine's own span: most of the unit, not all of it (the dispatch is the driver's).
      await sleep(2);
      const start = Date.now();
      await sleep(unit.config === 0 ? 40 : 15);
      const { segment, config, epoch } = unit;
      emit({ type: 'span', kind: 'train', start, end: Date.now(), segment, config, epoch });
    };
    const onEpochComplete = async (epoch: number): Promise<void> => {
      // Validation on segment 0 only: segment 1 has nothing to do meanwhile.
      const start = Date.now();
      await sleep(20);
      emit({ type: 'span', kind: 'valid', start, end: Date.now(), segment: 0, config: 0, epoch });
    };
    await runSchedule({ scheduler: createAsyncRandomScheduler(options), segments: 2, runUnit, onEpochComplete, emit });

    const schedule = spans.filter((s) => s.kind === 'schedule');
    const trains = spans.filter((s) => s.kind === 'train');
    expect(schedule).toHaveLength(trains.length);
    for (const train of trains) {
      const sameUnit = (s: Span): boolean =>
        s.segment === train.segment && s.config === train.config && s.epoch === train.epoch;
      const envelope = schedule.find(sameUnit);
      expect(envelope).toBeDefined();
      expect(envelope!.start).toBeLessThanOrEqual(train.start);
      expect(envelope!.end).toBeGreaterThanOrEqual(train.end);
    }
    const idle = spans.filter((s) => s.kind === 'idle');
    expect(idle.length).toBeGreaterThan(0);
    expect(idle.every((s) => s.segment !== undefined && s.epoch === undefined && s.end > s.start)).toBe(true);

    const info = runInfo({ segments: 2, epochs: 2 });
    const input = { info, events: spans, samples: [], storage: null, finishedAt: null };
    const summary = summarize({ ...input, status: 'complete' });
    for (const [i, b] of summary.breakdown.entries()) {
      expect(b.kinds.idle).toBeGreaterThan(0);
      expect(b.kinds.schedule).toBeGreaterThan(0);
      // Only the driver's own bookkeeping between two awaits is left: well under 5%.
      expect(b.unattributed / summary.epochSeconds[i]).toBeLessThan(0.05);
    }
  });
});
