// `npm run bench:ci`: this repository's own CI regression run (docs/ci.md, "bench:ci").
//
// Runs a tiny grid of every approach in rounds (each round runs every approach once). Every run
// measures the raw engine loop in its own calibration phase (src/run/calibrate.ts), so each run's
// execution, epoch and ETL times become ratios to the raw loop on the machine it ran on
// (src/metrics/ci-ratios.ts). The runs are compared with the baseline committed in the repository
// (bench/ci-baseline.json, a `bench baseline save` file) by `bench compare`'s judge with
// --metric ratio-to-raw: per approach and metric a factor and, with 3 or more runs a side, Welch's
// noise test. A baseline recorded on one machine is checked on any other (CPU model, cores and
// affinity may differ; the engine threads are fixed at 1 so they do not follow the core count).
//
//   npm run bench:ci -- [--approaches export,udaf] [--workload criteo] [--scale tiny]
//                       [--segments 2] [--threads 1] [--rounds 3] [--out .bench/ci/<stamp>]
//                       [--baseline bench/ci-baseline.json] [--max-slowdown 1.10]
//                       [--allow-env-diff FIELD...] [--update-baseline]
//
// Exit 1 on a regression or a failed run, 2 when the runs are not comparable with the baseline.
// --update-baseline writes the runs to the baseline file instead of comparing (the lead records it
// on a quiet machine: `npm run bench:ci -- --update-baseline --rounds 5`). The run folders, the
// report and compare.md / compare.json / junit.xml are written under --out either way.
import { mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { approachIds, getApproach } from '../approaches/index.js';
import { runSpec } from '../approaches/resolve.js';
import { buildReport } from '../reports/build.js';
import { renderComparison, verdictLine } from '../src/cli/compare-formats.js';
import { splitList, writeOutput } from '../src/cli/commands/compare.js';
import { formatTable } from '../src/cli/format.js';
import { repoRoot } from '../src/core/paths.js';
import { SCALES, type ScaleName } from '../src/core/workload.js';
import { ensureCluster } from '../src/db/cluster.js';
import {
  comparableRun,
  compareRuns,
  exitCodeOf,
  ratiosOf,
  sideStats,
  type ComparableRun,
} from '../src/metrics/compare.js';
import { loadBaseline, saveBaseline, type Baseline } from '../src/store/baseline.js';
import { loadRun } from '../src/store/read.js';
import { resolveWorkload } from '../workloads/index.js';
import { runBench } from './lib/entry.js';

const DEFAULT_BASELINE = join(repoRoot(), 'bench', 'ci-baseline.json');

interface CiArgs {
  approaches?: string;
  workload: string;
  scale: string;
  segments: number;
  threads: number;
  rounds: number;
  out?: string;
  baseline?: string;
  'update-baseline': boolean;
  'max-slowdown': number;
  'allow-env-diff': string[];
}

/** The runs cannot be compared with the baseline (exit 2), said before any run where possible. */
class CiRefusal extends Error {}

function fail(message: string): never {
  throw new CiRefusal(message);
}

/** Per approach and ratio: mean, relative sd and range over the rounds (the spread a baseline carries). */
function spreadTable(runs: readonly ComparableRun[]): string {
  const table: string[][] = [];
  for (const approach of [...new Set(runs.map((r) => r.approach))]) {
    const ratios = runs.filter((r) => r.approach === approach && r.rawExamplesPerSecond !== null).map(ratiosOf);
    for (const metric of ['executionRatio', 'epochRatio', 'etlRatio'] as const) {
      const values = ratios.map((r) => r[metric]).filter((x): x is number => x !== null);
      if (values.length === 0) continue;
      const s = sideStats(values);
      table.push([
        approach,
        metric,
        String(s.n),
        s.mean.toFixed(2),
        `${((s.sd / s.mean) * 100).toFixed(1)}%`,
        `${(((s.max - s.min) / s.mean) * 100).toFixed(1)}%`,
      ]);
    }
  }
  return formatTable(['approach', 'ratio', 'n', 'mean', 'sd / mean', '(max - min) / mean'], table);
}

async function main(args: CiArgs): Promise<void> {
  if (!(SCALES as readonly string[]).includes(args.scale)) {
    fail(`unknown scale "${args.scale}"; valid scales: ${SCALES.join(', ')}`);
  }
  if (!Number.isInteger(args.rounds) || args.rounds < 1)
    fail(`--rounds must be a positive integer, got ${args.rounds}`);
  if (!Number.isInteger(args.threads) || args.threads < 1) {
    fail(`--threads must be a positive integer, got ${args.threads}`);
  }
  const scale = args.scale as ScaleName;
  const approaches = args.approaches ? splitList([args.approaches]) : approachIds();
  for (const id of approaches) {
    try {
      getApproach(id);
    } catch (error) {
      fail((error as Error).message);
    }
  }
  const workload = (() => {
    try {
      return resolveWorkload(args.workload, scale, 1);
    } catch (error) {
      return fail((error as Error).message);
    }
  })();
  const baselinePath = args.baseline ? resolve(args.baseline) : DEFAULT_BASELINE;
  const shownBaseline = relative(process.cwd(), baselinePath).startsWith('..')
    ? baselinePath
    : relative(process.cwd(), baselinePath);

  // Before spending minutes on runs: is the baseline there, and does it hold this grid?
  let baseline: Baseline | undefined;
  if (!args['update-baseline']) {
    const stored = (() => {
      try {
        return loadBaseline(baselinePath);
      } catch (error) {
        return fail(`${(error as Error).message}\n(record one with --update-baseline and commit it)`);
      }
    })();
    baseline = stored;
    const held = (a: string) =>
      stored.runs.some(
        (r) => r.approach === a && r.workload === workload.id && r.scale === scale && r.segments === args.segments,
      );
    const missing = approaches.filter((a) => !held(a));
    if (missing.length > 0) {
      fail(
        `${shownBaseline} holds no runs of ${missing.join(', ')} on ${workload.id}/${scale} ` +
          `with ${args.segments} segments; record it with --update-baseline`,
      );
    }
  }

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const out = resolve(args.out ?? join('.bench', 'ci', stamp));
  const runsDir = join(out, 'runs');
  mkdirSync(runsDir, { recursive: true });

  const topology = await ensureCluster({ segments: args.segments });
  const segments = topology.segments.length;
  const threads = args.threads;
  console.log(
    `${workload.id}/${scale}: ${workload.configs.length} configs x ${workload.epochs} epochs ` +
      `on ${segments} segments, ` +
      `${threads} engine thread(s) per worker, ${args.rounds} round(s) of ${approaches.join(', ')}`,
  );

  interface Measured {
    round: number;
    run: ComparableRun;
  }
  const measured: Measured[] = [];
  const failures: { approach: string; message: string }[] = [];
  for (let round = 0; round < args.rounds; round++) {
    for (const approach of approaches) {
      const label = `${approach} ${workload.id}/${scale} round ${round + 1}/${args.rounds}`;
      try {
        const result = await runSpec({ approach, workload: workload.id, scale, topology, runsDir, threads });
        const run = comparableRun(await loadRun(result.runDir, { requireSummary: true }));
        const raw =
          run.rawExamplesPerSecond === null
            ? 'no calibration'
            : `raw loop ${run.rawExamplesPerSecond.toFixed(0)} examples/s per worker`;
        console.log(
          `${label}: ETL ${run.etlSeconds.toFixed(2)} s, execution ${run.executionSeconds.toFixed(2)} s, ` +
            `${raw} (${result.runDir})`,
        );
        measured.push({ round, run });
      } catch (error) {
        failures.push({ approach, message: `${label}: ${(error as Error).message}` });
        console.error(`${label} failed: ${(error as Error).message}`);
      }
    }
  }

  await buildReport([runsDir], join(out, 'report'));
  console.log(`report: ${join(out, 'report', 'index.html')}`);

  const ratioText = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : x.toFixed(2));
  const rows = measured.map(({ round, run }) => {
    const calibrated = run.rawExamplesPerSecond !== null && run.examplesTrained > 0;
    const ratios = calibrated ? ratiosOf(run) : undefined;
    return [
      run.approach,
      round + 1,
      run.examplesTrained,
      run.rawExamplesPerSecond === null ? '-' : run.rawExamplesPerSecond.toFixed(0),
      run.executionSeconds.toFixed(2),
      ratioText(ratios?.executionRatio),
      ratioText(ratios?.etlRatio),
      ratioText(ratios?.epochRatio),
    ];
  });
  console.log(
    '\n' +
      formatTable(
        [
          'approach',
          'round',
          'examples',
          'raw ex/s/worker',
          'execution s',
          'execution ratio',
          'ETL ratio',
          'epoch ratio',
        ],
        rows,
      ),
  );

  const rates = measured.map((m) => m.run.rawExamplesPerSecond).filter((x): x is number => x !== null);
  if (rates.length > 0) {
    const s = sideStats(rates);
    console.log(
      `raw engine loop over ${s.n} calibrations: mean ${s.mean.toFixed(0)} examples/s per worker, ` +
        `sd ${((s.sd / s.mean) * 100).toFixed(1)}%, ` +
        `range ${(((s.max - s.min) / s.mean) * 100).toFixed(1)}% of the mean`,
    );
  }

  const failedApproaches = [...new Set(failures.map((f) => f.approach))];
  const reportFailures = (): void => {
    if (failures.length > 0)
      console.error(`\n${failures.length} run(s) failed:\n${failures.map((f) => `  - ${f.message}`).join('\n')}`);
  };
  const candidate = measured.map((m) => m.run);

  if (args['update-baseline']) {
    if (failures.length > 0) {
      reportFailures();
      console.error(
        `bench:ci: not writing ${shownBaseline}: every run must succeed for a baseline ` +
          `(${failedApproaches.join(', ')} failed)`,
      );
      process.exit(1);
    }
    saveBaseline(baselinePath, candidate);
    console.log(
      `\n--update-baseline: wrote ${candidate.length} run(s) to ${shownBaseline} (nothing was compared); commit it`,
    );
    console.log(`spread of the ratios over ${args.rounds} round(s):\n${spreadTable(candidate)}`);
    process.exitCode = 0;
  } else {
    const base = baseline as Baseline;
    // An approach whose runs all failed is reported as a failure (exit 1), not as missing.
    const measuredApproaches = new Set(candidate.map((r) => r.approach));
    const compared = base.runs.filter(
      (r) =>
        approaches.includes(r.approach) &&
        measuredApproaches.has(r.approach) &&
        r.workload === workload.id &&
        r.scale === scale,
    );
    const result = compareRuns(compared, candidate, {
      metric: 'ratio-to-raw',
      maxSlowdown: args['max-slowdown'],
      allowEnvDiff: splitList(args['allow-env-diff']),
    });
    const env = compared[0]?.environment;
    console.log(
      `\nagainst ${shownBaseline} (saved ${base.createdAt}${env ? ` on ${env.cpuModel}, ${env.cpuCores} cores` : ''}):`,
    );
    console.log(renderComparison(result, 'table').trimEnd());
    writeOutput(join(out, 'compare.md'), renderComparison(result, 'markdown'));
    writeOutput(join(out, 'compare.json'), renderComparison(result, 'json'));
    writeOutput(join(out, 'junit.xml'), renderComparison(result, 'junit'));
    console.log(`comparison: ${join(out, 'compare.md')}, compare.json, junit.xml`);
    console.log(`spread of the ratios now:\n${spreadTable(candidate)}`);
    reportFailures();
    if (result.kind === 'compared' && failures.length > 0)
      console.error(`bench:ci: ${verdictLine(result)}; and ${failures.length} run(s) failed`);
    process.exitCode = Math.max(failures.length > 0 ? 1 : 0, exitCodeOf(result));
  }
}

await runBench<CiArgs>({
  name: 'bench:ci',
  describe: 'every approach on a tiny grid in rounds, as ratios to the raw loop, against bench/ci-baseline.json',
  options: (argv: Argv<object>) =>
    argv
      .option('approaches', {
        type: 'string',
        describe: 'comma-separated approach ids (default: every registered approach)',
      })
      .option('workload', { type: 'string', default: 'criteo' })
      .option('scale', { type: 'string', default: 'tiny' })
      .option('segments', { type: 'number', default: 2 })
      .option('threads', {
        type: 'number',
        default: 1,
        describe: 'engine threads per worker (fixed, so a baseline travels between machines)',
      })
      .option('rounds', {
        alias: 'repeats',
        type: 'number',
        default: 3,
        describe: 'runs per approach, one per round (3 or more enables the noise test)',
      })
      .option('out', {
        type: 'string',
        describe: 'folder for the runs, the report and the comparison (default .bench/ci/<timestamp>)',
      })
      .option('baseline', { type: 'string', describe: 'the baseline file (default bench/ci-baseline.json)' })
      .option('update-baseline', {
        type: 'boolean',
        default: false,
        describe: 'write the runs to the baseline file instead of comparing',
      })
      .option('max-slowdown', { type: 'number', default: 1.1 })
      .option('allow-env-diff', {
        type: 'string',
        array: true,
        default: [],
        describe: 'environment fields allowed to differ (see bench compare --help)',
      }) as unknown as Argv<CiArgs>,
  async main(args) {
    try {
      await main(args);
    } catch (error) {
      if (!(error instanceof CiRefusal)) throw error;
      console.error(`bench:ci: ${error.message}`);
      process.exitCode = 2;
    }
  },
});
