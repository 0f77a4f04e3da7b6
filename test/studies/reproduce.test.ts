// `bench reproduce --scale tiny` end to end, as CI's smoke test of the whole reproduction: every
// study runs (47 distinct tiny runs, fig10's cluster rebuilds to 1, 2, 4 and 8 segments included)
// on a cluster of its own (BENCH_HOME=.bench-reproduce, so the rebuilds leave the suite's 2-segment
// cluster and its datasets alone), then the report is checked: every study present, every file its
// manifest names written, every figure >= 7 pt at column (and page) width, every claim with a
// verdict. fig11's numbers are traced to the stored run folders; a second invocation reuses every
// run, and a run that did not complete is run again and nothing else.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { studyIds } from '../../studies/index.js';
import { repoRoot } from '../../src/core/paths.js';
import { COLUMN_INCHES, MIN_FONT_PT, minFontPoints, PAGE_INCHES } from '../../reports/style.js';

const exec = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'bench-reproduce-'));
const runsDir = join(root, 'runs');
const out = join(root, 'repro');
const env = { ...process.env, BENCH_HOME: join(repoRoot(), '.bench-reproduce') };
afterAll(async () => {
  await bench(['db', 'down']);
  rmSync(root, { recursive: true, force: true });
});

async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('npx', ['tsx', 'src/cli/main.ts', ...args], {
      cwd: repoRoot(),
      env,
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

describe('bench reproduce --scale tiny', () => {
  it('runs every study, writes every artifact from stored runs, and one index.html', {
    timeout: 1_800_000,
  }, async () => {
    const started = Date.now();
    const r = await bench(['reproduce', '--scale', 'tiny', '--runs-dir', runsDir, '--out', out, '--quiet']);
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(0);
    const studies = studyIds();
    expect(r.stdout).toContain(`${studies.length} studies (0 refused or partial)`);
    const runs = readdirSync(runsDir).length;
    console.log(`bench reproduce --scale tiny: ${studies.length} studies, ${runs} runs in ${seconds.toFixed(0)} s`);

    const index = readFileSync(join(out, 'index.html'), 'utf8');
    for (const id of studies) expect(index).toContain(`id="${id}"`);
    expect(index).not.toMatch(/Not run: /);
    expect(index).toContain('id="headline"');
    expect(index).toContain('id="claims"');
    expect(index).toContain('id="estimates"');
    expect(existsSync(join(out, 'headline.md'))).toBe(true);

    // Every file a study's manifest names is there; every figure is column-ready (and page-ready).
    for (const id of studies) {
      const files = manifest(join(out, id)).files;
      expect(files.length, id).toBeGreaterThan(1);
      for (const f of files) {
        expect(existsSync(join(out, id, f)), `${id}/${f}`).toBe(true);
        if (!f.endsWith('.svg')) continue;
        expect(files, `${id}/${f}: its PNG`).toContain(f.replace(/\.svg$/, '.png'));
        const page = f.endsWith('.page.svg');
        const points = minFontPoints(readFileSync(join(out, id, f), 'utf8'), page ? PAGE_INCHES : COLUMN_INCHES);
        expect(points, `${id}/${f}`).toBeGreaterThanOrEqual(MIN_FONT_PT);
      }
    }

    // Epochs count from 1 on Figure 9A's x axis (run events count them from 0), as in Figure 12.
    const fig9a = JSON.parse(readFileSync(join(out, 'table6-fig9', 'figure9a-imagenet-tiny-2seg.vl.json'), 'utf8'));
    expect(Math.min(...(fig9a.data.values as { epoch: number }[]).map((v) => v.epoch))).toBe(1);

    // The claims page: every claim has a verdict, computed from runs (every study ran).
    const claims = JSON.parse(readFileSync(join(out, 'claims.json'), 'utf8')) as {
      id: string;
      verdict: string;
      why: string;
    }[];
    expect(claims.length).toBeGreaterThanOrEqual(8);
    for (const c of claims) {
      expect(['holds', 'does not hold', 'not measurable'], c.id).toContain(c.verdict);
      expect(c.why, c.id).not.toMatch(/was not run/);
    }
    expect(readFileSync(join(out, 'claims.md'), 'utf8')).toContain('## hetero-proposition1: ');

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
