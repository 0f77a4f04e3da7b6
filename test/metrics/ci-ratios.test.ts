import { describe, expect, it } from 'vitest';
import type { Calibration, RunEvent } from '../../src/core/events.js';
import { examplesByEpoch, lastCalibration, runRatios, trainedExamples } from '../../src/metrics/ci-ratios.js';

function epochEvent(config: number, epoch: number, trainExamples: number): RunEvent {
  return { type: 'epoch', config, epoch, trainLoss: 0.5, validLoss: 0.5, validAccuracy: 0.7, trainExamples, at: 0 };
}

function calibration(examplesPerSecond: number, at: number): Calibration {
  return {
    type: 'calibration',
    examplesPerSecond,
    workers: 2,
    threads: 1,
    budgetSeconds: 1,
    configs: [],
    device: 'cpu',
    at,
  };
}

describe('trainedExamples', () => {
  it('counts every (config, epoch) once, the last event winning (a resumed run)', () => {
    const events = [epochEvent(0, 0, 999), epochEvent(0, 0, 1000), epochEvent(1, 0, 1000), epochEvent(0, 1, 500)];
    expect([...examplesByEpoch(events)]).toEqual([
      [0, 2000],
      [1, 500],
    ]);
    expect(trainedExamples(events)).toEqual({ examples: 2500, epochs: 2 });
    expect(trainedExamples([])).toEqual({ examples: 0, epochs: 0 });
  });
});

describe('lastCalibration', () => {
  it('takes the last calibration of a run (a resume calibrates again), or null', () => {
    expect(lastCalibration([epochEvent(0, 0, 1)])).toBeNull();
    expect(lastCalibration([calibration(100, 1), epochEvent(0, 0, 1), calibration(200, 2)])?.examplesPerSecond).toBe(
      200,
    );
  });
});

describe('runRatios', () => {
  it('divides by the raw loop time for the same examples on the same number of workers', () => {
    // 2 configs x 2 epochs x 1000 examples = 4000 examples; the raw loop does 500 examples/s per
    // worker, so 2 workers would take 4000 / 500 / 2 = 4 s.
    const trained = trainedExamples([
      epochEvent(0, 0, 1000),
      epochEvent(1, 0, 1000),
      epochEvent(0, 1, 1000),
      epochEvent(1, 1, 1000),
    ]);
    const r = runRatios(
      { summary: { executionSeconds: 20, etlSeconds: 2, epochSeconds: [9, 11] }, trained, segments: 2 },
      500,
    );
    expect(r.examplesTrained).toBe(4000);
    expect(r.epochs).toBe(2);
    expect(r.rawSeconds).toBeCloseTo(4, 12);
    expect(r.executionRatio).toBeCloseTo(5, 12);
    expect(r.etlRatio).toBeCloseTo(0.5, 12);
    // mean epoch 10 s against 4 s / 2 epochs = 2 s per raw epoch.
    expect(r.epochRatio).toBeCloseTo(5, 12);
  });

  it('has no epoch ratio without epoch windows', () => {
    const r = runRatios(
      {
        summary: { executionSeconds: 4, etlSeconds: 0, epochSeconds: [] },
        trained: { examples: 1000, epochs: 1 },
        segments: 1,
      },
      1000,
    );
    expect(r.executionRatio).toBeCloseTo(4, 12);
    expect(r.epochRatio).toBeNull();
  });

  it('refuses a run that trained nothing, a raw loop without throughput and no workers', () => {
    const summary = { executionSeconds: 1, etlSeconds: 1, epochSeconds: [1] };
    expect(() => runRatios({ summary, trained: { examples: 0, epochs: 0 }, segments: 2 }, 100)).toThrow(/no examples/);
    expect(() => runRatios({ summary, trained: { examples: 1, epochs: 1 }, segments: 2 }, 0)).toThrow(/positive/);
    expect(() => runRatios({ summary, trained: { examples: 1, epochs: 1 }, segments: 0 }, 10)).toThrow(/segments/);
  });
});
