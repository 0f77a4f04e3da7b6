// `npm run bench:ci`: the CI regression run (docs/architecture.md, "Measurement").
//
// Runs a tiny grid of every approach several times (in rounds: each round runs every approach
// once), measures the raw engine loop on the same data before the first round and after every
// round (each run is divided by the mean of the two measurements around it), turns each run's
// execution, ETL and epoch times into ratios to the raw loop (src/metrics/ci-ratios.ts: machine-independent, so a
// baseline recorded on one machine is checked on any other), and compares them with the baseline
// committed in the repository: per approach and metric a factor (candidate mean / baseline mean)
// and, with 3 or more runs a side, Welch's noise test. Prints a table; exit 1 on a regression, 2
// when the runs are not comparable with the baseline (another workload, scale or segment count, an
// approach on one side only, no or a malformed baseline file).
//
//   npx tsx bench/ci.ts [--approaches export,udaf] [--workload criteo] [--scale tiny]
//                       [--segments 2] [--repeats 3] [--out .bench/ci/<stamp>]
//                       [--baseline bench/ci-baseline.json] [--max-slowdown 1.10]
//                       [--raw-samples 3] [--update-baseline]
//
// --update-baseline writes the measured ratios to the baseline file instead of comparing. The run
// folders and their report are written under --out either way.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { approachIds, getApproach } from '../approaches/index.js';
import { sidePatterns } from '../src/cli/commands/compare.js';
import { formatTable } from '../src/cli/format.js';
import { runSpec } from '../approaches/resolve.js';
import { repoRoot } from '../src/core/paths.js';
import type { ScaleName } from '../src/core/workload.js';
import { SCALES } from '../src/core/workload.js';
import { ensureCluster } from '../src/db/cluster.js';
import { runRawLoopOnShards, writeRawLoopShards, type RawLoopMeasurement } from './lib/raw-baseline.js';
import {
  CI_BASELINE_VERSION,
  CI_TABLE_HEADERS,
  ciExitCode,
  ciTableRows,
  collectRatios,
  compareToBaseline,
  parseCiBaseline,
  runRatios,
  type CiBaseline,
  type RunRatios,
} from '../src/metrics/ci-ratios.js';
import { mean } from '../src/metrics/stats.js';
import { captureEnvironment } from '../src/store/environment.js';
import type { Summary } from '../src/core/records.js';
import { loadRun } from '../src/store/read.js';
import { resolveWorkload } from '../workloads/index.js';
import { buildReport } from '../reports/build.js';

const DEFAULT_BASELINE = join(repoRoot(), 'bench', 'ci-baseline.json');

const args = await yargs(hideBin(process.argv))
  .scriptName('bench:ci')
  .option('approaches', { type: 'string', describe: 'comma-separated approach ids (default: every registered approach)' })
  .option('workload', { type: 'string', default: 'criteo' })
  .option('scale', { type: 'string', default: 'tiny' })
  .option('segments', { type: 'number', default: 2 })
  .option('repeats', { type: 'number', default: 3, describe: 'runs per approach (3 or more enables the noise test)' })
  .option('out', { type: 'string', describe: 'folder for the runs and the report (default .bench/ci/<timestamp>)' })
  .option('baseline', { type: 'string', describe: 'baseline file of ratios (default bench/ci-baseline.json)' })
  .option('update-baseline', { type: 'boolean', default: false, describe: 'write the measured ratios to the baseline file instead of comparing' })
  .option('max-slowdown', { type: 'number', default: 1.1 })
  .option('raw-samples', { type: 'number', default: 3, describe: 'raw loops per raw-loop measurement (their median counts)' })
  .strict()
  .help()
  .parseAsync();

function fail(message: string): never {
  console.error(`bench:ci: ${message}`);
  process.exit(2);
}

if (!(SCALES as readonly string[]).includes(args.scale)) fail(`unknown scale "${args.scale}"; valid scales: ${SCALES.join(', ')}`);
if (!Number.isInteger(args.repeats) || args.repeats < 1) fail(`--repeats must be a positive integer, got ${args.repeats}`);
if (!Number.isInteger(args['raw-samples']) || args['raw-samples'] < 1) fail(`--raw-samples must be a positive integer, got ${args['raw-samples']}`);
const scale = args.scale as ScaleName;
const approaches = args.approaches ? sidePatterns(args.approaches) : approachIds();
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
const shownBaseline = relative(process.cwd(), baselinePath).startsWith('..') ? baselinePath : relative(process.cwd(), baselinePath);

// Compare before spending minutes on runs: is the baseline there, and is it for this grid?
let baseline: CiBaseline | undefined;
if (!args['update-baseline']) {
  if (!existsSync(baselinePath)) fail(`no baseline at ${shownBaseline}; record one with --update-baseline (and commit it)`);
  try {
    baseline = parseCiBaseline(readFileSync(baselinePath, 'utf8'), shownBaseline);
  } catch (error) {
    fail((error as Error).message);
  }
  if (args.approaches) {
    // Only the selected approaches are compared.
    const skipped = Object.keys(baseline.approaches).filter((a) => !approaches.includes(a));
    if (skipped.length > 0) console.log(`not selected, not compared: ${skipped.join(', ')}`);
    baseline = { ...baseline, approaches: Object.fromEntries(Object.entries(baseline.approaches).filter(([a]) => approaches.includes(a))) };
  }
  const empty = { executionRatio: [], etlRatio: [], epochRatio: [] };
  const planned = { workload: workload.id, scale, segments: args.segments, approaches: Object.fromEntries(approaches.map((a) => [a, empty])) };
  const precheck = compareToBaseline(baseline, planned);
  if (precheck.kind === 'not comparable') fail(`cannot compare with ${shownBaseline}:\n${precheck.problems.map((p) => `  - ${p}`).join('\n')}`);
}

const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
const out = resolve(args.out ?? join('.bench', 'ci', stamp));
const runsDir = join(out, 'runs');
mkdirSync(runsDir, { recursive: true });

const topology = await ensureCluster({ segments: args.segments });
const segments = topology.segments.length;
// The same engine threads per worker for the approaches and the raw loop (the harness's default).
const cores = Number(process.env.BENCH_CORES ?? 0) || (globalThis.navigator?.hardwareConcurrency ?? 2);
const threads = Math.max(1, Math.floor(cores / segments));

// The raw loop's shards are copied out once; the loop is measured before the first round and after
// every round (a round runs each approach once), and each run is divided by the mean of the two
// measurements around its round. So a machine that is busier in one part of the session moves the
// raw loop with the runs, and the raw loop's own noise shows in the spread the noise test sees.
const shardDir = join(out, 'raw-shards');
const shards = await writeRawLoopShards(topology, workload, shardDir);
const raw: RawLoopMeasurement[] = [];
async function measureRaw(when: string): Promise<void> {
  // Each point is the median of --raw-samples raw loops: one loop is well under a second of
  // training at tiny scale, so a single one is at the mercy of whatever else the machine runs
  // (and the first one after the copy runs measurably slower, cold).
  const samples: RawLoopMeasurement[] = [];
  for (let i = 0; i < args['raw-samples']; i++) samples.push(await runRawLoopOnShards(shards, workload, threads));
  samples.sort((a, b) => a.examplesPerSecond - b.examplesPerSecond);
  const m = samples[Math.floor(samples.length / 2)];
  raw.push(m);
  console.log(
    `raw engine loop ${when}: ${m.examplesPerSecond.toFixed(0)} examples/s per worker (median of ${samples.map((x) => x.examplesPerSecond.toFixed(0)).join(', ')}; ${m.examples} examples each)`,
  );
}

console.log(`${workload.id}/${scale}: ${workload.configs.length} configs x ${workload.epochs} epochs on ${segments} segments, ${threads} engine thread(s) per worker, ${args.repeats} round(s) of ${approaches.join(', ')}`);
await measureRaw('before round 1');

interface Measured {
  approach: string;
  round: number;
  runDir: string;
  summary: Summary;
  events: Awaited<ReturnType<typeof loadRun>>['events'];
}
const measured: Measured[] = [];
const failures: { approach: string; message: string }[] = [];
for (let r = 0; r < args.repeats; r++) {
  for (const approach of approaches) {
    const label = `${approach} ${workload.id}/${scale} run ${r + 1}/${args.repeats}`;
    try {
      const result = await runSpec({ approach, workload: workload.id, scale, topology, runsDir, threads });
      const s = result.summary;
      console.log(`${label}: ETL ${s.etlSeconds.toFixed(2)} s, execution ${s.executionSeconds.toFixed(2)} s (${result.runDir})`);
      const run = await loadRun(result.runDir, { requireSummary: true });
      measured.push({ approach, round: r, runDir: result.runDir, summary: run.summary, events: run.events });
    } catch (error) {
      failures.push({ approach, message: `${label}: ${(error as Error).message}` });
      console.error(`${label} failed: ${(error as Error).message}`);
    }
  }
  await measureRaw(`after round ${r + 1}`);
}
rmSync(shardDir, { recursive: true, force: true });

const rates = raw.map((m) => m.examplesPerSecond);
const rawMean = mean(rates);
const spread = (Math.max(...rates) - Math.min(...rates)) / rawMean;
console.log(`raw engine loop: ${rates.map((x) => x.toFixed(0)).join(', ')} examples/s per worker (mean ${rawMean.toFixed(0)}, spread ${(spread * 100).toFixed(1)}%)`);
if (spread > 0.2) console.log('  (the raw loop moved by more than 20% during the session: the machine was busy; the ratios are noisy)');

await buildReport([runsDir], join(out, 'report'));
console.log(`report: ${join(out, 'report', 'index.html')}`);

const ratios: { approach: string; round: number; ratios: RunRatios }[] = [];
for (const m of measured) {
  const rawRate = (rates[m.round] + rates[m.round + 1]) / 2;
  try {
    ratios.push({ approach: m.approach, round: m.round, ratios: runRatios({ summary: m.summary, events: m.events, segments }, rawRate) });
  } catch (error) {
    failures.push({ approach: m.approach, message: `${m.approach} (${m.runDir}): ${(error as Error).message}` });
  }
}
console.log(
  '\n' +
    formatTable(
      ['approach', 'round', 'examples', 'raw loop s', 'execution s', 'execution ratio', 'ETL ratio', 'epoch ratio'],
      ratios.map(({ approach, round, ratios: r }) => [
        approach,
        round + 1,
        r.examplesTrained,
        r.rawSeconds.toFixed(3),
        (r.executionRatio * r.rawSeconds).toFixed(2),
        r.executionRatio.toFixed(2),
        r.etlRatio.toFixed(2),
        r.epochRatio === null ? '-' : r.epochRatio.toFixed(2),
      ]),
    ),
);

const candidateRatios = collectRatios(ratios);
const failedApproaches = [...new Set(failures.map((f) => f.approach))];
const failureCode = failures.length > 0 ? 1 : 0;
const reportFailures = (): void => {
  if (failures.length > 0) console.error(`\n${failures.length} run(s) failed:\n${failures.map((f) => `  - ${f.message}`).join('\n')}`);
};

if (args['update-baseline']) {
  if (failures.length > 0) {
    reportFailures();
    console.error(`bench:ci: not writing ${shownBaseline}: every run must succeed for a baseline (${failedApproaches.join(', ')} failed)`);
    process.exit(1);
  }
  const env = await captureEnvironment(topology);
  const written: CiBaseline = {
    formatVersion: CI_BASELINE_VERSION,
    workload: workload.id,
    scale,
    segments,
    createdAt: new Date().toISOString(),
    environment: { cpuModel: env.cpuModel, cpuCores: env.cpuCores, torch: env.torch, postgres: env.postgres },
    rawExamplesPerSecond: rates,
    threads,
    approaches: candidateRatios,
  };
  writeFileSync(baselinePath, JSON.stringify(written, null, 2) + '\n');
  console.log(
    `\n--update-baseline: wrote the ratios of ${Object.keys(candidateRatios).length} approach(es) x ${args.repeats} run(s) to ${shownBaseline} (nothing was compared); commit it`,
  );
  for (const [approach, r] of Object.entries(candidateRatios)) {
    console.log(`  ${approach}: execution ${mean(r.executionRatio).toFixed(2)}, ETL ${mean(r.etlRatio).toFixed(2)}, epoch ${r.epochRatio.length > 0 ? mean(r.epochRatio).toFixed(2) : '-'} (means)`);
  }
  process.exitCode = 0;
} else {
  const base = baseline as CiBaseline;
  // An approach whose runs all failed is reported as a failure (exit 1), not as missing.
  const lost = failedApproaches.filter((a) => !(a in candidateRatios));
  const compared = { ...base, approaches: Object.fromEntries(Object.entries(base.approaches).filter(([a]) => !lost.includes(a))) };
  const candidate = { workload: workload.id, scale, segments, approaches: candidateRatios };
  const result = compareToBaseline(compared, candidate, { maxSlowdown: args['max-slowdown'] });
  console.log(`\nagainst ${shownBaseline} (recorded ${base.createdAt} on ${base.environment.cpuModel}, ${base.environment.cpuCores} cores):`);
  if (result.kind === 'not comparable') {
    console.error(`bench:ci: not comparable:\n${result.problems.map((p) => `  - ${p}`).join('\n')}`);
  } else {
    console.log(formatTable(CI_TABLE_HEADERS, ciTableRows(result)));
    for (const note of result.notes) console.log(`note: ${note}`);
    const regressions = result.rows.filter((r) => r.verdict === 'regression');
    console.log(
      regressions.length > 0
        ? `\nREGRESSION: ${regressions.map((r) => `${r.approach} ${r.metric} ${r.factor.toFixed(2)}x`).join(', ')} (max slowdown ${result.options.maxSlowdown}x, alpha ${result.options.alpha})`
        : `\nno regression (max slowdown ${result.options.maxSlowdown}x, alpha ${result.options.alpha})`,
    );
  }
  reportFailures();
  process.exitCode = Math.max(failureCode, ciExitCode(result));
}
