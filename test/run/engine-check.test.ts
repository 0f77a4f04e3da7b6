// The pre-run check proves the engine (docs/resume.md): with a Python that cannot import torch
// (BENCH_PYTHON), a worker approach is refused before the lock, the run folder and any ETL (it used
// to pass the check, fail after packing, and leave a folder that said to --resume); an in-DBMS
// approach trains in the segment backends whatever BENCH_PYTHON says, and run.json records the
// backends' torch (it used to record BENCH_PYTHON's: 'unavailable').
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSpec } from '../../approaches/resolve.js';
import { withClient } from '../../src/db/connect.js';
import { testTopology } from '../helpers/cluster.js';
import { cliCommand, freshRunsDir, readInfo, startCommand, waitFor } from '../resume/helpers.js';

let saved: string | undefined;
let pythonWithoutTorch = '';

beforeEach(() => {
  saved = process.env.BENCH_PYTHON;
  // A real interpreter that cannot see torch: Debian's python3 without its site-packages.
  const dir = freshRunsDir('python-without-torch');
  pythonWithoutTorch = join(dir, 'python3');
  writeFileSync(pythonWithoutTorch, '#!/bin/sh\nexec /usr/bin/python3 -I -S "$@"\n');
  chmodSync(pythonWithoutTorch, 0o755);
  process.env.BENCH_PYTHON = pythonWithoutTorch;
});

afterEach(() => {
  if (saved === undefined) delete process.env.BENCH_PYTHON;
  else process.env.BENCH_PYTHON = saved;
});

describe('the pre-run check imports torch before anything happens', () => {
  it('export with a Python without torch is refused; no run folder, no lock, no ETL', async () => {
    const runsDir = freshRunsDir('engine-check');
    const run = runSpec({
      approach: 'export',
      workload: 'criteo',
      scale: 'tiny',
      topology: await testTopology(),
      runsDir,
      sampleIntervalMs: 0,
    });
    await expect(run).rejects.toThrow(
      new RegExp(
        `export cannot run here:\\n  - ${pythonWithoutTorch} ` +
          'cannot import the engine \\(torch, numpy, bench_engine\\): ' +
          "ModuleNotFoundError: No module named 'torch' \\(fix: bash infra/setup.sh",
      ),
    );
    expect(readdirSync(runsDir)).toEqual([]);
  });

  it("udaf trains in the segment backends: run.json records their torch, not BENCH_PYTHON's", async () => {
    const topology = await testTopology();
    const backendTorch = await withClient(topology.segments[0], async (client) => {
      const { rows } = await client.query<{ v: string }>('SELECT bench_engine_versions() AS v');
      return (JSON.parse(rows[0].v) as { torch: string }).torch;
    });
    expect(backendTorch).toMatch(/^\d+\.\d+/);
    // The CLI, so that BENCH_PYTHON is set before anything reads it; stopped once run.json exists.
    const runsDir = freshRunsDir('engine-udaf');
    const args = ['run', '-a', 'udaf', '-w', 'criteo', '-s', 'tiny', '--runs-dir', runsDir, '--sample-ms', '0'];
    const { child, done } = startCommand(cliCommand(args), { BENCH_PYTHON: pythonWithoutTorch });
    const runDir = await waitFor('run.json', () => {
      const [name] = readdirSync(runsDir);
      return name && existsSync(join(runsDir, name, 'run.json')) ? join(runsDir, name) : undefined;
    });
    process.kill(-child.pid!, 'SIGINT');
    expect((await done).code).toBe(130);
    expect(readInfo(runDir).environment.torch).toBe(backendTorch);
  });
});
