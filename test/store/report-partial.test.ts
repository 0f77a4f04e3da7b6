// One unreadable run folder no longer makes `bench report` refuse the others: the readable ones are
// reported, each unreadable one is named, and the command fails only when none could be read.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureConsole } from '../helpers/console.js';
import { reportCommand } from '../../src/cli/commands/report.js';
import { syntheticRun, writeRunFolder } from '../metrics/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'bench-report-partial-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const runs = join(root, 'runs');
writeRunFolder(runs, syntheticRun({ runId: 'good' }));
// Unreadable: events.jsonl is a folder (EISDIR), and another folder's run.json is not JSON.
const eisdir = writeRunFolder(runs, syntheticRun({ runId: 'eisdir' }));
rmSync(join(eisdir, 'events.jsonl'));
mkdirSync(join(eisdir, 'events.jsonl'));
const garbled = writeRunFolder(runs, syntheticRun({ runId: 'garbled' }));
writeFileSync(join(garbled, 'run.json'), '{"formatVersion": 1, "runId": ');

const { out, err } = captureConsole();

describe('bench report with unreadable run folders', () => {
  it('reports the readable runs and names each unreadable folder', async () => {
    const dir = join(root, 'out');
    await reportCommand.handler({ _: [], $0: 'bench', runs: [runs], out: dir } as never);
    expect(process.exitCode ?? 0).toBe(0);
    expect(existsSync(join(dir, 'index.html'))).toBe(true);
    expect(out.join('\n')).toMatch(/^report of 1 run\(s\)/);
    const said = err.join('\n');
    expect(said).toContain(`warning: left out ${eisdir}: ${join(eisdir, 'events.jsonl')}: cannot be read: EISDIR`);
    expect(said).toContain(`warning: left out ${garbled}: ${join(garbled, 'run.json')}: is not valid JSON`);
    expect(said).toContain(
      `warning: 2 run folder(s) could not be read and are left out of the report: ${eisdir}, ${garbled}`,
    );
  });

  it('exits 2 when no folder can be read, naming each', async () => {
    await reportCommand.handler({ _: [], $0: 'bench', runs: [eisdir, garbled], out: join(root, 'none') } as never);
    expect(process.exitCode).toBe(2);
    const said = err.join('\n');
    expect(said).toContain('no run folder could be read');
    expect(said).toContain(join(eisdir, 'events.jsonl'));
    expect(said).toContain(join(garbled, 'run.json'));
  });
});
