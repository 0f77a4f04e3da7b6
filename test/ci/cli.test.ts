// `bench compare` and `bench baseline` on run folders: many folders and globs per side (also as
// the shell expands them, through the real command line), the output files, stored baselines,
// environment refusals and exit codes.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { captureConsole } from '../helpers/console.js';
import { baselineCommand, type BaselineArgs } from '../../src/cli/commands/baseline.js';
import { compareCommand, sidesOf, type CompareArgs } from '../../src/cli/commands/compare.js';
import { repoRoot } from '../../src/core/paths.js';
import { syntheticRun, writeRunFolder } from '../metrics/fixtures.js';

const exec = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'bench-ci-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// runs/base-0..2 and runs/cand-0..2 side by side in one folder (the README's layout), slow-* 1.4x
// slower, other-* on another CPU affinity; each run calibrated at 1000 examples/s per worker.
const runs = join(root, 'runs');
for (let i = 0; i < 3; i++) {
  const jitter = 1 + 0.01 * (i - 1);
  const environment = { cpuAffinity: '0-1' };
  writeRunFolder(runs, syntheticRun({ runId: `base-${i}`, slow: jitter, rawExamplesPerSecond: 1000, environment }));
  writeRunFolder(
    runs,
    syntheticRun({ runId: `cand-${i}`, slow: jitter * 1.01, rawExamplesPerSecond: 1000, environment }),
  );
  writeRunFolder(
    runs,
    syntheticRun({ runId: `slow-${i}`, slow: jitter * 1.4, rawExamplesPerSecond: 1000, environment }),
  );
  // A machine half as fast: twice the seconds, half the raw loop.
  writeRunFolder(
    join(root, 'pinned'),
    syntheticRun({
      runId: `pinned-${i}`,
      slow: jitter * 2,
      rawExamplesPerSecond: 500,
      environment: { cpuAffinity: '0' },
    }),
  );
}
const incomplete = writeRunFolder(join(root, 'incomplete'), syntheticRun({ runId: 'incomplete-0', complete: false }), {
  status: 'incomplete',
});

const { out, err } = captureConsole();

async function compare(args: Partial<CompareArgs>): Promise<number> {
  const full: CompareArgs = {
    runs: [],
    metric: 'seconds',
    format: 'table',
    'max-slowdown': 1.1,
    alpha: 0.05,
    'allow-env-diff': [],
    ...args,
  };
  await compareCommand.handler({ _: [], $0: 'bench', ...full } as never);
  return Number(process.exitCode ?? 0);
}

async function baseline(args: Partial<BaselineArgs> & { action: string }): Promise<number> {
  await baselineCommand.handler({ _: [], $0: 'bench', runs: [], ...args } as never);
  return Number(process.exitCode ?? 0);
}

const run = (id: string): string => join(runs, id);

describe('bench compare: sides', () => {
  it('takes any number of folders and globs per side', async () => {
    expect(
      await compare({ baseline: [run('base-0'), run('base-1'), run('base-2')], candidate: [join(runs, 'cand-*')] }),
    ).toBe(0);
    expect(out.join('\n')).toMatch(
      /execution time\s+4\.\d{3} s ± 0\.\d{3} s \(n=3\)\s+4\.\d{3} s ± 0\.\d{3} s \(n=3\)/,
    );
    expect(await compare({ baseline: [`${run('base-0')},${run('base-1')}`], candidate: [join(runs, 'slow-?')] })).toBe(
      1,
    );
    expect(out.join('\n')).toMatch(/n=2\).*n=3\).*REGRESSION/);
  });

  it('keeps the two-argument form', async () => {
    expect(await compare({ runs: [join(runs, 'base-*'), join(runs, 'slow-*')] })).toBe(1);
  });

  it('refuses arguments that do not say which side is which (exit 2), still writing the outputs', async () => {
    const md = join(root, 'refused.md');
    expect(await compare({ runs: [run('base-0'), run('base-1'), run('cand-0')], markdown: md })).toBe(2);
    expect(err.join('\n')).toMatch(/--baseline DIR\.\.\. --candidate DIR\.\.\..*got 3 argument\(s\)/);
    expect(readFileSync(md, 'utf8')).toMatch(/### bench compare: not comparable/);
    expect(sidesOf({ runs: ['x'], baseline: ['a'] })).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/both as arguments/),
    });
    expect(sidesOf({ runs: [], baseline: ['a'] })).toMatchObject({
      kind: 'error',
      message: '--baseline needs --candidate DIR...',
    });
  });

  it('refuses a missing folder and an incomplete run, naming them', async () => {
    expect(await compare({ baseline: [join(root, 'nowhere')], candidate: [run('cand-0')] })).toBe(2);
    expect(err.join('\n')).toMatch(/nowhere: no such run folder/);
    expect(await compare({ baseline: [run('base-0')], candidate: [incomplete] })).toBe(2);
    expect(err.join('\n')).toMatch(/summary\.json|incomplete/);
  });
});

describe('bench compare: outputs', () => {
  it('writes JSON, JUnit and Markdown side by side, and prints the chosen format', async () => {
    const files = {
      json: join(root, 'o', 'c.json'),
      junit: join(root, 'o', 'junit.xml'),
      markdown: join(root, 'o', 'c.md'),
    };
    expect(
      await compare({
        baseline: [join(runs, 'base-*')],
        candidate: [join(runs, 'slow-*')],
        format: 'markdown',
        ...files,
      }),
    ).toBe(1);
    expect(out.join('\n')).toMatch(/^### bench compare: REGRESSION/);
    expect(JSON.parse(readFileSync(files.json, 'utf8'))).toMatchObject({ verdict: 'regression', exitCode: 1 });
    const junit = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
      readFileSync(files.junit, 'utf8'),
    );
    expect(Number(junit.testsuites.failures)).toBeGreaterThan(0);
    expect(readFileSync(files.markdown, 'utf8')).toBe(out.join('\n') + '\n');
  });
});

describe('bench compare: environment', () => {
  it('refuses another CPU affinity naming the field, accepts it when allowed; ratios see no regression', async () => {
    const pinned = join(root, 'pinned');
    expect(await compare({ baseline: [join(runs, 'base-*')], candidate: [pinned] })).toBe(2);
    expect(err.join('\n')).toMatch(
      /environment differs: cpuAffinity is "0-1" .* vs "0" .*--allow-env-diff cpuAffinity/,
    );
    // Allowed: seconds say 2x slower, a false alarm.
    expect(
      await compare({ baseline: [join(runs, 'base-*')], candidate: [pinned], 'allow-env-diff': ['cpuAffinity'] }),
    ).toBe(1);
    // Ratios to the raw loop each run measured: no alarm, the affinity is reported.
    expect(await compare({ baseline: [join(runs, 'base-*')], candidate: [pinned], metric: 'ratio-to-raw' })).toBe(0);
    const twoBoth = /execution \/ raw loop\s+2\.00 ± 0\.0\d \(n=3\)\s+2\.00 ± 0\.0\d \(n=3\)\s+1\.000x/;
    expect(out.join('\n')).toMatch(twoBoth);
    expect(out.join('\n')).toMatch(/environment \(reported\): cpuAffinity/);
  });
});

describe('bench baseline', () => {
  it('saves runs, lists and shows them, and compare reads them back by name', async () => {
    const dir = join(root, 'baselines');
    expect(await baseline({ action: 'save', name: 'main', runs: [join(runs, 'base-*')], dir })).toBe(0);
    const file = join(dir, 'main.json');
    expect(out.join('\n')).toContain(`saved 3 run(s) as baseline main: ${file}`);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved).toMatchObject({ format: 'bench-baseline', version: 1, name: 'main' });
    expect(saved.runs.map((r: { runId: string }) => r.runId)).toEqual(['base-0', 'base-1', 'base-2']);
    expect(saved.runs[0].environment.cpuAffinity).toBe('0-1');
    expect(saved.runs[0].rawExamplesPerSecond).toBe(1000);

    expect(await baseline({ action: 'list', dir })).toBe(0);
    expect(out.at(-1)).toBe('main');
    expect(await baseline({ action: 'show', name: 'main', dir })).toBe(0);
    expect(out.at(-1)).toMatch(/ctq criteo\/tiny, 2 segments\s+3\s+4\.\d{3}\s+2\.00/);

    expect(await compare({ 'baseline-name': 'main', 'baseline-dir': dir, candidate: [join(runs, 'cand-*')] })).toBe(0);
    expect(await compare({ 'baseline-name': 'main', 'baseline-dir': dir, runs: [join(runs, 'slow-*')] })).toBe(1);
    expect(await compare({ 'baseline-name': file, candidate: [join(root, 'pinned')], metric: 'ratio-to-raw' })).toBe(0);
  });

  it('keeps baselines in BENCH_BASELINES by default, and names what is there when one is missing', async () => {
    const dir = join(root, 'env-baselines');
    vi.stubEnv('BENCH_BASELINES', dir);
    try {
      expect(await baseline({ action: 'save', name: 'nightly', runs: [run('base-0')] })).toBe(0);
      expect(existsSync(join(dir, 'nightly.json'))).toBe(true);
      expect(await compare({ 'baseline-name': 'weekly', candidate: [run('cand-0')] })).toBe(2);
      expect(err.join('\n')).toMatch(/no baseline weekly at .*weekly\.json \(baselines there: nightly\)/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('refuses to keep incomplete runs, and a bad name', async () => {
    expect(
      await baseline({ action: 'save', name: 'x', runs: [run('base-0'), join(root, 'incomplete')], dir: root }),
    ).toBe(2);
    expect(err.join('\n')).toMatch(/summary\.json|incomplete/);
    expect(await baseline({ action: 'save', name: 'no good', runs: [run('base-0')], dir: root })).toBe(2);
    expect(err.join('\n')).toMatch(/baseline name "no good"/);
  });
});

describe('the command line, as a shell runs it', () => {
  it("runs the README's example: globs the shell expands into many arguments per side", async () => {
    const bench = join(repoRoot(), 'bin', 'bench.js');
    const command = `node ${bench} compare --baseline ${runs}/base-* --candidate ${runs}/cand-* --max-slowdown 1.10`;
    const clean = await exec('bash', ['-c', command], { cwd: repoRoot() });
    expect(clean.stdout).toMatch(/verdict: no regression/);
    const slow = await exec('bash', ['-c', `${command.replace('cand-*', 'slow-*')}; echo "exit $?"`], {
      cwd: repoRoot(),
    });
    expect(slow.stdout).toMatch(/verdict: REGRESSION/);
    expect(slow.stdout.trim().split('\n').at(-1)).toBe('exit 1');
  });
});
