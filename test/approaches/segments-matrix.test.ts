// Every registered approach runs on clusters of 1, 4 and 8 segments (2 is the contract suite's),
// on both workloads at tiny scale, and trains exactly configs x segments x epochs sub-epochs, each
// (config, segment, epoch) once. Each size is its own embedded cluster (BENCH_HOME per size, so
// they sit side by side and survive between test runs), driven by a child process.
// BENCH_MATRIX_SEGMENTS=2,3 runs other sizes (the note's full matrix is 1,2,3,4,8).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { approachIds } from '../../approaches/index.js';
import { repoRoot } from '../../src/core/paths.js';
import { resolveWorkload } from '../../workloads/index.js';

const SIZES = (process.env.BENCH_MATRIX_SEGMENTS ?? '1,4,8').split(',').map(Number);
const WORKLOADS = ['criteo', 'imagenet'];

interface MatrixLine {
  segments: number;
  workload: string;
  approach: string;
  status?: string;
  units?: string[];
  error?: string;
  seconds: number;
}

function runMatrix(segments: number): Promise<{ lines: MatrixLine[]; output: string; code: number | null }> {
  const runsDir = mkdtempSync(join(tmpdir(), `bench-matrix-${segments}-`));
  const home = join(repoRoot(), '.bench-matrix', `s${segments}`);
  // Made first (world-traversable): the postgres user must reach the cluster under it.
  mkdirSync(home, { recursive: true, mode: 0o755 });
  const env = { ...process.env, BENCH_HOME: home };
  const args = [
    '--import',
    'tsx',
    'test/approaches/fixtures/matrix-runner.ts',
    String(segments),
    approachIds().join(','),
    WORKLOADS.join(','),
    runsDir,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot(), env });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => {
      const lines = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as MatrixLine);
      resolve({ lines, output, code });
    });
  });
}

describe.each(SIZES)('every approach on %i segment(s)', (segments) => {
  it('completes both tiny workloads with every sub-epoch exactly once', { timeout: 3_600_000 }, async () => {
    const { lines, output, code } = await runMatrix(segments);
    expect(code, output).toBe(0);
    expect(lines.map((l) => `${l.workload}/${l.approach}`)).toEqual(
      WORKLOADS.flatMap((w) => approachIds().map((a) => `${w}/${a}`)),
    );
    for (const line of lines) {
      const what = `${line.approach} on ${line.workload}, ${segments} segments`;
      expect(line.error, what).toBeUndefined();
      expect(line.status, what).toBe('complete');
      const workload = resolveWorkload(line.workload, 'tiny', 1);
      const units = line.units ?? [];
      expect(units, what).toHaveLength(workload.configs.length * segments * workload.epochs);
      expect(new Set(units).size, what).toBe(units.length);
    }
    const seconds = lines.reduce((sum, l) => sum + l.seconds, 0);
    console.log(
      `${segments} segments: ${lines.length} runs in ${seconds.toFixed(0)} s ` +
        `(${lines.map((l) => `${l.workload}/${l.approach} ${l.seconds.toFixed(0)} s`).join(', ')})`,
    );
  });
});
