// The calibration phase: the raw engine loop measured by the real engine, one process per
// segment at once, and how the workers' throughputs combine into the run's event.
import { describe, expect, it } from 'vitest';
import { calibrationSchema } from '../../src/core/events.js';
import { calibrateRawLoop, calibrationSeconds, combineCalibrations, harmonicMean } from '../../src/run/calibrate.js';
import { resolveWorkload } from '../../workloads/index.js';
import { testTopology } from '../helpers/cluster.js';

describe('combining workers', () => {
  it('takes harmonic means: the rate of equal work done at each rate', () => {
    expect(harmonicMean([100, 100])).toBe(100);
    // 1 example at 100/s and 1 at 300/s: 2 examples in 1/100 + 1/300 s = 150/s.
    expect(harmonicMean([100, 300])).toBeCloseTo(150, 12);
    expect(harmonicMean([])).toBe(0);
    expect(harmonicMean([100, 0])).toBe(0);
  });

  it('makes one schema-valid event of the workers', () => {
    const worker = (a: number, b: number) => ({
      configs: [
        { id: 0, examples: 1, trainSeconds: 1, examplesPerSecond: a },
        { id: 1, examples: 1, trainSeconds: 1, examplesPerSecond: b },
      ],
      examplesPerSecond: harmonicMean([a, b]),
      threads: 1,
      device: 'cpu',
    });
    const event = combineCalibrations([worker(100, 300), worker(100, 300)], 1, 42);
    expect(calibrationSchema.parse(event)).toEqual(event);
    expect(event.examplesPerSecond).toBeCloseTo(150, 12);
    expect(event.workers).toBe(2);
    expect(event.configs).toEqual([
      { config: 0, examplesPerSecond: 100 },
      { config: 1, examplesPerSecond: 300 },
    ]);
  });

  it('reads its budget from BENCH_CALIBRATION_SECONDS, refusing nonsense', () => {
    expect(calibrationSeconds({})).toBe(1);
    expect(calibrationSeconds({ BENCH_CALIBRATION_SECONDS: '0' })).toBe(0);
    expect(calibrationSeconds({ BENCH_CALIBRATION_SECONDS: '2.5' })).toBe(2.5);
    expect(() => calibrationSeconds({ BENCH_CALIBRATION_SECONDS: 'soon' })).toThrow(
      /BENCH_CALIBRATION_SECONDS must be/,
    );
  });
});

describe('calibrateRawLoop', () => {
  it("measures every config of the workload on each segment's worker with the real engine", async () => {
    const topology = await testTopology();
    const workload = resolveWorkload('criteo', 'tiny', 1);
    const pids: number[] = [];
    const started = Date.now();
    const event = await calibrateRawLoop(
      { workload, topology, threads: 1, signal: new AbortController().signal, trackPid: (pid) => pids.push(pid) },
      0.2,
    );
    expect(calibrationSchema.parse(event)).toEqual(event);
    expect(event.workers).toBe(topology.segments.length);
    expect(pids).toHaveLength(topology.segments.length);
    expect(event.threads).toBe(1);
    expect(event.device).toBe('cpu');
    expect(event.configs.map((c) => c.config)).toEqual(workload.configs.map((c) => c.id));
    expect(event.configs.every((c) => c.examplesPerSecond > 0)).toBe(true);
    // The run's rate is the harmonic mean over configs: between the slowest and the fastest.
    const rates = event.configs.map((c) => c.examplesPerSecond);
    expect(event.examplesPerSecond).toBeGreaterThanOrEqual(Math.min(...rates) * 0.999);
    expect(event.examplesPerSecond).toBeLessThanOrEqual(Math.max(...rates) * 1.001);
    expect(event.at).toBeGreaterThanOrEqual(started);
  });

  it('stops its processes when the run is interrupted', async () => {
    const topology = await testTopology();
    const workload = resolveWorkload('criteo', 'tiny', 1);
    const controller = new AbortController();
    const pids: number[] = [];
    const pending = calibrateRawLoop(
      { workload, topology, threads: 1, signal: controller.signal, trackPid: (pid) => pids.push(pid) },
      600,
    );
    setTimeout(() => controller.abort(new Error('interrupted')), 500);
    await expect(pending).rejects.toThrow(/interrupted/);
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  });
});
