// Figure 11A of the paper (section 5.2.2): the measured speedup of async MOP (CTQ) over sync MOP
// (UDAF) on the heterogeneous workload for several p, beside what the theory says for the runs'
// own measured times: the scheduler simulator on the runs' configs at their measured mean unit
// times (the very round-robin and async random schedulers), and Proposition 1 at the measured
// l_s, l_m and p (src/metrics/unit-times.ts, as bench/hetero.ts). Pure: runs in, figure and
// Markdown out.
import type { LoadedRun } from '../src/core/records.js';
import { configTimes, heteroParametersOf, unitTimes } from '../src/metrics/unit-times.js';
import { createAsyncRandomScheduler } from '../src/sched/async-random.js';
import { createRoundRobinScheduler } from '../src/sched/round-robin.js';
import { proposition1, simulateSchedule } from '../src/sched/simulator.js';
import { mean } from './common.js';
import type { Figure } from './figure9.js';
import { approachColour, PLOT_HEIGHT, PLOT_WIDTH, SERIES_COLOURS } from './style.js';

/** Seeds of the async scheduler the simulator averages over. */
const SIMULATOR_SEEDS = 10;

export interface HeteroPair {
  /** The workload's p option (share of fast configs) the runs were made with. */
  p: number;
  seed: number;
  udaf: LoadedRun;
  ctq: LoadedRun;
}

export interface HeteroPoint {
  p: number;
  seed: number;
  measured: number;
  simulated: number;
  proposition1: number;
  ls: number;
  lm: number;
  pObserved: number;
  segments: number;
  configs: number;
}

export function heteroP(run: LoadedRun): number {
  return Number(run.info.workloadOptions?.p ?? run.info.options.p ?? Number.NaN);
}

export function heteroPoint(pair: HeteroPair): HeteroPoint {
  const info = pair.udaf.info;
  const units = [...unitTimes(pair.udaf.events), ...unitTimes(pair.ctq.events)];
  const params = heteroParametersOf(configTimes(units, info.configs, 'wall'), 'wall');
  const W = info.segments;
  const M = info.configs.length;
  const runtimes = info.configs.map((c) => params.configs.find((t) => t.config === c.id)?.meanMs ?? Number.NaN);
  const sync = simulateSchedule(
    createRoundRobinScheduler({ configs: M, segments: W, epochs: info.epochs, seed: pair.seed }),
    W,
    runtimes,
  ).makespan;
  const speedups = Array.from({ length: SIMULATOR_SEEDS }, (_, r) => {
    const scheduler = createAsyncRandomScheduler({ configs: M, segments: W, epochs: info.epochs, seed: pair.seed + r });
    return sync / simulateSchedule(scheduler, W, runtimes).makespan;
  });
  const theoryOk = Number.isFinite(params.ls) && Number.isFinite(params.lm);
  return {
    p: pair.p,
    seed: pair.seed,
    measured: pair.udaf.summary.executionSeconds / pair.ctq.summary.executionSeconds,
    simulated: mean(speedups),
    proposition1: theoryOk ? proposition1(params.p, W, params.ls, params.lm) : Number.NaN,
    ls: params.ls,
    lm: params.lm,
    pObserved: params.p,
    segments: W,
    configs: M,
  };
}

const SERIES = {
  measured: 'measured (CTQ over UDAF)',
  simulated: "simulator, the runs' measured times",
  proposition1: 'Proposition 1, measured l_s, l_m, p',
} as const;

const Y_TITLE = 'speedup T_UDAF / T_CTQ';

export function figure11(points: readonly HeteroPoint[], caption: string): Figure {
  const values = points.flatMap((pt) =>
    (Object.keys(SERIES) as (keyof typeof SERIES)[])
      .filter((k) => Number.isFinite(pt[k]))
      .map((k) => ({ p: pt.p, series: SERIES[k], speedup: pt[k] })),
  );
  const heading = 'Figure 11A: Speedup of CTQ over UDAF';
  const repeated = new Set(points.map((pt) => pt.p)).size < points.length;
  const domain = Object.values(SERIES);
  const colour = {
    field: 'series',
    type: 'nominal',
    title: null,
    sort: domain,
    scale: { domain, range: [approachColour('ctq'), SERIES_COLOURS[0], SERIES_COLOURS[2]] },
    legend: { columns: 1 },
  };
  return {
    name: 'figure11a',
    title: `${heading}, ${caption}`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: heading, subtitle: caption },
      width: PLOT_WIDTH,
      height: PLOT_HEIGHT,
      data: { values },
      encoding: {
        x: {
          field: 'p',
          type: 'quantitative',
          title: 'p (share of fast configs)',
          scale: { zero: false, padding: 10 },
        },
        color: colour as never,
      },
      layer: [
        {
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: { y: { field: 'speedup', type: 'quantitative', aggregate: 'mean', title: Y_TITLE } },
        },
        {
          mark: { type: 'point', filled: true, size: 20 },
          encoding: { y: { field: 'speedup', type: 'quantitative', aggregate: 'mean', title: Y_TITLE } },
        },
        // Error bars (standard deviation) only where a p has several repeats: one value has none.
        ...(repeated
          ? [
              {
                mark: { type: 'errorbar' as const, extent: 'stdev' as const },
                encoding: { y: { field: 'speedup', type: 'quantitative' as const, title: Y_TITLE } },
              },
            ]
          : []),
      ],
    },
  };
}

export function figure11Markdown(points: readonly HeteroPoint[], caption: string): string {
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
  const lines = [
    `# Figure 11A: async (CTQ) over sync (UDAF) MOP on heterogeneous configs (${caption})`,
    '',
    '| p | seed | measured T_UDAF/T_CTQ | simulator (measured times) | Proposition 1 | l_s (ms) | l_m (ms) ' +
      '| p observed | segments | configs |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...points.map(
      (pt) =>
        `| ${pt.p} | ${pt.seed} | ${f(pt.measured)} | ${f(pt.simulated)} | ${f(pt.proposition1)} ` +
        `| ${pt.ls.toFixed(0)} | ${pt.lm.toFixed(0)} | ` +
        `${f(pt.pObserved)} | ${pt.segments} | ${pt.configs} |`,
    ),
    '',
    "Proposition 1 assumes M >> W; with few configs the simulator on the runs' configs is the like-for-like " +
      'comparison. Measured times also hold what the simulator does not model (engine import, ' +
      'per-statement overheads, validation).',
  ];
  return `${lines.join('\n')}\n`;
}
