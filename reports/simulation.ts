// The sync-vs-async makespan study (paper section 4.1, Figures 11 and 16) from the simulation.json
// that `bench simulate` writes: simulated speedup of async over sync MOP against the number of
// workers, beside Proposition 1 (expected speedup) and Proposition 2 (its upper bound eta), and
// the two makespans. One panel per scenario (p, lm/ls, configs).
//
// The file format is src/sched/simulation-schema.ts (written by `bench simulate`).
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import {
  SIMULATION_FILE,
  simulationFileSchema,
  type SimulationFile,
  type SimulationPoint,
} from '../src/sched/simulation-schema.js';
import { RunFolderError } from '../src/store/read.js';
import type { Figure } from './figure9.js';
import { approachColour, PANEL_HEIGHT, PANEL_WIDTH, SERIES_COLOURS } from './style.js';

export type { SimulationFile, SimulationPoint };

/** Reads simulation.json (or the simulation.json inside a folder given instead). */
export async function loadSimulation(path: string): Promise<SimulationFile> {
  try {
    if ((await stat(path)).isDirectory()) path = join(path, SIMULATION_FILE);
  } catch {
    // reported below, by the read
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new RunFolderError(
      `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      path,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RunFolderError(`is not valid JSON (${(error as Error).message})`, path);
  }
  const parsed = simulationFileSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.')}: ${i.message}`)
      .join('; ');
    throw new RunFolderError(`is not a simulation file: ${issues}`, path);
  }
  return parsed.data;
}

export function scenarioOf(p: SimulationPoint): string {
  const ratio = Number((p.lm / p.ls).toPrecision(4));
  return `p=${p.p}, lm/ls=${ratio}, M=${p.configs}`;
}

const SERIES = {
  speedup: 'simulated',
  prop1: 'Proposition 1 (expected)',
  prop2: 'Proposition 2 (upper bound eta)',
} as const;

const SYNC = 'sync (UDAF)';
const ASYNC = 'async (CTQ)';

export function simulationFigures(sim: SimulationFile): Figure[] {
  const workers = [...new Set(sim.points.map((p) => p.workers))].sort((a, b) => a - b);
  const scenarios = [...new Set(sim.points.map(scenarioOf))];
  const long = sim.points.flatMap((p) =>
    (Object.keys(SERIES) as (keyof typeof SERIES)[]).map((k) => ({
      scenario: scenarioOf(p),
      workers: p.workers,
      series: SERIES[k],
      value: p[k],
    })),
  );
  const makespans = sim.points.flatMap((p) => [
    { scenario: scenarioOf(p), workers: p.workers, scheduler: SYNC, makespan: p.syncMakespan },
    { scenario: scenarioOf(p), workers: p.workers, scheduler: ASYNC, makespan: p.asyncMakespan },
  ]);
  const speedupTitle = 'Speedup of async over sync MOP (Figures 11/16)';
  const speedup = linesPerScenario(speedupTitle, long, scenarios, workers, {
    y: { field: 'value', type: 'quantitative', aggregate: 'mean', title: 'speedup Tu / Tc' },
    color: {
      field: 'series',
      type: 'nominal',
      title: null,
      sort: Object.values(SERIES),
      scale: { domain: Object.values(SERIES), range: SERIES_COLOURS.slice(0, 3) },
    },
    strokeDash: { field: 'series', type: 'nominal', title: null, sort: Object.values(SERIES) },
  });
  const makespanTitle = 'Per-run makespan, sync vs async MOP (simulated)';
  const makespan = linesPerScenario(makespanTitle, makespans, scenarios, workers, {
    y: { field: 'makespan', type: 'quantitative', aggregate: 'mean', title: 'makespan (virtual time)' },
    color: {
      field: 'scheduler',
      type: 'nominal',
      title: null,
      scale: { domain: [SYNC, ASYNC], range: [approachColour('udaf'), approachColour('ctq')] },
    },
  });
  return [
    { name: 'simulation-speedup', title: speedupTitle, spec: speedup },
    { name: 'simulation-makespan', title: makespanTitle, spec: makespan },
  ];
}

/** Lines with points against the worker count, one panel per scenario, each with its own y scale. */
function linesPerScenario(
  title: string,
  values: object[],
  scenarios: string[],
  workers: number[],
  encoding: Record<string, object>,
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values },
    facet: { field: 'scenario', type: 'nominal', title: null, sort: scenarios },
    columns: Math.min(2, Math.max(1, scenarios.length)),
    resolve: { scale: { y: 'independent' } },
    config: { legend: { columns: 1 } },
    spec: {
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      encoding: {
        x: {
          field: 'workers',
          type: 'quantitative',
          title: 'workers (log2)',
          scale: { type: 'log', base: 2 },
          axis: { values: workers, format: 'd' },
        },
        ...encoding,
      },
      layer: [{ mark: { type: 'line', strokeWidth: 1.2 } }, { mark: { type: 'point', filled: true, size: 16 } }],
    },
  } as TopLevelSpec;
}
