import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import yargs from 'yargs';
import { parseSimulateArgs, simulateCommand, simulateSweep } from '../../src/cli/commands/simulate.js';
import { simulationFileSchema } from '../../src/sched/simulation-schema.js';

const defaults = {
  configs: 256,
  workers: '1,2,4,8,16,32',
  p: '0.5,0.8,0.9,0.95',
  ls: 1,
  lm: 8,
  epochs: 1,
  seed: 1,
  repeats: 5,
};

async function runCli(argv: string[]): Promise<{ output: string; error?: Error }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...xs: unknown[]) => void lines.push(xs.join(' ')));
  try {
    await yargs().command(simulateCommand).strict().exitProcess(false).fail(false).parseAsync(argv);
    return { output: lines.join('\n') };
  } catch (error) {
    return { output: lines.join('\n'), error: error as Error };
  } finally {
    log.mockRestore();
  }
}

describe('parseSimulateArgs', () => {
  it('parses the defaults and lists', () => {
    expect(parseSimulateArgs(defaults)).toEqual({
      configs: 256,
      workers: [1, 2, 4, 8, 16, 32],
      p: [0.5, 0.8, 0.9, 0.95],
      ls: 1,
      lm: 8,
      epochs: 1,
      seed: 1,
      repeats: 5,
    });
    expect(parseSimulateArgs({ ...defaults, workers: ['2', '4, 8'], p: '0.9' })).toMatchObject({
      workers: [2, 4, 8],
      p: [0.9],
    });
  });

  it.each([
    [{ configs: 0 }, /--configs must be an integer >= 1/],
    [{ configs: Number.NaN }, /--configs/],
    [{ workers: '2,x' }, /--workers: "x" is not a number/],
    [{ workers: '0' }, /--workers: every value must be an integer >= 1/],
    [{ workers: '' }, /--workers expects a comma-separated list/],
    [{ p: '1.2' }, /--p: every value must be a probability/],
    [{ ls: 0 }, /--ls must be a positive number/],
    [{ lm: 0.5 }, /--lm \(0.5\) must be at least --ls/],
    [{ epochs: 0 }, /--epochs/],
    [{ seed: 1.5 }, /--seed/],
    [{ repeats: 0 }, /--repeats/],
  ])('rejects %o', (change, message) => {
    expect(() => parseSimulateArgs({ ...defaults, ...change })).toThrow(message);
  });
});

describe('bench simulate', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('prints the table and writes simulation.json', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-simulate-'));
    const out = join(dir, 'nested');
    const { output, error } = await runCli([
      'simulate',
      '--configs',
      '64',
      '--workers',
      '2,8',
      '--p',
      '0.5,0.9',
      '--repeats',
      '2',
      '--out',
      out,
    ]);
    expect(error).toBeUndefined();
    expect(output).toMatch(/W\s+p\s+sync makespan\s+async makespan\s+speedup\s+Prop 1\s+Prop 2/);
    expect(output.split('\n').filter((l) => /^(2|8)\s+0\.(5|9)\s/.test(l))).toHaveLength(4);
    expect(output).toMatch(/wrote .*simulation\.json/);
    const file = simulationFileSchema.parse(JSON.parse(await readFile(join(out, 'simulation.json'), 'utf8')));
    expect(file.params).toEqual({
      configs: 64,
      workers: [2, 8],
      p: [0.5, 0.9],
      ls: 1,
      lm: 8,
      epochs: 1,
      seed: 1,
      repeats: 2,
    });
    expect(file.points).toHaveLength(4);
    expect(file.points[3]).toMatchObject({ workers: 8, p: 0.9, configs: 64 });
  });

  it('reports bad arguments clearly', async () => {
    const { error } = await runCli(['simulate', '--workers', '4,-1']);
    expect(error?.message).toMatch(/--workers: every value must be an integer >= 1, got -1/);
  });

  it('is reproducible for a seed', () => {
    const params = parseSimulateArgs({ ...defaults, configs: 32, workers: '4', p: '0.8', repeats: 2 });
    const at = new Date('2024-01-01T00:00:00Z');
    expect(simulateSweep(params, at)).toEqual(simulateSweep(params, at));
  });
});
