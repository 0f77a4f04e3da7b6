// Hand-built, schema-valid run data for the metrics and report suites.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarize } from '../../src/metrics/summarize.js';
import type { LoadedRun } from '../../src/core/records.js';
import { FORMAT_VERSION, type DataBytes, type RunInfo, type Sample } from '../../src/core/records.js';
import type { Phase, RunEvent, Span, SpanKind } from '../../src/core/events.js';

export function runInfo(overrides: Partial<RunInfo> = {}): RunInfo {
  return {
    formatVersion: FORMAT_VERSION,
    runId: 'run-1',
    approach: 'ctq',
    workload: 'criteo',
    scale: 'tiny',
    segments: 2,
    seed: 1,
    epochs: 2,
    options: {},
    configs: [
      { id: 0, arch: 'mlp', batchSize: 32, learningRate: 1e-3, l2: 1e-4, hidden: [8], label: 'mlp b32 lr1e-3' },
      { id: 1, arch: 'mlp', batchSize: 64, learningRate: 1e-2, l2: 1e-4, hidden: [8], label: 'mlp b64 lr1e-2' },
    ],
    dataset: { kind: 'criteo', trainRows: 1000 },
    startedAt: '2025-01-01T00:00:00.000Z',
    environment: {
      gitSha: 'abc123',
      gitDirty: false,
      node: 'v20.20.2',
      python: '3.11.2',
      torch: '2.1.0',
      postgres: '15.10',
      postgresSettings: { jit: 'off' },
      os: 'linux',
      cpuModel: 'Test CPU',
      cpuCores: 2,
      memoryBytes: 24e9,
      gpu: null,
      packages: { vega: '6.4.0' },
    },
    ...overrides,
  };
}

export function span(kind: SpanKind, start: number, end: number, extra: Partial<Span> = {}): Span {
  return { type: 'span', kind, start, end, ...extra };
}

export function phase(p: Phase, edge: 'start' | 'end', at: number): RunEvent {
  return { type: 'phase', phase: p, edge, at };
}

export function sample(
  t: number,
  overrides: {
    cpu?: number;
    mem?: number;
    net?: number;
    read?: number;
    write?: number;
    rss?: number;
    gpu?: Sample['gpu'];
  } = {},
): Sample {
  return {
    t,
    system: {
      cpuPct: overrides.cpu ?? 50,
      memUsedBytes: (overrides.mem ?? 25) * 1e8,
      memTotalBytes: 1e10,
      diskReadBytes: 0,
      diskWriteBytes: 0,
      netRxBytes: (overrides.net ?? 0) / 2,
      netTxBytes: (overrides.net ?? 0) / 2,
    },
    tree: {
      pids: 3,
      cpuPct: 10,
      rssBytes: overrides.rss ?? 1000,
      readBytes: overrides.read ?? 0,
      writeBytes: overrides.write ?? 0,
    },
    gpu: overrides.gpu ?? null,
  };
}

/**
 * A plausible complete run: ETL 0..1000 ms, execution 1000..(1000 + epochs*2000) ms; in each
 * epoch every segment trains config (segment+epoch)%configs with a data span, a hop and a
 * validation, with `slow` scaling every duration (for injected slowdowns).
 */
export function syntheticRun(options: {
  runId: string;
  approach?: string;
  workload?: string;
  epochs?: number;
  segments?: number;
  slow?: number;
  t0?: number;
  gpu?: boolean;
  complete?: boolean;
  /** Records a calibration event (the raw loop's examples/s per worker) before execution. */
  rawExamplesPerSecond?: number;
  environment?: Partial<RunInfo['environment']>;
  threads?: number;
  options?: RunInfo['options'];
}): { info: RunInfo; events: RunEvent[]; samples: Sample[] } {
  const epochs = options.epochs ?? 2;
  const segments = options.segments ?? 2;
  const slow = options.slow ?? 1;
  const t0 = options.t0 ?? 1_700_000_000_000;
  const info = runInfo({
    runId: options.runId,
    approach: options.approach ?? 'ctq',
    workload: options.workload ?? 'criteo',
    epochs,
    segments,
    environment: { ...runInfo().environment, gpu: options.gpu ? 'NVIDIA H100' : null, ...options.environment },
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.options === undefined ? {} : { options: options.options }),
  });
  const events: RunEvent[] = [phase('etl', 'start', t0), phase('etl', 'end', t0 + 1000 * slow)];
  if (options.rawExamplesPerSecond !== undefined) {
    events.push({
      type: 'calibration',
      examplesPerSecond: options.rawExamplesPerSecond,
      workers: segments,
      threads: options.threads ?? 1,
      budgetSeconds: 1,
      configs: [0, 1].map((config) => ({ config, examplesPerSecond: options.rawExamplesPerSecond ?? 0 })),
      device: 'cpu',
      at: t0 + 1000 * slow,
    });
  }
  events.push(phase('execution', 'start', t0 + 1000 * slow));
  let t = t0 + 1000 * slow;
  // Epochs count from 0, as the harness's events do (a killed run stops an epoch short).
  const epochsRun = options.complete === false ? Math.max(1, epochs - 1) : epochs;
  for (let epoch = 0; epoch < epochsRun; epoch++) {
    for (let round = 0; round < 2; round++) {
      const config = round;
      for (let segment = 0; segment < segments; segment++) {
        const base = t + segment * 50 * slow;
        events.push(span('model-hop', base, base + 50 * slow, { segment, config, epoch }));
        events.push(span('data', base + 50 * slow, base + 250 * slow, { segment, config, epoch, bytes: 1e6 }));
        events.push(span('train', base + 100 * slow, base + 700 * slow, { segment, config, epoch }));
        events.push(span('valid', base + 700 * slow, base + 800 * slow, { segment, config, epoch }));
        events.push({ type: 'unit', config, segment, epoch, lossSum: 0.5, examples: 1, at: base + 800 * slow });
        events.push({ type: 'counter', transport: 'model-store', bytes: 4096, at: base + 50 * slow, segment });
        events.push({ type: 'counter', transport: 'sql', bytes: 1e6, at: base + 250 * slow, segment });
      }
      events.push(span('schedule', t + 900 * slow, t + 1000 * slow));
      t += 1000 * slow;
    }
    for (let config = 0; config < 2; config++) {
      const loss = 1 / (epoch + 1 + config) + (options.approach === 'ma' ? 0.3 : 0);
      events.push({
        type: 'epoch',
        config,
        epoch,
        trainLoss: loss * 0.9,
        validLoss: loss,
        validAccuracy: 1 - loss / 2,
        trainExamples: 1000,
        at: t,
      });
    }
  }
  if (options.complete !== false) events.push(phase('execution', 'end', t));
  const samples: Sample[] = [];
  for (let s = t0; s <= t + 500; s += 500) {
    const i = (s - t0) / 500;
    samples.push(
      sample(s, {
        cpu: 40 + (i % 3),
        mem: 30,
        net: i * 1e5,
        read: i * 1e4,
        write: i * 2e4,
        rss: 1e8 + i,
        gpu: options.gpu ? { utilPct: 60, memUsedBytes: 40, memTotalBytes: 80 } : null,
      }),
    );
  }
  return { info, events, samples };
}

export type StorageSizes = { data: DataBytes; copies: DataBytes };

/** Data and copies of the given logical sizes, stored at half their logical size (compressed). */
export function storageSizes(dataBytes: number, copyBytes: number): StorageSizes {
  return {
    data: { storedBytes: dataBytes / 2, logicalBytes: dataBytes },
    copies: { storedBytes: copyBytes, logicalBytes: copyBytes },
  };
}

/** Writes a schema-valid run folder under `parent`; returns its path. */
export function writeRunFolder(
  parent: string,
  run: { info: RunInfo; events: RunEvent[]; samples: Sample[] },
  options: { status?: 'complete' | 'incomplete'; summary?: boolean; storage?: StorageSizes } = {},
): string {
  const dir = join(parent, run.info.runId);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run.json'), JSON.stringify(run.info, null, 2));
  writeFileSync(join(dir, 'events.jsonl'), run.events.map((e) => JSON.stringify(e) + '\n').join(''));
  writeFileSync(join(dir, 'samples.jsonl'), run.samples.map((s) => JSON.stringify(s) + '\n').join(''));
  if (options.summary !== false) {
    const status = options.status ?? 'complete';
    const summary = summarize({
      info: run.info,
      events: run.events,
      samples: run.samples,
      status,
      storage: options.storage ?? storageSizes(1e6, run.info.approach === 'export' ? 1e6 : 0),
      finishedAt: status === 'complete' ? '2025-01-01T01:00:00.000Z' : null,
    });
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2));
  }
  return dir;
}

/** An in-memory LoadedRun (as loadRun would return it) from a synthetic run. */
export function loadedRun(
  run: { info: RunInfo; events: RunEvent[]; samples: Sample[] },
  status: 'complete' | 'incomplete' = 'complete',
): LoadedRun {
  const summary = summarize({
    info: run.info,
    events: run.events,
    samples: run.samples,
    status,
    storage: storageSizes(1e6, 0),
    finishedAt: status === 'complete' ? '2025-01-01T01:00:00.000Z' : null,
  });
  return { dir: `/runs/${run.info.runId}`, ...run, summary, summarySource: 'file', warnings: [] };
}
