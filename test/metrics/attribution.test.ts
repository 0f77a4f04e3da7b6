import { describe, expect, it } from 'vitest';
import { statementSpans } from '../../src/metrics/attribution.js';
import { summarize } from '../../src/metrics/summarize.js';
import type { Span } from '../../src/core/events.js';
import { runInfo, span } from './fixtures.js';

describe('statementSpans', () => {
  // A statement 0..1000 over 3 segments: seg0 works 100..400 and 450..900 (the slowest), seg1 200..500, seg2 nothing.
  const engine = [
    { segment: 0, start: 100, end: 400 },
    { segment: 0, start: 450, end: 900 },
    { segment: 1, start: 200, end: 500 },
  ];
  const statement = { start: 0, end: 1000 };
  const spans = statementSpans({ statement, engineSpans: engine, segments: [0, 1, 2], epoch: 3 });
  const of = (segment: number): [string, number, number][] =>
    spans.filter((s) => s.segment === segment).map((s) => [s.kind, s.start, s.end]);

  it('splits each segment into dispatch, its scan, the barrier wait and the collect', () => {
    expect(of(0)).toEqual([
      ['schedule', 0, 100],
      ['data', 100, 900],
      ['schedule', 900, 1000],
    ]);
    expect(of(1)).toEqual([
      ['schedule', 0, 200],
      ['data', 200, 500],
      ['idle', 500, 900],
      ['schedule', 900, 1000],
    ]);
    expect(of(2)).toEqual([['idle', 0, 1000]]);
    expect(spans.every((s) => s.epoch === 3 && s.config === undefined)).toBe(true);
  });

  it('names MA broadcast and collect as model transmission', () => {
    const hops = { dispatch: 'model-hop', collect: 'model-hop' } as const;
    const ma = statementSpans({ statement, engineSpans: engine, segments: [0, 1], ...hops });
    expect(ma.filter((s) => s.segment === 1).map((s) => s.kind)).toEqual(['model-hop', 'data', 'idle', 'model-hop']);
  });

  it('leaves nothing of the statement unattributed once the engine spans are added', () => {
    const trains = engine.map((e) => span('train', e.start, e.end, { segment: e.segment, epoch: 3 }));
    const events: Span[] = [...trains, ...spans];
    const info = runInfo({ segments: 3 });
    const s = summarize({ info, events, samples: [], status: 'complete', storage: null, finishedAt: null });
    const [b] = s.breakdown;
    expect(b.unattributed).toBe(0);
    // Per segment: seg0 trains 750 (gap 400..450 is data), seg1 300, seg2 none.
    expect(b.kinds.train).toBeCloseTo((750 + 300) / 3 / 1000);
    expect(b.kinds.data).toBeCloseTo(50 / 3 / 1000);
    expect(b.kinds.idle).toBeCloseTo((400 + 1000) / 3 / 1000);
  });
});
