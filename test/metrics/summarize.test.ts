import { describe, expect, it } from 'vitest';
import { summarize, sweepKinds, phaseIntervals, epochWindows } from '../../src/metrics/summarize.js';
import { summarySchema, type Breakdown } from '../../src/core/records.js';
import type { RunEvent } from '../../src/core/events.js';
import { phase, runInfo, sample, span, storageSizes, syntheticRun } from './fixtures.js';

const storage = storageSizes(1000, 0);

function run(events: RunEvent[], segments = 2, samples = [] as ReturnType<typeof sample>[]) {
  const summary = summarize({
    info: runInfo({ segments }),
    events,
    samples,
    status: 'complete',
    storage,
    finishedAt: null,
  });
  expect(summarySchema.safeParse(summary).success).toBe(true);
  return summary;
}

function total(b: Breakdown): number {
  return b.trainValid + b.dataTransmission + b.modelTransmission + b.approachSpecific + b.unattributed;
}

describe('summarize', () => {
  it('times ETL and execution from phase marks', () => {
    const s = run([
      phase('etl', 'start', 0),
      phase('etl', 'end', 1500),
      phase('execution', 'start', 1500),
      phase('execution', 'end', 9500),
    ]);
    expect(s.etlSeconds).toBe(1.5);
    expect(s.executionSeconds).toBe(8);
  });

  it('closes an open phase at the last known event and sums repeated phases', () => {
    const events: RunEvent[] = [
      phase('execution', 'start', 0),
      phase('execution', 'end', 1000),
      phase('execution', 'start', 5000),
      span('train', 5000, 7000, { segment: 0, epoch: 1 }),
    ];
    expect(phaseIntervals(events, 'execution', 7000)).toEqual([
      { start: 0, end: 1000 },
      { start: 5000, end: 7000 },
    ]);
    expect(run(events).executionSeconds).toBe(3);
  });

  it('closes a dead attempt at its last event when a resumed attempt starts the phase again', () => {
    const events: RunEvent[] = [
      phase('execution', 'start', 0),
      span('train', 0, 800, { segment: 0, epoch: 1 }),
      { type: 'log', level: 'error', message: 'worker died', at: 900 },
      // ... the run lay dead until it was resumed at 10_000
      phase('execution', 'start', 10_000),
      span('train', 10_000, 11_000, { segment: 0, epoch: 2 }),
      phase('execution', 'end', 11_000),
    ];
    // Closed at the last measurement (the span's end at 800), not at the log line: a log line of the
    // next attempt can come before its first phase mark.
    expect(run(events).executionSeconds).toBeCloseTo(1.8);
  });

  it('counts counter growth across a sampler restart (resumed run) without going negative', () => {
    const events = [phase('execution', 'start', 0), phase('execution', 'end', 10_000)];
    const samples = [
      sample(0, { net: 0 }),
      sample(1000, { net: 500 }),
      sample(5000, { net: 100 }),
      sample(6000, { net: 300 }),
    ];
    expect(run(events, 2, samples).resources?.netBytes).toBe(500 + 100 + 200);
  });

  it('gives one window per epoch, from the first start to the last end of its spans', () => {
    const events = [
      span('train', 100, 600, { segment: 0, epoch: 2 }),
      span('train', 0, 500, { segment: 0, epoch: 1 }),
      span('valid', 500, 900, { segment: 1, epoch: 1 }),
      span('train', 700, 1100, { segment: 1, epoch: 2 }),
      span('schedule', 0, 5000), // no epoch: never defines a window
    ];
    expect(epochWindows(events).map((w) => [w.epoch, w.start, w.end])).toEqual([
      [1, 0, 900],
      [2, 100, 1100],
    ]);
  });

  it('counts time no span covers as unattributed, its own category, so the parts sum to the epoch time', () => {
    // segment 0 trains 0..1000; segment 1 trains 0..400 then nothing.
    const s = run([span('train', 0, 1000, { segment: 0, epoch: 1 }), span('train', 0, 400, { segment: 1, epoch: 1 })]);
    expect(s.epochSeconds).toEqual([1]);
    const [b] = s.breakdown;
    expect(b.trainValid).toBeCloseTo(0.7);
    expect(b.unattributed).toBeCloseTo(0.3);
    expect(b.approachSpecific).toBe(0);
    expect(total(b)).toBeCloseTo(s.epochSeconds[0]);
  });

  it('shows measured idle, schedule and average as parts of approach-specific', () => {
    const s = run([
      span('train', 0, 600, { segment: 0, epoch: 1 }),
      span('schedule', 0, 700, { segment: 0, epoch: 1 }),
      span('idle', 700, 1000, { segment: 0 }),
      span('train', 0, 1000, { segment: 1, epoch: 1 }),
      span('average', 1000, 1200, { epoch: 1 }),
    ]);
    const [b] = s.breakdown;
    expect(b.kinds.schedule).toBeCloseTo(0.05);
    expect(b.kinds.idle).toBeCloseTo(0.15);
    expect(b.kinds.average).toBeCloseTo(0.2);
    expect(b.approachSpecific).toBeCloseTo(0.4);
    expect(b.unattributed).toBe(0);
    expect(total(b)).toBeCloseTo(1.2);
  });

  it('gives overlapping time of one segment to the highest-priority kind', () => {
    // data 0..600 overlaps train 200..800; a hop 700..1000 overlaps the train's tail.
    const byKind = sweepKinds(
      [
        span('data', 0, 600, { segment: 0 }),
        span('train', 200, 800, { segment: 0 }),
        span('model-hop', 700, 1000, { segment: 0 }),
        span('idle', 0, 1000, { segment: 0 }),
      ],
      { start: 0, end: 1000 },
    );
    expect(byKind).toMatchObject({ data: 200, train: 600, 'model-hop': 200, idle: 0, unattributed: 0 });
  });

  it('follows train > valid > engine-init > model-hop > data > average > schedule > idle', () => {
    const kinds = ['idle', 'schedule', 'average', 'data', 'model-hop', 'engine-init', 'valid', 'train'] as const;
    // Each kind covers 0..(i+1)*100: the higher the priority, the longer the span.
    const spans = kinds.map((k, i) => span(k, 0, (i + 1) * 100, { segment: 0 }));
    const byKind = sweepKinds(spans, { start: 0, end: 800 });
    const nothingElse = { valid: 0, 'engine-init': 0, data: 0, 'model-hop': 0, average: 0, schedule: 0, idle: 0 };
    expect(byKind).toEqual({ train: 800, ...nothingElse, unattributed: 0 });
    const reversed = kinds.map((k, i) => span(k, 0, (8 - i) * 100, { segment: 0 }));
    expect(sweepKinds(reversed, { start: 0, end: 800 })).toEqual({
      train: 100,
      valid: 100,
      'engine-init': 100,
      data: 100,
      'model-hop': 100,
      average: 100,
      schedule: 100,
      idle: 100,
      unattributed: 0,
    });
  });

  it('gives a model read inside a statement (its data envelope) to Model Transmission', () => {
    const s = run([
      span('data', 0, 1000, { segment: 0, epoch: 1 }),
      span('model-hop', 0, 200, { segment: 0, epoch: 1 }),
      span('train', 200, 900, { segment: 0, epoch: 1 }),
      span('model-hop', 900, 1000, { segment: 0, epoch: 1 }),
    ]);
    // 0.3 s on segment 0, averaged over the run's 2 segments.
    expect(s.breakdown[0].modelTransmission).toBeCloseTo(0.15);
    expect(s.breakdown[0].dataTransmission).toBe(0);
  });

  it('counts a span without a segment for every segment', () => {
    const s = run([
      span('train', 0, 600, { segment: 0, epoch: 1 }),
      span('train', 0, 600, { segment: 1, epoch: 1 }),
      span('average', 600, 1000, { epoch: 1 }), // coordinator averages; all workers wait
    ]);
    expect(s.breakdown[0].trainValid).toBeCloseTo(0.6);
    expect(s.breakdown[0].approachSpecific).toBeCloseTo(0.4);
    expect(s.breakdown[0].modelTransmission).toBe(0);
  });

  it('averages over every segment of the run, a segment without spans being unattributed all epoch', () => {
    // 4 segments, only segments 0 and 2 did anything.
    const s = run(
      [span('train', 0, 1000, { segment: 0, epoch: 1 }), span('data', 0, 1000, { segment: 2, epoch: 1 })],
      4,
    );
    const noOther = { modelTransmission: 0, approachSpecific: 0 };
    expect(s.breakdown[0]).toMatchObject({ trainValid: 0.25, dataTransmission: 0.25, ...noOther, unattributed: 0.5 });
  });

  it('clips spans to each epoch window and handles several epochs', () => {
    const s = run([
      span('train', 0, 1000, { segment: 0, epoch: 1, config: 0 }),
      span('model-hop', 1000, 1200, { segment: 0, config: 0 }), // between epochs, no epoch tag
      span('train', 1200, 2000, { segment: 0, epoch: 2, config: 0 }),
      span('data', 900, 1300, { segment: 1 }), // straddles both windows
      span('train', 1300, 2000, { segment: 1, epoch: 2, config: 1 }),
      span('train', 0, 900, { segment: 1, epoch: 1, config: 1 }),
    ]);
    expect(s.epochSeconds).toEqual([1, 0.8]);
    // epoch 1 = 0..1000: seg0 train 1000; seg1 train 900 + data 100.
    const noOther = { modelTransmission: 0, approachSpecific: 0, unattributed: 0 };
    expect(s.breakdown[0]).toMatchObject({ trainValid: 0.95, dataTransmission: 0.05, ...noOther });
    // epoch 2 = 1200..2000: seg0 train 800; seg1 data 100 + train 700.
    expect(s.breakdown[1]).toMatchObject({ trainValid: 0.75, dataTransmission: 0.05, ...noOther });
    for (let i = 0; i < 2; i++) expect(total(s.breakdown[i])).toBeCloseTo(s.epochSeconds[i]);
  });

  it('keeps the last epoch metrics per config and epoch, sorted', () => {
    const m = (config: number, epoch: number, validLoss: number, at: number): RunEvent => ({
      type: 'epoch',
      config,
      epoch,
      trainLoss: 1,
      validLoss,
      validAccuracy: 0.5,
      trainExamples: 10,
      at,
    });
    const s = run([m(1, 1, 0.9, 10), m(0, 1, 0.8, 5), m(1, 1, 0.7, 20), m(0, 2, 0.6, 30), m(0, 1, 0.5, 5)]);
    expect(s.metrics.map((x) => [x.config, x.epoch, x.validLoss])).toEqual([
      [0, 1, 0.5],
      [0, 2, 0.6],
      [1, 1, 0.7],
    ]);
  });

  it('sums transport bytes and counts units and re-finished units', () => {
    const s = run([
      { type: 'counter', transport: 'copy', bytes: 100, at: 1 },
      { type: 'counter', transport: 'copy', bytes: 50, at: 2 },
      { type: 'counter', transport: 'pipe', bytes: 7, at: 3, segment: 1 },
      { type: 'unit', config: 0, segment: 0, epoch: 1, lossSum: 1, examples: 2, at: 1 },
      { type: 'unit', config: 0, segment: 1, epoch: 1, lossSum: 1, examples: 2, at: 2 },
      { type: 'unit', config: 0, segment: 0, epoch: 1, lossSum: 1, examples: 2, at: 3 },
    ]);
    expect(s.transportBytes).toEqual({ copy: 150, pipe: 7 });
    expect(s.unitsCompleted).toBe(2);
    expect(s.unitsRetried).toBe(1);
  });

  it('computes the storage blowup as stored and over logical bytes', () => {
    const s = summarize({
      info: runInfo(),
      events: [],
      samples: [],
      status: 'incomplete',
      storage: { data: { storedBytes: 50, logicalBytes: 100 }, copies: { storedBytes: 100, logicalBytes: 100 } },
      finishedAt: null,
    });
    expect(s.storage?.blowupLogical).toBe(2);
    expect(s.storage?.blowupStored).toBe(3);
    expect(s.status).toBe('incomplete');
    expect(s.resources).toBeNull();
    expect(s.epochSeconds).toEqual([]);
    const empty = { info: runInfo(), events: [], samples: [], storage: null, finishedAt: null };
    expect(summarize({ ...empty, status: 'incomplete' }).storage).toBeNull();
  });

  it('puts bytes counted during ETL in the ETL column, not in network: an ETL-only mover shows zero network', () => {
    const s = run([
      phase('etl', 'start', 0),
      { type: 'counter', transport: 'copy', bytes: 1e6, at: 100 },
      { type: 'counter', transport: 'pipe', bytes: 5e5, at: 200 },
      { type: 'counter', transport: 'direct-read', bytes: 7, at: 300 },
      phase('etl', 'end', 1000),
      phase('execution', 'start', 1000),
      span('train', 1000, 2000, { segment: 0, epoch: 0 }),
      phase('execution', 'end', 2000),
    ]);
    expect(s.bytes.execution).toEqual({ network: 0, disk: 0, local: 0 });
    expect(s.bytes.etl).toBe(1e6 + 5e5 + 7);
    expect(s.bytes.byTransport.copy).toEqual({ etl: 1e6, startup: 0, calibration: 0, execution: 0 });
    expect(s.transportBytes.copy).toBe(1e6);
  });

  it('puts execution-phase bytes in the column of their transport', () => {
    const s = run([
      phase('etl', 'start', 0),
      phase('etl', 'end', 10),
      phase('startup', 'start', 10),
      { type: 'counter', transport: 'pipe', bytes: 3, at: 15 },
      phase('startup', 'end', 20),
      phase('execution', 'start', 20),
      { type: 'counter', transport: 'model-store', bytes: 100, at: 30 },
      { type: 'counter', transport: 'sql', bytes: 10, at: 30 },
      { type: 'counter', transport: 'allreduce', bytes: 1, at: 30 },
      { type: 'counter', transport: 'direct-read', bytes: 1000, at: 40 },
      { type: 'counter', transport: 'export-file', bytes: 2000, at: 40 },
      { type: 'counter', transport: 'pipe', bytes: 50, at: 50 },
      phase('execution', 'end', 60),
      // emitted just after its phase closed: still that phase's
      { type: 'counter', transport: 'model-state', bytes: 4, at: 61 },
    ]);
    expect(s.bytes.execution).toEqual({ network: 111, disk: 3004, local: 50 });
    expect(s.bytes.etl).toBe(0);
    expect(s.bytes.startup).toBe(3);
    expect(s.bytes.byTransport.pipe).toEqual({ etl: 0, startup: 3, calibration: 0, execution: 50 });
    expect(s.startupSeconds).toBeCloseTo(0.01);
  });

  it('counts the calibration phase as neither ETL nor execution: its own time, its bytes in no column', () => {
    const s = run([
      phase('etl', 'start', 0),
      { type: 'counter', transport: 'copy', bytes: 5, at: 5 },
      phase('etl', 'end', 10),
      phase('startup', 'start', 10),
      phase('startup', 'end', 20),
      phase('calibration', 'start', 20),
      { type: 'counter', transport: 'pipe', bytes: 70, at: 30 },
      phase('calibration', 'end', 120),
      phase('execution', 'start', 120),
      span('train', 120, 220, { segment: 0, epoch: 0 }),
      { type: 'counter', transport: 'model-store', bytes: 8, at: 150 },
      phase('execution', 'end', 220),
    ]);
    expect(s.calibrationSeconds).toBeCloseTo(0.1);
    expect(s.etlSeconds).toBeCloseTo(0.01);
    expect(s.executionSeconds).toBeCloseTo(0.1);
    expect(s.bytes).toMatchObject({ etl: 5, startup: 0, execution: { network: 8, disk: 0, local: 0 } });
    expect(s.bytes.byTransport.pipe).toEqual({ etl: 0, startup: 0, calibration: 70, execution: 0 });
  });

  it('counts bytes of events without phase marks as execution', () => {
    const s = run([{ type: 'counter', transport: 'copy', bytes: 9, at: 1 }]);
    expect(s.bytes.execution.network).toBe(9);
  });

  it('takes resources from the samples inside the execution phase only', () => {
    const events = [phase('execution', 'start', 1000), phase('execution', 'end', 3000)];
    const samples = [
      sample(0, { cpu: 99, net: 0, read: 0, rss: 9e9 }), // ETL: excluded from means
      sample(1000, { cpu: 10, mem: 20, net: 1000, read: 100, write: 10, rss: 5 }),
      sample(2000, { cpu: 20, mem: 40, net: 3000, read: 300, write: 30, rss: 7 }),
      sample(3000, { cpu: 30, mem: 60, net: 6000, read: 600, write: 60, rss: 6 }),
      sample(4000, { cpu: 99, net: 9e9, read: 9e9 }),
    ];
    const s = run(events, 2, samples);
    expect(s.resources).toEqual({
      samples: 3,
      cpuPctMean: 20,
      memUsedPctMean: 40,
      runCpuPctMean: 10,
      runMemBytesMean: 6,
      runMemBytesMax: 7,
      runMemPctMean: expect.closeTo(6e-8, 20),
      treeRssBytesMax: 7,
      groups: {},
      netBytes: 5000,
      netTxBytes: 2500,
      diskReadBytes: 500,
      diskWriteBytes: 50,
      gpuUtilPctMean: null,
      gpuMemPctMean: null,
    });
  });

  it('interpolates counters at the edges of the execution window', () => {
    const events = [phase('execution', 'start', 500), phase('execution', 'end', 1500)];
    const samples = [sample(0, { net: 0 }), sample(1000, { net: 1000 }), sample(2000, { net: 3000 })];
    expect(run(events, 2, samples).resources?.netBytes).toBe(1500);
  });

  it('averages GPU figures when samples carry them', () => {
    const gpu = (u: number) => ({ utilPct: u, memUsedBytes: u, memTotalBytes: 200 });
    const s = run([], 2, [sample(0, { gpu: gpu(10) }), sample(1, { gpu: gpu(30) })]);
    expect(s.resources?.gpuUtilPctMean).toBe(20);
    expect(s.resources?.gpuMemPctMean).toBe(10);
  });

  it('summarises a synthetic run consistently', () => {
    const { info, events, samples } = syntheticRun({ runId: 'x', epochs: 3, segments: 3 });
    const s = summarize({ info, events, samples, status: 'complete', storage, finishedAt: '2025-01-01T00:00:00Z' });
    expect(summarySchema.parse(s)).toEqual(s);
    expect(s.epochSeconds).toHaveLength(3);
    expect(s.unitsCompleted).toBe(3 * 2 * 3);
    for (let i = 0; i < 3; i++) expect(total(s.breakdown[i])).toBeCloseTo(s.epochSeconds[i], 9);
  });
});

describe('summarize across a resume', () => {
  it('leaves the pause between an interrupted attempt and its resume out of the epoch', () => {
    const trainSpan = (start: number, end: number, segment: number) => ({
      type: 'span' as const,
      kind: 'train' as const,
      start,
      end,
      segment,
      config: 0,
      epoch: 0,
    });
    const s = summarize({
      info: runInfo({ segments: 1 }),
      events: [
        { type: 'phase', phase: 'execution', edge: 'start', at: 0 },
        trainSpan(0, 1000, 0),
        // killed here; resumed 60 s later
        { type: 'phase', phase: 'execution', edge: 'start', at: 61_000 },
        trainSpan(61_000, 62_000, 0),
        { type: 'phase', phase: 'execution', edge: 'end', at: 62_000 },
      ],
      samples: [],
      status: 'complete',
      storage: storageSizes(1, 0),
      finishedAt: null,
    });
    expect(s.epochSeconds).toEqual([2]);
    expect(s.breakdown[0].trainValid).toBeCloseTo(2);
    expect(s.breakdown[0].unattributed).toBeCloseTo(0);
  });
});
