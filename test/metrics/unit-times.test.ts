import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/core/events.js';
import {
  configTimes,
  heteroParameters,
  heteroParametersOf,
  unionLength,
  unitConcurrency,
  unitTimes,
} from '../../src/metrics/unit-times.js';
import { span } from './fixtures.js';

function unit(config: number, segment: number, epoch: number, at: number): RunEvent {
  return { type: 'unit', config, segment, epoch, lossSum: 1, examples: 10, at };
}

/** One in-DBMS sub-epoch as the engine reports it: init, load, data/train per buffer, save. */
function engineUnit(config: number, segment: number, epoch: number, start: number, trainMs: number): RunEvent[] {
  const where = { config, segment, epoch };
  return [
    span('model-hop', start, start + 10, where),
    span('data', start + 10, start + 20, where),
    span('train', start + 20, start + 20 + trainMs, where),
    span('model-hop', start + 20 + trainMs, start + 30 + trainMs, where),
    unit(config, segment, epoch, start + 40 + trainMs),
  ];
}

describe('unionLength', () => {
  it('counts overlapping and nested intervals once and skips empty ones', () => {
    expect(unionLength([])).toBe(0);
    expect(
      unionLength([
        { start: 0, end: 10 },
        { start: 5, end: 15 },
        { start: 20, end: 30 },
        { start: 22, end: 25 },
        { start: 40, end: 40 },
      ]),
    ).toBe(25);
    expect(
      unionLength([
        { start: 20, end: 30 },
        { start: 0, end: 10 },
      ]),
    ).toBe(20);
  });
});

describe('unitTimes', () => {
  it('sums a unit’s own spans (busy) and spans its first start to last end (wall)', () => {
    const events: RunEvent[] = [
      span('model-hop', 0, 10, { config: 0, segment: 1, epoch: 0 }),
      span('data', 10, 20, { config: 0, segment: 1, epoch: 0 }),
      span('train', 20, 120, { config: 0, segment: 1, epoch: 0 }),
      // a gap: dispatch of the next buffer
      span('train', 150, 200, { config: 0, segment: 1, epoch: 0 }),
      unit(0, 1, 0, 210),
    ];
    const [u] = unitTimes(events);
    expect(u).toEqual({
      config: 0,
      segment: 1,
      epoch: 0,
      busyMs: 170,
      wallMs: 200,
      start: 0,
      end: 200,
      spans: 4,
      attempts: 1,
    });
  });

  it('leaves out validation, coordinator spans and spans without a full key by default', () => {
    const events: RunEvent[] = [
      span('train', 0, 100, { config: 2, segment: 0, epoch: 1 }),
      span('valid', 100, 150, { config: 2, segment: 0, epoch: 1 }),
      span('model-hop', 200, 300, { epoch: 1 }), // udaf's hop statement: no segment, no config
      span('idle', 0, 50, { segment: 0, config: 2, epoch: 1 }),
      span('train', 0, 40, { segment: 1, epoch: 1 }), // no config
    ];
    const units = unitTimes(events);
    expect(units).toHaveLength(1);
    expect(units[0]).toMatchObject({ config: 2, segment: 0, epoch: 1, busyMs: 100, wallMs: 100, attempts: 0 });
    const withValid = unitTimes(events, { kinds: ['train', 'valid'] });
    expect(withValid[0].busyMs).toBe(150);
  });

  it('leaves out engine-init by default and counts overlapping spans once when asked to include it', () => {
    const events: RunEvent[] = [
      span('engine-init', 0, 50, { config: 0, segment: 0, epoch: 0 }),
      span('train', 30, 100, { config: 0, segment: 0, epoch: 0 }),
    ];
    expect(unitTimes(events)[0]).toMatchObject({ busyMs: 70, wallMs: 70, start: 30 });
    expect(unitTimes(events, { kinds: ['engine-init', 'train'] })[0]).toMatchObject({
      busyMs: 100,
      wallMs: 100,
      spans: 2,
    });
  });

  it('drops spans that start after the unit completed (the epoch’s validation reads buffers as data spans)', () => {
    const where = { config: 1, segment: 0, epoch: 0 };
    const events: RunEvent[] = [
      ...engineUnit(1, 0, 0, 0, 100), // done at 140
      span('valid', 300, 305, where),
      span('data', 305, 306, where),
      span('valid', 306, 310, where),
    ];
    expect(unitTimes(events)[0]).toMatchObject({ busyMs: 130, wallMs: 130, end: 130, spans: 4, attempts: 1 });
    // without a completion event nothing is cut
    expect(unitTimes(events.filter((e) => e.type !== 'unit'))[0]).toMatchObject({ wallMs: 306, spans: 5, attempts: 0 });
  });

  it('keeps units apart by config, segment and epoch and sorts them', () => {
    const events = [...engineUnit(1, 0, 1, 1000, 100), ...engineUnit(0, 1, 0, 0, 200), ...engineUnit(0, 0, 0, 0, 300)];
    const units = unitTimes(events);
    expect(units.map((u) => [u.epoch, u.config, u.segment])).toEqual([
      [0, 0, 0],
      [0, 0, 1],
      [1, 1, 0],
    ]);
    expect(units.map((u) => u.busyMs)).toEqual([330, 230, 130]);
  });

  it('covers every attempt of a retried unit and counts its completions', () => {
    const events = [...engineUnit(0, 0, 0, 0, 100), ...engineUnit(0, 0, 0, 1000, 100)];
    const [u] = unitTimes(events);
    expect(u.attempts).toBe(2);
    expect(u.busyMs).toBe(260);
    expect(u.wallMs).toBe(1130);
  });
});

describe('configTimes and heteroParameters', () => {
  // hetero-like: configs 0, 1, 3 fast (repeat 1), config 2 slow (repeat 8); 2 segments, 2 epochs.
  const configs = [
    { id: 0, repeat: 1, label: 'fast#0' },
    { id: 1, repeat: 1, label: 'fast#1' },
    { id: 2, repeat: 8, label: 'slow#2' },
    { id: 3, repeat: 1, label: 'fast#3' },
  ];
  const trainMs: Record<number, number> = { 0: 100, 1: 140, 2: 800, 3: 120 };
  const events: RunEvent[] = [];
  let t = 0;
  for (let epoch = 0; epoch < 2; epoch++) {
    for (const c of configs) {
      for (let segment = 0; segment < 2; segment++) {
        // segment 1 is 20 ms slower per unit
        events.push(...engineUnit(c.id, segment, epoch, t, trainMs[c.id] + 20 * segment));
        t += 2000;
      }
    }
  }
  events.push(span('valid', 0, 5000, { config: 2, segment: 0, epoch: 0 }));

  it('averages each config’s units and classifies by repeat', () => {
    const times = configTimes(unitTimes(events), configs);
    expect(times.map((c) => [c.config, c.kind, c.repeat, c.units])).toEqual([
      [0, 'fast', 1, 4],
      [1, 'fast', 1, 4],
      [2, 'slow', 8, 4],
      [3, 'fast', 1, 4],
    ]);
    // 30 ms of hops and data + train; the segments average to train + 10
    expect(times.map((c) => c.meanMs)).toEqual([140, 180, 840, 160]);
    expect(times[0].label).toBe('fast#0');
    // busy = wall here (no gaps between the engine spans)
    expect(times.map((c) => c.meanBusyMs)).toEqual([140, 180, 840, 160]);
  });

  it('returns l_s, l_m and the observed p', () => {
    const h = heteroParameters({ events, configs });
    expect(h.measure).toBe('wall');
    expect(h.ls).toBeCloseTo(160, 9);
    expect(h.lm).toBe(840);
    expect(h.ratio).toBeCloseTo(840 / 160, 9);
    expect(h.p).toBe(0.75);
    expect([h.fast, h.slow]).toEqual([3, 1]);
  });

  it('weighs configs equally, not units', () => {
    // config 0 has one extra, very long unit (a third segment): its mean moves, the others' weight does not
    const extra = [...events, ...engineUnit(0, 2, 0, 100_000, 940)];
    const h = heteroParameters({ events: extra, configs });
    const c0 = (4 * 140 + 970) / 5;
    expect(h.configs[0].meanMs).toBeCloseTo(c0, 9);
    expect(h.ls).toBeCloseTo((c0 + 180 + 160) / 3, 9);
  });

  it('measures wall time by default and busy time on request', () => {
    const gappy: RunEvent[] = [
      span('train', 0, 100, { config: 0, segment: 0, epoch: 0 }),
      span('train', 200, 300, { config: 0, segment: 0, epoch: 0 }),
      span('train', 0, 800, { config: 1, segment: 0, epoch: 0 }),
    ];
    const cs = [{ id: 0 }, { id: 1, repeat: 8 }];
    const wall = heteroParameters({ events: gappy, configs: cs });
    expect(wall.measure).toBe('wall');
    expect(wall.ls).toBe(300);
    expect(wall.lm).toBe(800);
    expect(wall.p).toBe(0.5);
    const busy = heteroParameters({ events: gappy, configs: cs }, { measure: 'busy' });
    expect(busy.ls).toBe(200);
    expect(busy.configs[0]).toMatchObject({ meanMs: 200, meanBusyMs: 200, meanWallMs: 300 });
  });

  it('treats an absent repeat as 1, leaves unmeasured configs out of p, and reports a missing mode as NaN', () => {
    const only: RunEvent[] = [
      span('train', 0, 100, { config: 0, segment: 0, epoch: 0 }),
      span('train', 0, 300, { config: 1, segment: 0, epoch: 0 }),
    ];
    const h = heteroParameters({ events: only, configs: [{ id: 0 }, { id: 1, repeat: 1 }, { id: 2, repeat: 8 }] });
    expect(h.ls).toBe(200);
    expect(h.lm).toBeNaN();
    expect(h.ratio).toBeNaN();
    expect(h.p).toBe(1);
    expect(h.configs.map((c) => c.config)).toEqual([0, 1]);
    expect(heteroParametersOf([], 'busy').p).toBeNaN();
  });

  it('rejects a unit of a config the run does not list', () => {
    expect(() => configTimes(unitTimes([span('train', 0, 1, { config: 9, segment: 0, epoch: 0 })]), configs)).toThrow(
      /config 9/,
    );
  });
});

describe('unitConcurrency', () => {
  it('is the mean number of units running while any runs', () => {
    // two segments side by side: 0-100 and 0-100, then 100-200 alone
    const together = unitTimes([
      ...engineUnit(0, 0, 0, 0, 70),
      ...engineUnit(1, 1, 0, 0, 70),
      ...engineUnit(2, 0, 0, 100, 70),
    ]);
    expect(unitConcurrency(together)).toBeCloseTo(300 / 200, 9);
    // the same units one after another
    const serial = unitTimes([
      ...engineUnit(0, 0, 0, 0, 70),
      ...engineUnit(1, 1, 0, 100, 70),
      ...engineUnit(2, 0, 0, 200, 70),
    ]);
    expect(unitConcurrency(serial)).toBe(1);
    expect(unitConcurrency([])).toBeNaN();
  });
});
