// The report and compare commands end to end on run folders: exit codes and messages.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureConsole } from '../helpers/console.js';
import { compareCommand } from '../../src/cli/commands/compare.js';
import { reportCommand } from '../../src/cli/commands/report.js';
import { syntheticRun, writeRunFolder } from '../metrics/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'bench-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const base = join(root, 'base');
const same = join(root, 'same');
const slow = join(root, 'slow');
const other = join(root, 'other');
for (let i = 0; i < 3; i++) {
  const jitter = 1 + 0.01 * (i - 1);
  writeRunFolder(base, syntheticRun({ runId: `base-${i}`, slow: jitter }));
  writeRunFolder(same, syntheticRun({ runId: `same-${i}`, slow: jitter * 1.01 }));
  writeRunFolder(slow, syntheticRun({ runId: `slow-${i}`, slow: jitter * 1.4 }));
}
const otherRun = syntheticRun({ runId: 'other-0' });
otherRun.info.environment.torch = '9.9.9';
writeRunFolder(other, otherRun);

const { out, err } = captureConsole();

async function compare(baseline: string, candidate: string, maxSlowdown = 1.1): Promise<number> {
  const args = {
    runs: [baseline, candidate],
    metric: 'seconds',
    format: 'table',
    'max-slowdown': maxSlowdown,
    alpha: 0.05,
    'allow-env-diff': [],
  };
  await compareCommand.handler({ _: [], $0: 'bench', ...args } as never);
  return Number(process.exitCode ?? 0);
}

describe('bench compare', () => {
  it('exits 0 on a clean pair and prints the table', async () => {
    expect(await compare(base, same)).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/execution time/);
    expect(text).toMatch(/welch p=/);
    expect(text).toMatch(/verdict: no regression/);
  });

  it('exits 1 on a slowdown', async () => {
    expect(await compare(base, join(root, 'slow', 'slow-*'))).toBe(1);
    expect(out.join('\n')).toMatch(/REGRESSION/);
  });

  it('exits 2 when environments differ, naming the field', async () => {
    expect(await compare(base, other)).toBe(2);
    expect(err.join('\n')).toMatch(/torch is "2\.1\.0".*vs "9\.9\.9"/);
  });

  it('exits 2 on a missing or malformed folder, naming the file', async () => {
    expect(await compare(base, join(root, 'nowhere'))).toBe(2);
    expect(err.join('\n')).toMatch(/nowhere: no such run folder/);
    const broken = writeRunFolder(join(root, 'broken'), syntheticRun({ runId: 'broken' }));
    writeFileSync(join(broken, 'events.jsonl'), '{"type":"nope"}\n');
    expect(await compare(base, broken)).toBe(2);
    expect(err.join('\n')).toMatch(/events\.jsonl:1: does not match/);
    const unfinished = writeRunFolder(
      join(root, 'unfinished'),
      syntheticRun({ runId: 'unfinished', complete: false }),
      { summary: false },
    );
    expect(await compare(base, unfinished)).toBe(2);
    expect(err.join('\n')).toMatch(/summary\.json: missing/);
  });
});

describe('bench report', () => {
  it('writes the report and says where', async () => {
    const dir = join(root, 'report-out');
    await reportCommand.handler({ _: [], $0: 'bench', runs: [base, join(slow, 'slow-0')], out: dir } as never);
    expect(process.exitCode ?? 0).toBe(0);
    expect(existsSync(join(dir, 'index.html'))).toBe(true);
    expect(out.join('\n')).toMatch(/report of 4 run\(s\)/);
  });

  it('exits 2 on a folder that is not a run', async () => {
    await reportCommand.handler({ _: [], $0: 'bench', runs: [join(root, 'nowhere')], out: join(root, 'x') } as never);
    expect(process.exitCode).toBe(2);
    expect(err.join('\n')).toMatch(/no such run folder/);
  });
});
