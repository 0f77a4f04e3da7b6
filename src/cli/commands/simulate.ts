// `bench simulate`: the virtual-clock simulation of section 4.1, the synchronous round-robin
// against Cerebro's asynchronous scheduler (the same scheduler objects the real runs use), next to
// the closed forms of Propositions 1 and 2.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { sweep } from '../../sched/simulator.js';
import {
  SIMULATION_FILE,
  simulationFileSchema,
  type SimulationFile,
  type SimulationParams,
} from '../../sched/simulation-schema.js';
import { formatTable } from '../format.js';
import { Output, withOutputFlags, type OutputFlags } from '../output.js';

export interface SimulateArgs extends OutputFlags {
  configs: number;
  workers: string | string[];
  p: string | string[];
  ls: number;
  lm: number;
  epochs: number;
  seed: number;
  repeats: number;
  out?: string;
}

function numberList(name: string, value: string | string[] | number | number[]): number[] {
  const text = (Array.isArray(value) ? value : [value]).map(String).join(',');
  const items = text.split(/[\s,]+/).filter((s) => s !== '');
  if (items.length === 0) throw new Error(`--${name} expects a comma-separated list of numbers, got "${text}"`);
  return items.map((item) => {
    const n = Number(item);
    if (!Number.isFinite(n)) throw new Error(`--${name}: "${item}" is not a number`);
    return n;
  });
}

function integer(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

/** Checks the arguments of `bench simulate`; throws an Error that says what is wrong. */
export function parseSimulateArgs(args: Omit<SimulateArgs, 'out' | keyof OutputFlags>): SimulationParams {
  const configs = integer('configs', args.configs, 1);
  const workers = numberList('workers', args.workers).map((w) => {
    if (!Number.isInteger(w) || w < 1) throw new Error(`--workers: every value must be an integer >= 1, got ${w}`);
    return w;
  });
  const p = numberList('p', args.p).map((x) => {
    if (x < 0 || x > 1) throw new Error(`--p: every value must be a probability in [0, 1], got ${x}`);
    return x;
  });
  for (const [name, value] of [
    ['ls', args.ls],
    ['lm', args.lm],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${value}`);
  }
  if (args.lm < args.ls)
    throw new Error(`--lm (${args.lm}) must be at least --ls (${args.ls}): lm is the long runtime`);
  const epochs = integer('epochs', args.epochs, 1);
  if (!Number.isInteger(args.seed)) throw new Error(`--seed must be an integer, got ${args.seed}`);
  const repeats = integer('repeats', args.repeats, 1);
  return { configs, workers, p, ls: args.ls, lm: args.lm, epochs, seed: args.seed, repeats };
}

/** Runs the sweep and returns the file's content (validated against its schema). */
export function simulateSweep(params: SimulationParams, now: Date = new Date()): SimulationFile {
  const points = sweep(params);
  return simulationFileSchema.parse({ kind: 'simulation', createdAt: now.toISOString(), params, points });
}

const significant = (x: number): string => (Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(4));

export function formatSimulation(file: SimulationFile): string {
  const { params } = file;
  const header =
    `M = ${params.configs} configs, ls = ${params.ls}, lm = ${params.lm}, ${params.epochs} epoch(s); ` +
    `mean over ${params.repeats} repeat(s), seeds ${params.seed}..${params.seed + params.repeats - 1}`;
  const table = formatTable(
    ['W', 'p', 'sync makespan', 'async makespan', 'speedup', 'Prop 1', 'Prop 2'],
    file.points.map((pt) => [
      pt.workers,
      pt.p,
      significant(pt.syncMakespan),
      significant(pt.asyncMakespan),
      pt.speedup.toFixed(3),
      pt.prop1.toFixed(3),
      pt.prop2.toFixed(3),
    ]),
  );
  return `${header}\n${table}`;
}

export const simulateCommand: CommandModule<object, SimulateArgs> = {
  command: 'simulate',
  describe: 'simulate the synchronous round-robin against the asynchronous scheduler (section 4.1)',
  builder: (yargs: Argv<object>) =>
    withOutputFlags(yargs)
      .option('configs', { alias: 'M', type: 'number', default: 256, describe: 'configs trained together (M)' })
      .option('workers', {
        alias: 'W',
        type: 'string',
        default: '1,2,4,8,16,32',
        describe: 'comma-separated worker counts (W)',
      })
      .option('p', {
        type: 'string',
        default: '0.5,0.8,0.9,0.95',
        describe: 'comma-separated probabilities that a config is short',
      })
      .option('ls', { type: 'number', default: 1, describe: 'sub-epoch runtime of a short config' })
      .option('lm', { type: 'number', default: 8, describe: 'sub-epoch runtime of a long config' })
      .option('epochs', { type: 'number', default: 1 })
      .option('seed', { type: 'number', default: 1, describe: 'repeat r uses seed + r' })
      .option('repeats', { type: 'number', default: 5, describe: 'simulations per point; the speedup is their mean' })
      .option('out', { type: 'string', describe: `write <out>/${SIMULATION_FILE}` }) as unknown as Argv<SimulateArgs>,
  handler: async (args) => {
    const output = Output.fromFlags(args);
    const params = parseSimulateArgs(args);
    const file = simulateSweep(params);
    output.result(formatSimulation(file));
    let path: string | undefined;
    if (args.out !== undefined) {
      if (args.out.trim() === '') throw new Error('--out expects a directory');
      const dir = resolve(args.out);
      await mkdir(dir, { recursive: true });
      path = join(dir, SIMULATION_FILE);
      await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
    }
    const speedups = file.points.map((pt) => pt.speedup);
    output.final(
      `${file.points.length} point(s), async over sync speedup ` +
        `${Math.min(...speedups).toFixed(3)}..${Math.max(...speedups).toFixed(3)}` +
        (path === undefined ? '' : `; wrote ${path}`),
    );
    output.json({ type: 'result', command: 'simulate', ...(path === undefined ? {} : { path }), ...file });
  },
};
