// `bench run` end to end as a user and a program see it: under a pseudo-terminal (util-linux
// `script`, its bytes replayed through a headless terminal), through pipes, and with --json.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/core/paths.js';
import { runEventSchema } from '../../src/core/events.js';
import { testTopology } from '../helpers/cluster.js';
import { renderScreen } from '../helpers/screen.js';

const tsx = join(repoRoot(), 'node_modules', '.bin', 'tsx');
// Under the working directory, so the display shows the run folders' paths relative (and short).
mkdirSync(join(repoRoot(), 'runs'), { recursive: true });
const runsDir = mkdtempSync(join(repoRoot(), 'runs', 'tt-'));
const runArgs = [
  'src/cli/main.ts',
  'run',
  '-a',
  'ctq',
  '-w',
  'criteo',
  '-s',
  'tiny',
  '--runs-dir',
  runsDir,
  '--sample-ms',
  '0',
];
/** The environment of a user at a terminal: not CI, colours allowed. */
const userEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  delete env.CI;
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  return env;
};

beforeAll(async () => {
  await testTopology();
  if (spawnSync('script', ['--version']).status !== 0)
    throw new Error('these tests need `script` from util-linux (apt-get install util-linux)');
});
afterAll(() => rmSync(runsDir, { recursive: true, force: true }));

/** Runs a command under a pseudo-terminal of the given size; resolves with every byte it wrote and its exit code. */
function underTerminal(
  command: string[],
  columns: number,
  rows: number,
): Promise<{ bytes: Buffer; status: number | null }> {
  const quoted = command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qfec', `stty cols ${columns} rows ${rows}; exec ${quoted}`, '/dev/null'], {
    cwd: repoRoot(),
    env: userEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ bytes: Buffer.concat(chunks), status }));
  });
}

describe('bench run at a terminal', () => {
  it('updates the display in place and ends with the summary', async () => {
    const { bytes, status } = await underTerminal([tsx, ...runArgs], 100, 60);
    const text = bytes.toString('utf8');
    expect(status, text).toBe(0);
    // log-update draws each frame between synchronized-output marks, moving the cursor back up over the last one.
    const frames = text.split('\x1b[?2026h').slice(1);
    expect(frames.length).toBeGreaterThan(3);
    expect(text).toMatch(/\x1b\[1A/);
    const unitCounts = new Set([...text.matchAll(/(\d+)\/16 units/g)].map((m) => m[1]));
    expect(unitCounts.size).toBeGreaterThan(1);
    expect(text).toMatch(/\x1b\[3\dm/); // coloured
    expect(text).toMatch(/workers s\d c\d e\d [\d.]+s/); // 100 columns: wide enough for the workers' units

    const screen = await renderScreen(bytes, 100, 60);
    const shown = screen.lines.join('\n');
    expect(screen.lines[0]).toBe('▶ ctq criteo/tiny · 2 segments · 4 configs × 2 epochs = 16 units');
    expect(screen.lines.filter((l) => l.startsWith('epoch '))).toHaveLength(2);
    // Each phase says when it is done: ETL, then start-up and calibration where the run has them.
    expect(shown).toMatch(/ETL done in [\d.]+ s\n(?:(?:start-up|calibration) done in [\d.]+ s\n)*epoch 1\/2 · /);
    expect(shown).toMatch(/ctq criteo\/tiny on 2 segments: complete\n {2}ETL time/);
    for (const label of [
      'Train+Valid',
      'Data Transmission',
      'Model Transmission',
      'Approach-specific',
      'Network',
      'Storage blowup',
    ])
      expect(shown).toContain(label);
    expect(shown).toMatch(/ {2}Report\s+npx bench report \S+ctq-criteo-tiny-\w+\n/);
    expect(screen.lines.at(-1)).toMatch(/^ctq criteo\/tiny complete: runs\/tt-\w+\/[\w-]+ctq-criteo-tiny-\w+$/);
    // The live lines are gone: nothing of the bar or the status is left on the screen.
    expect(shown).not.toMatch(/[█░]|units \d+%|· preparing|workers s\d/);
    // Every line fits the terminal: none wrapped.
    expect(screen.wrapped).toEqual([]);
  });
});

describe('bench run without a terminal', () => {
  it('writes plain lines to stderr and the summary to stdout', () => {
    const result = spawnSync(tsx, [...runArgs, '--verbose'], { cwd: repoRoot(), env: userEnv(), encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/[\r\x1b]/);
    const err = result.stderr.trimEnd().split('\n');
    expect(err[0]).toBe('▶ ctq criteo/tiny · 2 segments · 4 configs × 2 epochs = 16 units');
    expect(
      err.filter((l) => /^execution · epoch [12]\/2 · \d+\/16 units \d+% · elapsed \d+:\d\d/.test(l)).length,
    ).toBeGreaterThan(1);
    const epoch = /^epoch [12]\/2 · [\d.]+ s · best\/median valid loss [\d./]+, accuracy [\d.%/]+ · best config \d$/;
    expect(err.filter((l) => epoch.test(l))).toHaveLength(2);
    expect(err.filter((l) => /^ {2}epoch [12] config [0-3]: train loss/.test(l))).toHaveLength(8);
    const out = result.stdout.trimEnd().split('\n');
    expect(out[0]).toBe('ctq criteo/tiny on 2 segments: complete');
    expect(out.at(-1)).toMatch(/^ctq criteo\/tiny complete: runs\/tt-\w+\/[\w-]+ctq-criteo-tiny-\w+$/);
  });

  it("--json writes the run's events to stdout, one per line, as events.jsonl holds them, and nothing else", () => {
    const result = spawnSync(tsx, [...runArgs, '--json'], { cwd: repoRoot(), env: userEnv(), encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.trimEnd().split('\n');
    const events = lines.map((line) => runEventSchema.parse(JSON.parse(line)));
    const types = new Set(events.map((e) => e.type));
    for (const type of ['phase', 'unit-start', 'unit', 'span', 'epoch', 'log']) expect(types).toContain(type);
    expect(events[0]).toMatchObject({ type: 'log', message: expect.stringMatching(/^run folder \//) });
    const runDir = (events[0] as { message: string }).message.slice('run folder '.length);
    expect(readdirSync(runsDir).map((d) => join(runsDir, d))).toContain(runDir);
    expect(readFileSync(join(runDir, 'events.jsonl'), 'utf8').trimEnd().split('\n')).toEqual(lines);
  });
});
