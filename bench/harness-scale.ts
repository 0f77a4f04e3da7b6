// What the harness itself costs at the scale of a large run (issue 11 part 6): the event log, the
// epoch book, the scheduler and its driver, the summary, and the sampler, at 64 segments x 256
// configs x 10 epochs (163,840 units, about 10^6 events) with simulated workers.
//
//   npx tsx bench/harness-scale.ts [--segments 64] [--configs 256] [--epochs 10] [--unit-ms 250]
//
// 1. The event stream of such a run, produced by the real async-random scheduler and driver with
//    workers that finish at once, goes through what the harness does per event (append to
//    events.jsonl, keep in memory, the epoch book): its CPU time, against the wall time the run
//    would take if a unit took --unit-ms on each of the segments.
// 2. summary.json built from those events (summarize), and the folder read back (loadRun).
// 3. One resource sample of a process tree the size of such a run's (segments x 3 processes), at
//    1 Hz: its CPU time per second.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Argv } from 'yargs';
import { EpochBook } from '../src/core/epoch-book.js';
import type { RunEvent, TrainEvent } from '../src/core/events.js';
import { FORMAT_VERSION, type RunInfo } from '../src/core/records.js';
import { SampleTaker } from '../src/metrics/sampler.js';
import { summarize } from '../src/metrics/summarize.js';
import { createAsyncRandomScheduler } from '../src/sched/async-random.js';
import { runSchedule } from '../src/sched/driver.js';
import { loadRun } from '../src/store/read.js';
import { RunFolder } from '../src/store/run-folder.js';
import { printTargets, runBench } from './lib/entry.js';

interface Args {
  segments: number;
  configs: number;
  epochs: number;
  'unit-ms': number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function runInfo(args: Args): RunInfo {
  return {
    formatVersion: FORMAT_VERSION,
    runId: 'harness-scale',
    approach: 'simulated',
    workload: 'simulated',
    scale: 'simulated',
    segments: args.segments,
    seed: 1,
    epochs: args.epochs,
    options: {},
    configs: Array.from({ length: args.configs }, (_, id) => ({
      id,
      arch: 'mlp' as const,
      batchSize: 32,
      learningRate: 1e-3,
      l2: 1e-4,
      label: `c${id}`,
    })),
    dataset: { name: 'simulated' },
    startedAt: new Date().toISOString(),
    environment: {
      gitSha: '',
      gitDirty: false,
      node: process.version,
      python: '',
      torch: '',
      postgres: '',
      postgresSettings: {},
      os: '',
      cpuModel: '',
      cpuCores: 0,
      memoryBytes: 0,
      gpu: null,
      packages: {},
    },
  };
}

/** Streams a simulated run's events through the harness's per-event path; returns its CPU ms and the events. */
async function eventStream(args: Args, folder: RunFolder): Promise<{ cpu: number; wall: number; events: RunEvent[] }> {
  const emitted: RunEvent[] = [];
  const record = (event: RunEvent): void => {
    emitted.push(event);
    folder.append(event);
  };
  const { segments, configs, epochs } = args;
  const book = new EpochBook((event: TrainEvent) => record(event), { configs, segments });
  const scheduler = createAsyncRandomScheduler({ configs, segments, epochs, seed: 1 });
  // Virtual times: each unit takes unit-ms on its segment; events carry those times.
  const clock = new Float64Array(segments);
  const cpu0 = cpuMs();
  const wall0 = performance.now();
  record({ type: 'phase', phase: 'execution', edge: 'start', at: 0 });
  await runSchedule({
    scheduler,
    segments,
    runUnit: async (unit) => {
      book.unitStarted(unit);
      const start = clock[unit.segment];
      const end = start + args['unit-ms'];
      clock[unit.segment] = end;
      const where = { segment: unit.segment, config: unit.config, epoch: unit.epoch };
      record({ type: 'span', kind: 'model-hop', start, end: start + 1, bytes: 3e6, ...where });
      record({ type: 'span', kind: 'data', start: start + 1, end: start + 2, ...where });
      record({ type: 'span', kind: 'train', start: start + 2, end, ...where });
      record({ type: 'counter', transport: 'model-store', bytes: 3e6, at: end, segment: unit.segment });
      book.unitDone(unit, { lossSum: 0.5 * 1000, examples: 1000, modelVersion: unit.epoch * segments + 1 });
    },
    onEpochComplete: async (epoch) => {
      const at = Math.max(...clock);
      for (let config = 0; config < configs; config++) {
        record({ type: 'span', kind: 'valid', start: at, end: at + 5, segment: config % segments, config, epoch });
        book.validated(epoch, { config, lossSum: 100, correct: 80, examples: 200 });
      }
      clock.fill(at + 5);
    },
  });
  record({ type: 'phase', phase: 'execution', edge: 'end', at: Math.max(...clock) });
  return { cpu: cpuMs() - cpu0, wall: performance.now() - wall0, events: emitted };
}

async function sampleCost(processes: number): Promise<number> {
  const children: ChildProcess[] = Array.from({ length: processes }, () =>
    spawn('sleep', ['600'], { stdio: 'ignore' }),
  );
  try {
    await new Promise((r) => setTimeout(r, 300));
    const workers = children.map((c) => c.pid ?? 0).filter((pid) => pid > 0);
    const taker = new SampleTaker(() => [
      { name: 'engine workers', pids: workers },
      { name: 'harness', pids: [process.pid] },
    ]);
    const n = 20;
    const cpu0 = cpuMs();
    for (let i = 0; i < n; i++) taker.take();
    return (cpuMs() - cpu0) / n;
  } finally {
    for (const child of children) child.kill();
  }
}

await runBench<Args>({
  name: 'bench/harness-scale.ts',
  describe:
    'the harness own cost (event log, epoch book, scheduler, summary, sampler) at 64 segments x 256 ' +
    'configs x 10 epochs',
  options: (argv: Argv<object>) =>
    argv
      .option('segments', { type: 'number', default: 64 })
      .option('configs', { type: 'number', default: 256 })
      .option('epochs', { type: 'number', default: 10 })
      .option('unit-ms', {
        type: 'number',
        default: 250,
        describe: 'the simulated duration of one unit (a criteo/small sub-epoch is ~250 ms here)',
      }) as Argv<Args>,
  async main(args) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-harness-scale-'));
    try {
      const info = runInfo(args);
      const folder = RunFolder.create(dir, info);
      const stream = await eventStream(args, folder);
      const units = args.segments * args.configs * args.epochs;
      const runWallMs = (units * args['unit-ms']) / args.segments + args.epochs * 5;
      const logBytes = statSync(join(folder.dir, 'events.jsonl')).size;
      console.log(
        `${stream.events.length.toLocaleString()} events (${units.toLocaleString()} units), ` +
          `events.jsonl ${(logBytes / 1e6).toFixed(0)} MB`,
      );
      console.log(
        `event path (append + memory + epoch book + scheduler + driver): ${(stream.cpu / 1000).toFixed(2)} s ` +
          `CPU, ${(stream.wall / 1000).toFixed(2)} s wall`,
      );
      console.log(
        `the simulated run: ${(runWallMs / 1000).toFixed(0)} s of wall time at ${args['unit-ms']} ms ` +
          `per unit on ${args.segments} segments`,
      );

      const t0 = performance.now();
      const input = { info, events: stream.events, samples: [], storage: null, finishedAt: null };
      const summary = summarize({ ...input, status: 'complete' });
      const summarizeMs = performance.now() - t0;
      console.log(
        `summarize: ${(summarizeMs / 1000).toFixed(2)} s ` +
          `(${summary.epochSeconds.length} epochs, ${summary.metrics.length} metrics)`,
      );
      const t1 = performance.now();
      const loaded = await loadRun(folder.dir);
      const loadMs = performance.now() - t1;
      console.log(
        `loadRun (read back, schema-checked, summary derived): ${(loadMs / 1000).toFixed(2)} s ` +
          `(${loaded.events.length.toLocaleString()} events)`,
      );

      const processes = args.segments * 3;
      const perSample = await sampleCost(processes);
      console.log(`one resource sample of a ${processes + 1}-process tree: ${perSample.toFixed(2)} ms CPU`);

      const missed = printTargets(
        'Harness at scale',
        [
          {
            name: 'event path CPU / run wall time',
            measured: stream.cpu / runWallMs,
            bound: 0.01,
            direction: '<=',
            note: `${args['unit-ms']} ms units`,
          },
          {
            name: 'sampler CPU per second at 1 Hz',
            measured: perSample / 1000,
            bound: 0.01,
            direction: '<=',
            note: `${processes + 1} processes`,
          },
          {
            name: `summary of ${(stream.events.length / 1e6).toFixed(2)}M events, seconds`,
            measured: summarizeMs / 1000,
            bound: 5,
            direction: '<=',
          },
        ],
        4,
      );
      if (missed > 0) process.exitCode = 1;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
