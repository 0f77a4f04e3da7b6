import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MEASUREMENT_VERSION } from '../../src/core/records.js';
import { expandRunPaths, loadRun, RunFolderError } from '../../src/store/read.js';
import { syntheticRun, writeRunFolder } from '../metrics/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'bench-read-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fresh(name: string, options: Parameters<typeof writeRunFolder>[2] = {}): string {
  const parent = join(root, name);
  mkdirSync(parent, { recursive: true });
  return writeRunFolder(parent, syntheticRun({ runId: `run-${name}` }), options);
}

async function expectFolderError(promise: Promise<unknown>, pattern: RegExp): Promise<RunFolderError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunFolderError);
  expect((error as Error).message).toMatch(pattern);
  return error as RunFolderError;
}

describe('loadRun', () => {
  it('loads and validates a complete run folder', async () => {
    const dir = fresh('ok');
    const run = await loadRun(dir);
    expect(run.info.runId).toBe('run-ok');
    expect(run.summary.status).toBe('complete');
    expect(run.summarySource).toBe('file');
    expect(run.events.length).toBeGreaterThan(10);
    expect(run.samples.length).toBeGreaterThan(3);
    expect(run.warnings).toEqual([]);
  });

  it('names the missing file', async () => {
    const dir = fresh('no-info');
    rmSync(join(dir, 'run.json'));
    const e = await expectFolderError(loadRun(dir), /run\.json: missing/);
    expect(e.file).toBe(join(dir, 'run.json'));
    const dir2 = fresh('no-events');
    rmSync(join(dir2, 'events.jsonl'));
    await expectFolderError(loadRun(dir2), /events\.jsonl: missing/);
    await expectFolderError(loadRun(join(root, 'nowhere')), /no such run folder/);
  });

  it('names the file and line of a malformed event', async () => {
    const dir = fresh('bad-line');
    const path = join(dir, 'events.jsonl');
    writeFileSync(
      path,
      '{"type":"phase","phase":"etl","edge":"start","at":1}\n' +
        '{"type":"span","kind":"sleep","start":0,"end":1}\n' +
        '{"type":"phase","phase":"etl","edge":"end","at":2}\n',
    );
    const e = await expectFolderError(loadRun(dir), /events\.jsonl:2: does not match the run-folder schema: kind/);
    expect(e.line).toBe(2);
    writeFileSync(
      path,
      '{"type":"phase","phase":"etl","edge":"start","at":1}\n{not json\n' +
        '{"type":"phase","phase":"etl","edge":"end","at":2}\n',
    );
    await expectFolderError(loadRun(dir), /events\.jsonl:2: is not valid JSON/);
  });

  it('names a malformed run.json and summary.json', async () => {
    const dir = fresh('bad-json');
    writeFileSync(join(dir, 'summary.json'), '{"formatVersion": 1}');
    await expectFolderError(loadRun(dir), /summary\.json: does not match the run-folder schema/);
    writeFileSync(join(dir, 'run.json'), '{');
    await expectFolderError(loadRun(dir), /run\.json: is not valid JSON/);
  });

  it('drops a torn last line (a run that died mid-write) with a warning', async () => {
    const dir = fresh('torn', { status: 'incomplete' });
    appendFileSync(join(dir, 'events.jsonl'), '{"type":"span","kind":"tra');
    const run = await loadRun(dir);
    expect(run.warnings.join('\n')).toMatch(/torn last line/);
  });

  it('derives an incomplete summary when summary.json is missing, unless one is required', async () => {
    const dir = fresh('no-summary', { summary: false });
    const run = await loadRun(dir);
    expect(run.summarySource).toBe('derived');
    expect(run.summary.status).toBe('incomplete');
    expect(run.summary.executionSeconds).toBeGreaterThan(0);
    await expectFolderError(loadRun(dir, { requireSummary: true }), /summary\.json: missing/);
  });

  it('recomputes a summary of older measurement definitions from the events, keeping its status', async () => {
    const dir = fresh('older');
    const older = {
      formatVersion: 1,
      runId: 'run-older',
      status: 'complete',
      finishedAt: '2025-01-01T01:00:00.000Z',
      etlSeconds: 1,
      breakdown: [],
      storage: { sourceBytes: 1, extraBytes: 0, blowup: 1 },
    };
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(older));
    const run = await loadRun(dir, { requireSummary: true });
    expect(run.summarySource).toBe('recomputed');
    expect(run.summary.status).toBe('complete');
    expect(run.summary.finishedAt).toBe(older.finishedAt);
    expect(run.summary.breakdown.length).toBeGreaterThan(0);
    expect(run.summary.storage).toBeNull();
    const recomputed = `measurement definitions v1; recomputed from the events with v${MEASUREMENT_VERSION}`;
    expect(run.warnings.join('\n')).toContain(recomputed);
  });

  it('keeps the storage sizes of a summary from version 3 on when it recomputes (the ETL measured them)', async () => {
    const dir = fresh('older-v3');
    const data = { storedBytes: 400, logicalBytes: 1000 };
    const copies = { storedBytes: 1000, logicalBytes: 1000 };
    const older = {
      formatVersion: 1,
      measurementVersion: 3,
      runId: 'run-older-v3',
      status: 'complete',
      finishedAt: '2025-01-01T01:00:00.000Z',
      storage: { data, copies, blowupStored: 3.5, blowupLogical: 2 },
    };
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(older));
    const run = await loadRun(dir, { requireSummary: true });
    expect(run.summarySource).toBe('recomputed');
    expect(run.summary.storage).toEqual({ data, copies, blowupStored: 3.5, blowupLogical: 2 });
    expect(run.warnings.join('\n')).toContain('(storage sizes kept)');
  });

  it('accepts a run without samples.jsonl (sampler off)', async () => {
    const dir = fresh('no-samples');
    rmSync(join(dir, 'samples.jsonl'));
    expect((await loadRun(dir)).samples).toEqual([]);
  });
});

describe('expandRunPaths', () => {
  const runs = join(root, 'expand');
  const a = writeRunFolder(runs, syntheticRun({ runId: '2025-ctq-a' }));
  const b = writeRunFolder(runs, syntheticRun({ runId: '2025-udaf-b' }));
  const c = writeRunFolder(runs, syntheticRun({ runId: '2025-ctq-c' }));
  mkdirSync(join(runs, 'not-a-run'));

  it('expands folders, folders of runs and globs, sorted and deduplicated', async () => {
    expect(await expandRunPaths([a])).toEqual([a]);
    expect(await expandRunPaths([runs])).toEqual([a, b, c].sort());
    expect(await expandRunPaths([join(runs, '*-ctq-*')])).toEqual([a, c]);
    expect(await expandRunPaths([join(runs, '2025-????-?'), a])).toEqual([a, b]);
    expect(await expandRunPaths([join(root, 'exp*', '*udaf*')])).toEqual([b]);
    expect(await expandRunPaths([join(a, 'summary.json')])).toEqual([a]);
  });

  it('fails on a path that does not exist or a pattern that matches no run', async () => {
    await expectFolderError(expandRunPaths([join(runs, 'missing')]), /no such run folder/);
    await expectFolderError(expandRunPaths([join(runs, '*-ddp-*')]), /matches no run folder/);
    await expectFolderError(expandRunPaths([join(runs, 'not-a-run')]), /neither a run folder/);
  });
});
