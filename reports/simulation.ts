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

/** A figure's title: one line, or a heading with subtitle lines (as the studies' figures). */
export type FigureTitle = string | { text: string; subtitle: string | string[] };

export interface SpeedupFigureOptions<P extends SimulationPoint = SimulationPoint> {
  name: string;
  title: FigureTitle;
  /** The panel a point belongs to; panels appear in the order of their first point. */
  panelOf: (p: P) => string;
}

/**
 * Simulated speedup of async over sync MOP against the workers (log2), beside Proposition 1 and its
 * bound eta (Proposition 2): one panel per `panelOf`, each with its own y scale (Figures 11B and 16).
 */
export function speedupFigure<P extends SimulationPoint>(
  points: readonly P[],
  options: SpeedupFigureOptions<P>,
): Figure {
  const long = points.flatMap((p) =>
    (Object.keys(SERIES) as (keyof typeof SERIES)[]).map((k) => ({
      scenario: options.panelOf(p),
      workers: p.workers,
      series: SERIES[k],
      value: p[k],
    })),
  );
  const spec = linesPerScenario(options.title, long, panelsOf(points, options.panelOf), workersOf(points), {
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
  return { name: options.name, title: titleText(options.title), spec };
}

export function simulationFigures(sim: SimulationFile): Figure[] {
  const speedupTitle = 'Speedup of async over sync MOP (Figures 11/16)';
  const speedup = speedupFigure(sim.points, { name: 'simulation-speedup', title: speedupTitle, panelOf: scenarioOf });
  const makespans = sim.points.flatMap((p) => [
    { scenario: scenarioOf(p), workers: p.workers, scheduler: SYNC, makespan: p.syncMakespan },
    { scenario: scenarioOf(p), workers: p.workers, scheduler: ASYNC, makespan: p.asyncMakespan },
  ]);
  const makespanTitle = 'Per-run makespan, sync vs async MOP (simulated)';
  const makespan = linesPerScenario(makespanTitle, makespans, panelsOf(sim.points, scenarioOf), workersOf(sim.points), {
    y: { field: 'makespan', type: 'quantitative', aggregate: 'mean', title: 'makespan (virtual time)' },
    color: {
      field: 'scheduler',
      type: 'nominal',
      title: null,
      scale: { domain: [SYNC, ASYNC], range: [approachColour('udaf'), approachColour('ctq')] },
    },
  });
  return [speedup, { name: 'simulation-makespan', title: makespanTitle, spec: makespan }];
}

/**
 * The speedup points as Markdown, one table per panel: workers, the simulated speedup, Proposition 1
 * and the bound eta (Proposition 2), and the two simulated makespans.
 */
export function speedupMarkdown<P extends SimulationPoint>(
  points: readonly P[],
  panelOf: (p: P) => string,
  heading: string,
  notes: readonly string[] = [],
): string {
  const f = (x: number): string => x.toFixed(2);
  const lines = [`# ${heading}`, ''];
  for (const panel of panelsOf(points, panelOf)) {
    lines.push(
      `## ${panel}`,
      '',
      '| W | simulated Tu/Tc | Prop. 1 | eta (Prop. 2) | sync makespan | async makespan |',
      '|---:|---:|---:|---:|---:|---:|',
      ...points
        .filter((p) => panelOf(p) === panel)
        .map(
          (p) =>
            `| ${p.workers} | ${f(p.speedup)} | ${f(p.prop1)} | ${f(p.prop2)} | ${f(p.syncMakespan)} ` +
            `| ${f(p.asyncMakespan)} |`,
        ),
      '',
    );
  }
  lines.push(...notes);
  return `${lines.join('\n').trimEnd()}\n`;
}

function panelsOf<P extends SimulationPoint>(points: readonly P[], panelOf: (p: P) => string): string[] {
  return [...new Set(points.map(panelOf))];
}

function workersOf(points: readonly SimulationPoint[]): number[] {
  return [...new Set(points.map((p) => p.workers))].sort((a, b) => a - b);
}

function titleText(title: FigureTitle): string {
  if (typeof title === 'string') return title;
  const sub = typeof title.subtitle === 'string' ? [title.subtitle] : title.subtitle;
  return [title.text, ...sub].join(', ');
}

/** Lines with points against the worker count, one panel per scenario, each with its own y scale. */
function linesPerScenario(
  title: FigureTitle,
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
    // Each panel its own y scale (the paper: "note the different ranges of the Y axes") and its own
    // x axis, so that a last row with fewer panels has no axis under an empty cell.
    resolve: { scale: { y: 'independent' }, axis: { x: 'independent' } },
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
