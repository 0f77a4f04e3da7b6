// The run folder writer: events are on disk as soon as they are emitted, a torn last line (the
// process died mid-write) is dropped on resume while damage elsewhere is reported, and a complete
// run refuses to be resumed.
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  RunFolder,
  RunFolderWriteError,
  UnusableFolderError,
  newRunId,
  prepareWritableFolder,
} from '../../src/store/run-folder.js';
import { FORMAT_VERSION, MEASUREMENT_VERSION, type RunInfo, type Summary } from '../../src/core/records.js';
import { withComponents } from '../../src/metrics/summarize.js';

function info(runId: string): RunInfo {
  return {
    formatVersion: FORMAT_VERSION,
    runId,
    approach: 'export',
    workload: 'criteo',
    scale: 'tiny',
    segments: 2,
    seed: 1,
    epochs: 1,
    options: {},
    configs: [{ id: 0, arch: 'mlp', batchSize: 32, learningRate: 0.001, l2: 0.0001, hidden: [8], label: 'mlp' }],
    dataset: { name: 'criteo_tiny' },
    startedAt: new Date(0).toISOString(),
    environment: {
      gitSha: 'abc',
      gitDirty: false,
      node: 'v20',
      python: '3.11',
      torch: '2',
      postgres: '15',
      postgresSettings: {},
      os: 'Linux',
      cpuModel: 'cpu',
      cpuCores: 2,
      memoryBytes: 1,
      gpu: null,
      packages: {},
    },
  };
}

function summary(runId: string, status: 'complete' | 'incomplete'): Summary {
  return {
    formatVersion: FORMAT_VERSION,
    measurementVersion: MEASUREMENT_VERSION,
    runId,
    status,
    finishedAt: null,
    etlSeconds: 1,
    startupSeconds: 0,
    calibrationSeconds: 0,
    executionSeconds: 2,
    epochSeconds: [2],
    outsideEpochsSeconds: 0,
    breakdown: [
      withComponents(
        { train: 1, valid: 0, 'engine-init': 0, data: 0.5, 'model-hop': 0.25, idle: 0.25, average: 0, schedule: 0 },
        0,
      ),
    ],
    metrics: [],
    transportBytes: {},
    bytes: { byTransport: {}, execution: { network: 0, disk: 0, local: 0 }, etl: 0, startup: 0 },
    storage: null,
    unitsCompleted: 0,
    unitsRetried: 0,
    resources: null,
  };
}

describe('run folder', () => {
  it('writes each event the moment it is appended and reads them back', () => {
    const runs = mkdtempSync(join(tmpdir(), 'bench-store-'));
    const runId = newRunId('export', 'criteo', 'tiny');
    expect(runId).toMatch(/^\d{8}-\d{6}-export-criteo-tiny-[a-z0-9]+$/);
    const folder = RunFolder.create(runs, info(runId));
    folder.append({ type: 'phase', phase: 'etl', edge: 'start', at: 1 });
    expect(readFileSync(join(folder.dir, 'events.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    folder.append({ type: 'unit', config: 0, segment: 1, epoch: 0, lossSum: 3, examples: 4, at: 2 });
    expect(folder.readEvents().map((e) => e.type)).toEqual(['phase', 'unit']);
  });

  it('drops a torn last line but reports a malformed line in the middle', () => {
    const runs = mkdtempSync(join(tmpdir(), 'bench-store-'));
    const folder = RunFolder.create(runs, info('r1'));
    folder.append({ type: 'phase', phase: 'etl', edge: 'start', at: 1 });
    appendFileSync(join(folder.dir, 'events.jsonl'), '{"type":"unit","config":0,"seg');
    expect(RunFolder.open(folder.dir).readEvents()).toHaveLength(1);
    appendFileSync(join(folder.dir, 'events.jsonl'), '\n{"type":"phase","phase":"etl","edge":"end","at":2}\n');
    expect(() => RunFolder.open(folder.dir).readEvents()).toThrow(/events\.jsonl:2 is malformed/);
  });

  it('resumes an incomplete run and refuses a complete one', () => {
    const runs = mkdtempSync(join(tmpdir(), 'bench-store-'));
    const folder = RunFolder.create(runs, info('r2'));
    folder.writeSummary(summary('r2', 'incomplete'));
    expect(RunFolder.open(folder.dir).info.runId).toBe('r2');
    folder.writeSummary(summary('r2', 'complete'));
    expect(() => RunFolder.open(folder.dir)).toThrow(/already complete/);
    expect(() => RunFolder.open(join(runs, 'missing'))).toThrow(/not a run folder: run\.json is missing/);
  });

  it('cuts a torn last line off before a resumed attempt appends', () => {
    const runs = mkdtempSync(join(tmpdir(), 'bench-store-'));
    const folder = RunFolder.create(runs, info('r3'));
    folder.append({ type: 'phase', phase: 'etl', edge: 'start', at: 1 });
    expect(folder.dropTornLine()).toBe(false);
    appendFileSync(folder.eventsPath, '{"type":"unit","config":0,"seg');
    expect(folder.dropTornLine()).toBe(true);
    folder.append({ type: 'phase', phase: 'etl', edge: 'end', at: 2 });
    expect(folder.readEvents().map((e) => e.type)).toEqual(['phase', 'phase']);
  });

  it('names the file a failed write was for', () => {
    const runs = mkdtempSync(join(tmpdir(), 'bench-store-'));
    const folder = RunFolder.create(runs, info('r4'));
    // events.jsonl replaced by a folder: appending to it fails for root too.
    rmSync(folder.eventsPath);
    mkdirSync(folder.eventsPath);
    expect(() => folder.append({ type: 'phase', phase: 'etl', edge: 'start', at: 1 })).toThrow(RunFolderWriteError);
    expect(() => folder.append({ type: 'phase', phase: 'etl', edge: 'start', at: 1 })).toThrow(
      `cannot write ${folder.eventsPath} (EISDIR: illegal operation on a directory)`,
    );
  });
});

describe('prepareWritableFolder', () => {
  it('creates missing folders one level at a time and proves it can write there', () => {
    const root = mkdtempSync(join(tmpdir(), 'bench-store-'));
    const dir = join(root, 'a', 'b', 'runs');
    expect(prepareWritableFolder(dir, 'the runs directory')).toBe(dir);
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses /proc/forbidden at once (a recursive mkdir spins there) and a file in the way', () => {
    expect(() => prepareWritableFolder('/proc/forbidden/runs', 'the runs directory')).toThrow(UnusableFolderError);
    expect(() => prepareWritableFolder('/proc/forbidden/runs', 'the runs directory')).toThrow(
      'the runs directory /proc/forbidden/runs is unusable: cannot create /proc/forbidden ' +
        '(ENOENT: no such file or directory)',
    );
    const root = mkdtempSync(join(tmpdir(), 'bench-store-'));
    writeFileSync(join(root, 'file'), '');
    expect(() => prepareWritableFolder(join(root, 'file', 'runs'), 'the runs directory')).toThrow(
      `${join(root, 'file')} is a file, not a folder`,
    );
    expect(() => prepareWritableFolder('/proc/self', 'the runs directory')).toThrow(/cannot create files in it/);
  });
});
