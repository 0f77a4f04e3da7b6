// `bench run --repeat K` stores K run folders of the same inputs, which the report puts in one row
// with n = K (docs/measurement.md, "Repeats and spread").
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { table6 } from '../../reports/table6.js';
import { loadRun } from '../../src/store/read.js';
import { freshRunsDir, runCli } from '../resume/helpers.js';

const quick = { BENCH_CALIBRATION_SECONDS: '0' };

describe('bench run --repeat', () => {
  it('refuses a count that is not a whole number >= 1, and a repeated resume', async () => {
    const zero = await runCli(['run', '-a', 'export', '-w', 'criteo', '--repeat', '0'], quick);
    expect(zero.code).not.toBe(0);
    expect(zero.stderr).toContain('--repeat expects a whole number >= 1, got 0');
    const resumed = await runCli(['run', '-a', 'export', '-w', 'criteo', '--repeat', '2', '--resume', 'runs/x'], quick);
    expect(resumed.code).not.toBe(0);
    expect(resumed.stderr).toContain('--repeat continues nothing');
  });

  it('stores K complete runs of the same inputs: one Table 6 row with n = K', async () => {
    const runsDir = freshRunsDir('repeat');
    const args = ['run', '-a', 'export', '-w', 'criteo', '-s', 'tiny', '--repeat', '2', '--sample-ms', '0'];
    const done = await runCli([...args, '--runs-dir', runsDir, '--quiet'], quick, 480_000);
    expect(done.code, done.stderr).toBe(0);
    const folders = readdirSync(runsDir).map((name) => join(runsDir, name));
    expect(folders).toHaveLength(2);
    expect(done.stdout).toContain('report them together: npx bench report');
    const runs = await Promise.all(folders.map((dir) => loadRun(dir)));
    expect(runs.map((r) => r.summary.status)).toEqual(['complete', 'complete']);
    const rows = table6(runs).sections.flatMap((s) => s.rows);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ approach: 'export', label: 'Cerebro-Spark', runs: 2 });
    expect(rows[0].executionSeconds.n).toBe(2);
  });
});
