// npx tsx bench/scalability.ts [--approaches udaf,ctq,da,export] [--segments 1,2,4] [--scale tiny]
//                              [--dataset imagenet|criteo] [--threads 1|auto] [--seed 1]
// npx tsx bench/scalability.ts --from runs/scalability-<time> [--approaches ...]
//                              (the tables again, from stored runs; --approaches picks among them)
// (the shared benchmark entry, docs/benchmarks.md; --help lists the options)
//
// Strong scaling (paper 5.2.1, Figure 10): the `scalability` workload (8 homogeneous configs, one
// epoch) for each approach at each cluster size. Segment counts run in ascending order, all
// approaches at one size before the next (ensureCluster rebuilds the cluster when the count
// changes; the harness loads the raw data for the new cluster). Prints, from the runs' summaries:
//   - Figure 10A: execution time (ETL excluded) and speedup T(1 segment) / T(N segments);
//   - Figures 10B-D: machine time per component, summed over the segments, relative to 1 segment
//     (1.00 = perfectly scalable; above 1 = sublinear): B train+valid, C data transmission,
//     D model transmission + approach-specific (idle included), as the paper groups them.
//     Machine time = the summary's breakdown (seconds per segment, averaged over segments, within
//     the epoch windows) x segments, summed over epochs;
//   - units at once: the units' summed wall time over the time any unit ran
//     (src/metrics/unit-times.ts), i.e. how many segments really trained side by side.
// No target: the tables are for reading (on a machine with fewer cores than segments the segments
// take turns, see the note it prints).
// --threads 1 (default) gives every segment one engine thread, so a segment is one core's worth
// of worker and N segments ask for N cores ('auto': the harness's cores / segments).
// Writes scalability.json next to the run folders (runs/scalability-<time>/).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { formatTable } from '../src/cli/format.js';
import { runSpec } from '../approaches/resolve.js';
import { benchHome, repoRoot } from '../src/core/paths.js';
import { SCALES, type ScaleName } from '../src/core/workload.js';
import { ensureCluster } from '../src/db/cluster.js';
import { addBreakdowns } from '../src/metrics/summarize.js';
import { unitConcurrency, unitTimes } from '../src/metrics/unit-times.js';
import { loadRun, loadRuns } from '../src/store/read.js';
import type { Breakdown, Summary } from '../src/core/records.js';

import type { Argv } from 'yargs';
import { runBench } from './lib/entry.js';
import { firstLine } from '../src/core/errors.js';

interface Args {
  /** Undefined when not given: all approaches (a new run) or every stored one (--from). */
  approaches?: string;
  segments: string;
  scale: string;
  dataset: string;
  threads: string;
  seed: number;
  from?: string;
}

const DEFAULT_APPROACHES = ['udaf', 'ctq', 'da', 'export'];
const DATASETS = ['imagenet', 'criteo'] as const;

type Group = 'trainValid' | 'dataTransmission' | 'modelAndApproach';
interface Result {
  approach: string;
  segments: number;
  runDir?: string;
  error?: string;
  executionSeconds?: number;
  epochSeconds?: number;
  /** Seconds per segment (the summary's breakdown summed over epochs). */
  perSegment?: Breakdown;
  /** Machine seconds summed over the segments, by the paper's groups. */
  machine?: Record<Group, number>;
  /** Units' summed wall time over the time any unit ran. */
  unitsAtOnce?: number;
}

function sumBreakdown(summary: Summary): Breakdown {
  return addBreakdowns(summary.breakdown);
}

function resultOf(approach: string, segments: number, runDir: string, summary: Summary, unitsAtOnce: number): Result {
  const perSegment = sumBreakdown(summary);
  return {
    approach,
    segments,
    runDir,
    executionSeconds: summary.executionSeconds,
    epochSeconds: summary.epochSeconds.reduce((s, x) => s + x, 0),
    perSegment,
    machine: {
      trainValid: perSegment.trainValid * segments,
      dataTransmission: perSegment.dataTransmission * segments,
      modelAndApproach:
        (perSegment.modelTransmission + perSegment.approachSpecific + perSegment.unattributed) * segments,
    },
    unitsAtOnce,
  };
}

/** The complete scalability runs in `from`. */
async function storedResults(from: string): Promise<Result[]> {
  const results: Result[] = [];
  for (const run of await loadRuns([from], { requireSummary: true })) {
    if (run.info.workload !== 'scalability' || run.summary.status !== 'complete') continue;
    results.push(
      resultOf(run.info.approach, run.info.segments, run.dir, run.summary, unitConcurrency(unitTimes(run.events))),
    );
  }
  if (results.length === 0) throw new Error(`--from: no complete scalability runs in ${from}`);
  return results;
}

/** Each approach at each segment count, ascending: a failed run is recorded with its error, not thrown. */
async function freshResults(
  outDir: string,
  approaches: readonly string[],
  segmentCounts: readonly number[],
  run: { scale: ScaleName; seed: number; options: Record<string, string>; threads: number | undefined },
): Promise<Result[]> {
  const results: Result[] = [];
  for (const segments of segmentCounts) {
    const started = Date.now();
    const topology = await ensureCluster({ segments });
    console.log(`cluster with ${segments} segment(s) ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const approach of approaches) {
      const t0 = Date.now();
      process.stdout.write(`  ${approach} on ${segments} ... `);
      try {
        const { runDir, summary } = await runSpec({
          approach,
          workload: 'scalability',
          scale: run.scale,
          topology,
          seed: run.seed,
          runsDir: outDir,
          options: run.options,
          threads: run.threads,
        });
        const loaded = await loadRun(runDir);
        results.push(resultOf(approach, segments, runDir, summary, unitConcurrency(unitTimes(loaded.events))));
        console.log(
          `execution ${summary.executionSeconds.toFixed(1)} s ` +
            `(${((Date.now() - t0) / 1000).toFixed(1)} s in all): ${relative(process.cwd(), runDir)}`,
        );
      } catch (error) {
        const message = firstLine(error);
        results.push({ approach, segments, error: message });
        console.log(`FAILED: ${message}`);
      }
    }
  }
  return results;
}

const list = (value: string): string[] =>
  value
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);

async function main(args: Args): Promise<void> {
  const from = args.from ? resolve(args.from) : undefined;
  if (from && !existsSync(from)) throw new Error(`--from: no such folder ${from}`);
  const stored =
    from && existsSync(join(from, 'scalability.json'))
      ? (JSON.parse(readFileSync(join(from, 'scalability.json'), 'utf8')) as {
          scale: string;
          threads: number | 'auto';
        })
      : undefined;
  const scale = (stored?.scale ?? args.scale) as ScaleName;
  if (!SCALES.includes(scale)) throw new Error(`--scale must be one of ${SCALES.join(', ')}, got ${scale}`);
  const approachesGiven = args.approaches !== undefined;
  let approaches = list(args.approaches ?? DEFAULT_APPROACHES.join(','));
  if (approachesGiven && approaches.length === 0) throw new Error('--approaches lists no approach');
  let segmentCounts = [...new Set(list(args.segments).map(Number))].sort((a, b) => a - b);
  if (segmentCounts.length === 0 || segmentCounts.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`--segments must list integers >= 1, got ${args.segments}`);
  const threadsArg = stored ? String(stored.threads) : args.threads;
  const threads = threadsArg === 'auto' ? undefined : Number(threadsArg);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1))
    throw new Error(`--threads must be an integer >= 1 or auto, got ${threadsArg}`);
  const { seed } = args;
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${seed}`);
  const options = { dataset: args.dataset };
  const cores = availableParallelism();

  const outDir =
    from ?? join(repoRoot(), 'runs', `scalability-${scale}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(outDir, { recursive: true });
  let results: Result[];
  if (from) {
    results = await storedResults(from);
    // Every stored approach, or those of them --approaches names.
    approaches = [...new Set(results.map((r) => r.approach))].filter((a) => !approachesGiven || approaches.includes(a));
    if (approaches.length === 0)
      throw new Error(
        `--approaches: none of ${args.approaches} among the stored runs ` +
          `(${[...new Set(results.map((r) => r.approach))].join(', ')})`,
      );
    segmentCounts = [...new Set(results.map((r) => r.segments))].sort((a, b) => a - b);
    console.log(`bench/scalability: ${results.length} stored runs from ${relative(process.cwd(), from)}`);
  } else {
    console.log(
      `bench/scalability: ${approaches.join(', ')} on ${segmentCounts.join(', ')} segments, scale ${scale}, ` +
        `dataset ${options.dataset}, ${threads ?? 'cores / segments'} engine thread(s) per segment, ` +
        `cluster home ${benchHome()}, runs in ${relative(process.cwd(), outDir)}`,
    );
    results = await freshResults(outDir, approaches, segmentCounts, { scale, seed, options, threads });
  }
  const base = segmentCounts[0];

  const find = (approach: string, segments: number): Result | undefined =>
    results.find((r) => r.approach === approach && r.segments === segments);
  const headers = ['approach', ...segmentCounts.map((n) => `${n} seg`)];

  console.log('');
  console.log(`Figure 10A: execution time (ETL excluded) and speedup vs ${base} segment(s)`);
  console.log(
    formatTable(
      headers,
      approaches.map((a) => [
        a,
        ...segmentCounts.map((n) => {
          const r = find(a, n);
          const b = find(a, base);
          if (!r || r.executionSeconds === undefined) return 'failed';
          const speedup =
            b?.executionSeconds !== undefined ? `${(b.executionSeconds / r.executionSeconds).toFixed(2)}x` : 'n/a';
          return `${r.executionSeconds.toFixed(1)} s (${speedup})`;
        }),
      ]),
    ),
  );

  const GROUPS: { key: Group; title: string }[] = [
    { key: 'trainValid', title: 'Figure 10B: Train+Valid' },
    { key: 'dataTransmission', title: 'Figure 10C: Data Transmission' },
    { key: 'modelAndApproach', title: 'Figure 10D: Model Transmission + Approach-specific + unattributed' },
  ];
  for (const group of GROUPS) {
    console.log('');
    console.log(`${group.title}: machine time summed over segments, relative to ${base} segment(s) (machine seconds)`);
    console.log(
      formatTable(
        headers,
        approaches.map((a) => [
          a,
          ...segmentCounts.map((n) => {
            const r = find(a, n)?.machine;
            const b = find(a, base)?.machine;
            if (!r) return 'failed';
            const ratio = b && b[group.key] > 0 ? (r[group.key] / b[group.key]).toFixed(2) : 'n/a';
            return `${ratio} (${r[group.key].toFixed(2)} s)`;
          }),
        ]),
      ),
    );
  }

  console.log('');
  console.log('Units at once (how many segments trained side by side on average while any trained)');
  console.log(
    formatTable(
      headers,
      approaches.map((a) => [
        a,
        ...segmentCounts.map((n) => {
          const r = find(a, n);
          return r?.unitsAtOnce !== undefined && Number.isFinite(r.unitsAtOnce)
            ? r.unitsAtOnce.toFixed(2)
            : r?.error
              ? 'failed'
              : 'n/a';
        }),
      ]),
    ),
  );

  console.log('');
  const over = segmentCounts.filter((n) => n * (threads ?? 1) > cores);
  console.log(
    `Note: this machine has ${cores} core(s), shared with other work. ` +
      (over.length > 0
        ? `With ${over.join(', ')} segments the segments ask for more cores than there are, so they take turns: ` +
          `expect sublinear speedup and machine time that grows with the cluster ` +
          `size beyond ${Math.floor(cores / (threads ?? 1))} segment(s). That is the machine, not the approach; `
        : '') +
      `the paper's Figure 10 had one GPU per worker. At scale ${scale} fixed costs (engine import, statements, ` +
      `validation) weigh more than at paper scale.`,
  );

  const jsonPath = join(outDir, 'scalability.json');
  if (!from) {
    const numbers = {
      scale,
      dataset: options.dataset,
      seed,
      threads: threads ?? 'auto',
      cores,
      approaches,
      segments: segmentCounts,
      results,
    };
    writeFileSync(jsonPath, `${JSON.stringify(numbers, null, 2)}\n`);
  }
  console.log(`\nAll numbers: ${relative(process.cwd(), jsonPath)}`);
}

await runBench<Args>({
  name: 'bench/scalability.ts',
  describe: 'strong scaling (Figure 10): each approach on each cluster size, speedup and per-component machine time',
  options: (argv) =>
    argv
      .option('approaches', {
        type: 'string',
        describe:
          `comma-separated approaches (default ${DEFAULT_APPROACHES.join(',')}); with --from, ` +
          `which of the stored ones to show (default all)`,
      })
      .option('segments', {
        type: 'string',
        default: '1,2,4',
        describe: 'comma-separated segment counts (run in ascending order; the first is the reference)',
      })
      .option('scale', { type: 'string', default: 'tiny', choices: [...SCALES], describe: 'workload scale' })
      .option('dataset', {
        type: 'string',
        default: 'imagenet',
        choices: [...DATASETS],
        describe: "the scalability workload's dataset option: imagenet (ResNet50, as the paper) or criteo (the MLP)",
      })
      .option('threads', {
        type: 'string',
        default: '1',
        describe: "engine threads per segment: an integer >= 1, or auto (the harness's cores / segments)",
      })
      .option('seed', { type: 'number', default: 1, describe: "the runs' seed" })
      .option('from', {
        type: 'string',
        describe:
          'a folder of stored scalability runs (runs/scalability-<time>): the tables from them, no new runs ' +
          '(scale and threads from its scalability.json)',
      }) as Argv<Args>,
  main,
});
