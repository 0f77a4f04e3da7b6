// `bench reproduce` and `bench study run` end to end on the test cluster (2 segments) at tiny
// scale, on the cheapest study that runs (fig11: udaf and ctq on the hetero workload at two p, 4
// runs) and, while approaches cannot run searches, the refused fig12-table7: every artifact is
// written, its numbers come from the stored run folders that study.json names, a second invocation
// reuses every run, and a run that did not complete is run again and nothing else.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { getStudy } from '../../studies/index.js';
import { repoRoot } from '../../src/core/paths.js';
import { COLUMN_INCHES, MIN_FONT_PT, minFontPoints } from '../../reports/style.js';

const exec = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'bench-reproduce-'));
const runsDir = join(root, 'runs');
const out = join(root, 'repro');
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('npx', ['tsx', 'src/cli/main.ts', ...args], {
      cwd: repoRoot(),
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Manifest {
  study: string;
  runs: {
    origin: string;
    dir: string | null;
    request: { approach: string; workload: string; options: Record<string, string>; seed: number };
  }[];
  files: string[];
}

const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'study.json'), 'utf8'));
const searchesRefused = (getStudy('fig12-table7').check?.({ scale: 'tiny', repeats: 1 }) ?? []).length > 0;

describe('bench reproduce --scale tiny', () => {
  it('runs the studies, writes every artifact from stored runs, and one index.html', async () => {
    const studies = ['fig11', ...(searchesRefused ? ['fig12-table7'] : [])];
    const r = await bench([
      'reproduce',
      '--scale',
      'tiny',
      '--studies',
      studies.join(','),
      '--runs-dir',
      runsDir,
      '--out',
      out,
      '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(searchesRefused ? 1 : 0);

    const index = readFileSync(join(out, 'index.html'), 'utf8');
    for (const id of studies) expect(index).toContain(`id="${id}"`);
    if (searchesRefused) expect(index).toMatch(/Not run: study fig12-table7 cannot run: .*cannot run a search yet/);

    // The headline and the claims page: every claim has a verdict; fig11's is computed from its runs,
    // the others say their study was not run.
    expect(index).toContain('id="headline"');
    expect(index).toContain('id="claims"');
    expect(index).toContain('id="estimates"');
    const claims = JSON.parse(readFileSync(join(out, 'claims.json'), 'utf8')) as {
      id: string;
      verdict: string;
      why: string;
    }[];
    expect(claims.length).toBeGreaterThanOrEqual(8);
    for (const c of claims) expect(['holds', 'does not hold', 'not measurable'], c.id).toContain(c.verdict);
    const hetero = claims.find((c) => c.id === 'hetero-proposition1')!;
    expect(hetero.why).not.toMatch(/was not run/);
    expect(claims.find((c) => c.id === 'execution-order')!.why).toMatch(/study table6-fig9 was not run/);
    expect(readFileSync(join(out, 'claims.md'), 'utf8')).toContain('## hetero-proposition1: ');
    expect(existsSync(join(out, 'headline.md'))).toBe(true);

    const dir = join(out, 'fig11');
    for (const f of [
      'figure11.md',
      'figure11.json',
      'figure11a.vl.json',
      'figure11a.svg',
      'figure11a.png',
      'study.json',
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(minFontPoints(readFileSync(join(dir, 'figure11a.svg'), 'utf8'), COLUMN_INCHES)).toBeGreaterThanOrEqual(
      MIN_FONT_PT,
    );

    // Every request is answered by a run folder in the runs dir whose run.json says what was asked.
    const m = manifest(dir);
    expect(m.runs).toHaveLength(4);
    for (const run of m.runs) {
      expect(run.origin).toBe('ran');
      // The estimate made just before the run is kept with it (the first has nothing to go on).
      expect(existsSync(join(run.dir!, 'estimate.json')), run.dir!).toBe(true);
      expect(run.dir!.startsWith(runsDir)).toBe(true);
      const info = JSON.parse(readFileSync(join(run.dir!, 'run.json'), 'utf8'));
      expect([info.approach, info.workload, String(info.workloadOptions.p), info.seed]).toEqual([
        run.request.approach,
        'hetero',
        run.request.options.p,
        run.request.seed,
      ]);
    }
    // The measured speedups are those of the stored runs' summaries.
    const points = JSON.parse(readFileSync(join(dir, 'figure11.json'), 'utf8')) as { p: number; measured: number }[];
    expect(points.map((p) => p.p)).toEqual([0.5, 0.9]);
    for (const point of points) {
      const execution = (approach: string): number => {
        const run = m.runs.find((x) => x.request.approach === approach && Number(x.request.options.p) === point.p)!;
        return JSON.parse(readFileSync(join(run.dir!, 'summary.json'), 'utf8')).executionSeconds;
      };
      expect(point.measured).toBeCloseTo(execution('udaf') / execution('ctq'), 9);
    }
  });

  it('reuses every stored run on a second invocation, and reruns only a run that did not complete', async () => {
    const before = readdirSync(runsDir).length;
    const again = await bench([
      'study',
      'run',
      'fig11',
      '--scale',
      'tiny',
      '--runs-dir',
      runsDir,
      '--out',
      join(root, 'again'),
      '--quiet',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/4 runs \(4 reused, 0 ran, 0 failed\)/);
    expect(readdirSync(runsDir)).toHaveLength(before);
    expect(manifest(join(root, 'again')).runs.map((r) => r.origin)).toEqual(['reused', 'reused', 'reused', 'reused']);

    // A run that died before writing its summary is not reused: the study runs that request again.
    const victim = manifest(join(root, 'again')).runs[0].dir!;
    rmSync(join(victim, 'summary.json'));
    const resumed = await bench([
      'study',
      'run',
      'fig11',
      '--scale',
      'tiny',
      '--runs-dir',
      runsDir,
      '--out',
      join(root, 'resumed'),
      '--quiet',
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/4 runs \(3 reused, 1 ran, 0 failed\)/);
    expect(readdirSync(runsDir)).toHaveLength(before + 1);
  });
});
