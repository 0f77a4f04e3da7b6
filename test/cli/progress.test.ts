// The progress display from run events, in each output mode, with a fake clock; the live region
// goes through a headless terminal to check that it is rewritten in place and cleared at the end.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import picocolors from 'picocolors';
import type { RunEvent } from '../../src/core/events.js';
import { runEventSchema } from '../../src/core/events.js';
import { colorEnabled, isInteractive, Output, outputMode, type OutputMode } from '../../src/cli/output.js';
import { Progress, runFrame } from '../../src/cli/progress.js';
import type { RunSnapshot } from '../../src/cli/tracker.js';
import { renderScreen } from '../helpers/screen.js';

const shape = { configs: 2, segments: 2, epochs: 2 };

/** A run of 2 configs x 2 segments x 2 epochs, one event every 500 ms of the fake clock. */
function runEvents(): RunEvent[] {
  const events: RunEvent[] = [
    { type: 'log', level: 'info', message: 'run folder /tmp/runs/r1', at: 0 },
    { type: 'phase', phase: 'etl', edge: 'start', at: 0 },
    { type: 'phase', phase: 'etl', edge: 'end', at: 0 },
    { type: 'phase', phase: 'execution', edge: 'start', at: 0 },
  ];
  for (let epoch = 0; epoch < 2; epoch++) {
    for (const [config, segment] of [
      [0, 0],
      [1, 1],
      [1, 0],
      [0, 1],
    ]) {
      events.push({ type: 'unit-start', config, segment, epoch, at: 0 });
      events.push({ type: 'unit', config, segment, epoch, lossSum: 1, examples: 10, at: 0 });
    }
    if (epoch === 0)
      events.push({ type: 'log', level: 'warn', message: 'unit config 0 on seg1 failed (attempt 1)', at: 0 });
    for (const config of [0, 1]) {
      events.push({
        type: 'epoch',
        config,
        epoch,
        trainLoss: 0.5,
        validLoss: 0.4 - 0.1 * config - 0.1 * epoch,
        validAccuracy: 0.7 + 0.1 * config,
        trainExamples: 20,
        at: 0,
      });
    }
  }
  events.push({ type: 'phase', phase: 'execution', edge: 'end', at: 0 });
  events.push({ type: 'log', level: 'error', message: 'the failure the command reports itself', at: 0 });
  return events;
}

class FakeClock {
  t = 0;
  now = (): number => this.t;
}

/** Feeds the events with the fake clock stamped on them; returns what went to stdout and stderr. */
function drive(mode: OutputMode, verbose = false): { out: string[]; err: string[]; json: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const json: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => json.push(String(chunk)) > 0);
  const clock = new FakeClock();
  const output = new Output({ mode, verbose, color: false });
  const progress = new Progress(output, clock.now);
  const run = progress.startRun({ label: 'ctq criteo/tiny', shape });
  for (const event of runEvents()) {
    clock.t += 500;
    run.onEvent({ ...event, at: clock.t } as RunEvent);
  }
  run.finish();
  output.final('ctq criteo/tiny complete: runs/r1');
  vi.restoreAllMocks();
  return { out, err, json };
}

afterEach(() => vi.restoreAllMocks());

describe('output conventions', () => {
  it('is live only on a terminal that is not CI or dumb; colour unless NO_COLOR', () => {
    const tty = { isTTY: true };
    expect(outputMode({}, tty, {})).toBe('live');
    expect(outputMode({}, tty, { CI: 'true' })).toBe('lines');
    expect(outputMode({}, tty, { CI: 'false' })).toBe('live');
    expect(outputMode({}, tty, { TERM: 'dumb' })).toBe('lines');
    expect(outputMode({}, { isTTY: false }, {})).toBe('lines');
    expect(outputMode({ json: true }, tty, {})).toBe('json');
    expect(outputMode({ quiet: true }, tty, {})).toBe('quiet');
    expect(isInteractive(tty, { CI: '1' })).toBe(false);
    expect(colorEnabled(tty, {})).toBe(true);
    expect(colorEnabled(tty, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled({ isTTY: false }, {})).toBe(false);
    expect(colorEnabled({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
  });
});

describe('progress without a terminal', () => {
  it('writes plain lines: header, notes, phase times, one line per epoch, status lines; results on stdout', () => {
    const { out, err, json } = drive('lines');
    expect(json).toEqual([]);
    expect(out).toEqual(['ctq criteo/tiny complete: runs/r1']);
    expect(err[0]).toBe('▶ ctq criteo/tiny · 2 segments · 2 configs × 2 epochs = 8 units');
    expect(err).toContain('run folder /tmp/runs/r1');
    expect(err).toContain('ETL done in 0.50 s');
    expect(err).toContain('warning: unit config 0 on seg1 failed (attempt 1)');
    const epochs = err.filter((l) => l.startsWith('epoch '));
    expect(epochs).toEqual([
      'epoch 1/2 · 5.50 s · best/median valid loss 0.3000/0.3500, accuracy 80.0%/75.0% · best config 1',
      'epoch 2/2 · 5.00 s · best/median valid loss 0.2000/0.2500, accuracy 80.0%/75.0% · best config 1',
    ]);
    expect(err.filter((l) => l.startsWith('execution · epoch'))[0]).toMatch(
      /^execution · epoch 1\/2 · 0\/8 units 0% · elapsed 0:02$/,
    );
    // The last validation is still to come: the first one's time (1.5 s) is what is left.
    expect(err).toContain('validation · epoch 2/2 · 8/8 units 100% · elapsed 0:12 · 1.0 units/s · left ~0:02');
    expect(err.join('\n')).not.toMatch(/config 0: train loss|the failure the command reports/);
    expect(err.join('\n')).not.toMatch(/\x1b/);
  });

  it('adds one line per config after each epoch with --verbose', () => {
    const { err } = drive('lines', true);
    expect(err.filter((l) => /^ {2}epoch \d config \d: train loss/.test(l))).toHaveLength(4);
  });

  it('--quiet leaves the final line only; --json the events only, one per line', () => {
    const quiet = drive('quiet');
    expect([quiet.out, quiet.err, quiet.json]).toEqual([['ctq criteo/tiny complete: runs/r1'], [], []]);
    const json = drive('json');
    expect(json.out).toEqual([]);
    expect(json.err).toEqual([]);
    expect(json.json).toHaveLength(runEvents().length);
    for (const line of json.json) {
      expect(line.endsWith('\n')).toBe(true);
      runEventSchema.parse(JSON.parse(line));
    }
  });
});

/** A 100 x 30 terminal that keeps every byte written to it; console.error writes there too. */
function fakeTerminal(): { stream: NodeJS.WriteStream; bytes: () => string; restore: () => void } {
  let bytes = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: true, columns: 100, rows: 30 });
  const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void stream.write(`${a.join(' ')}\n`));
  return { stream, bytes: () => bytes, restore: () => err.mockRestore() };
}

describe('the live region', () => {
  const snapshot: RunSnapshot = {
    phase: 'execution',
    unitsDone: 65,
    unitsTotal: 192,
    epoch: 1,
    epochs: 3,
    elapsedMs: 62_000,
    rate: 1.05,
    leftMs: 121_000,
    active: [0, 1, 2, 3, 4, 5, 6, 7].map((segment) => ({ config: segment * 3, segment, epoch: 1, since: 60_000 })),
  };
  const plain = picocolors.createColors(false);

  it("fits the terminal, and shows the workers' units on wide ones", () => {
    for (const columns of [60, 80, 100, 160]) {
      const lines = runFrame('ctq criteo/small', snapshot, 62_000, columns, plain);
      for (const line of lines) expect(line.length).toBeLessThan(columns);
      expect(lines[0]).toBe('ctq criteo/small · execution · epoch 2/3');
      expect(lines[1]).toMatch(/65\/192 units 33% · .*left ~2:01$/);
      if (columns >= 80)
        expect(lines[1]).toMatch(/█+░+ 65\/192 units 33% · elapsed 1:02 · 1\.1 units\/s · left ~2:01$/);
      expect(lines.length).toBe(columns >= 100 ? 3 : 2);
    }
    expect(runFrame('x', snapshot, 62_000, 100, plain)[2]).toMatch(
      /^ {2}workers s0 c0 e2 2\.0s {2}s1 c3 e2 2\.0s .* \+\d more$/,
    );
    expect(runFrame('x', snapshot, 62_000, 160, plain)[2]).toContain('s7 c21 e2 2.0s');
  });

  it('is rewritten in place and cleared at the end, leaving the lines above it', async () => {
    const terminal = fakeTerminal();
    const clock = new FakeClock();
    const output = new Output({ mode: 'live', stderr: terminal.stream, color: true });
    const progress = new Progress(output, clock.now);
    const run = progress.startRun({ label: 'ctq criteo/tiny', shape });
    const frames = new Set<string>();
    for (const event of runEvents()) {
      clock.t += 500;
      run.onEvent({ ...event, at: clock.t } as RunEvent);
      progress.redraw();
      const screen = await renderScreen(terminal.bytes(), 100, 30, true);
      const barLine = screen.viewport.find((l) => l.includes(' units '));
      if (barLine) frames.add(barLine);
    }
    progress.close();
    terminal.restore();
    expect(frames.size).toBeGreaterThan(5);
    expect(terminal.bytes()).toMatch(/\x1b\[1A/); // the cursor went back up: rewritten, not appended
    const screen = await renderScreen(terminal.bytes(), 100, 30, true);
    expect(screen.lines[0]).toBe('▶ ctq criteo/tiny · 2 segments · 2 configs × 2 epochs = 8 units');
    expect(screen.lines.filter((l) => l.startsWith('epoch '))).toHaveLength(2);
    expect(screen.lines.join('\n')).not.toMatch(/[█░]| units \d+%|workers s\d/);
  });

  it('draws a new phase and the first unit of an epoch at once, not on the next tick of its timer', async () => {
    const terminal = fakeTerminal();
    const clock = new FakeClock();
    const progress = new Progress(new Output({ mode: 'live', stderr: terminal.stream, color: false }), clock.now);
    const run = progress.startRun({ label: 'ctq criteo/tiny', shape });
    const events = runEvents();
    const firstUnit = events.findIndex((e) => e.type === 'unit-start');
    for (const event of events.slice(0, firstUnit + 1)) run.onEvent({ ...event, at: clock.t } as RunEvent);
    const viewport = (await renderScreen(terminal.bytes(), 100, 30, true)).viewport.join('\n');
    progress.close();
    terminal.restore();
    expect(viewport).toContain('ctq criteo/tiny · execution · epoch 1/2');
    expect(viewport).toMatch(/workers s0 c0 e1 0\.0s/);
  });
});
