// npm run bench:engine -- [--workloads criteo,imagenet] [--scale small] [--segments 2] [--rounds 1]
//                         [--approaches da,export,udaf,ctq (default); udaf/cache=false] [--quiet | --json]
//
// Training throughput of the raw engine loop (one process per shard, the shard in memory, the same
// Trainer code, no scheduler, no hops) against the approaches on the same configs and data,
// measured side by side in one run per workload (raw loop before and after each round of the
// approaches; a round's baseline is the mean of the two around it, their spread is printed as the
// noise). With --rounds N every approach runs N times, interleaved; each ratio is taken within its
// round and the median of the N is what the targets judge, so that one slow run of the reference
// (da) does not decide a <= 1.10x verdict. An approach may carry options after
// slashes (`udaf/cache=false`). Ratios:
//   train ratio     = (approach's examples / seconds inside the engine's train loop) / raw loop's
//   machine time    = the approach's train+valid, data and model transmission machine seconds,
//                     relative to the first approach listed (the targets compare udaf/ctq with da)
//   execution ratio = the execution phase / the time the raw loop's workers need for the same
//                     examples (src/metrics/ci-ratios.ts's definition)
// Targets (docs/benchmarks.md, docs/indb.md): da and export train at >= 0.95 x the raw loop; udaf
// and ctq machine time <= 1.10 x da's (small scale); every in-DBMS approach's execution <= 3 x the
// raw loop (tiny scale). A missed target makes the script exit 1.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSpec } from '../approaches/resolve.js';
import { formatTable } from '../src/cli/format.js';
import { Output, withOutputFlags, type OutputFlags } from '../src/cli/output.js';
import { Progress } from '../src/cli/progress.js';
import { runEventSchema, type Phase, type RunEvent } from '../src/core/events.js';
import { repoRoot } from '../src/core/paths.js';
import { SCALES, type ScaleName } from '../src/core/workload.js';
import { ensureCluster } from '../src/db/cluster.js';
import { median } from '../src/metrics/stats.js';
import type { Topology } from '../src/db/topology.js';
import { resolveWorkload } from '../workloads/index.js';
import { printTargets, runBench, targetMet, type Target } from './lib/entry.js';
import { runRawLoopOnShards, writeRawLoopShards } from './lib/raw-baseline.js';

interface Args extends OutputFlags {
  workloads: string;
  scale: string;
  segments: number;
  approaches: string;
  rounds: number;
}

interface Measured {
  label: string;
  approach: string;
  examples: number;
  trainSeconds: number;
  machineSeconds: number;
  executionSeconds: number;
  startupSeconds: number;
}

const IN_DBMS = new Set(['udaf', 'ctq', 'ma']);

/** Seconds between a phase's start and end marks, summed over attempts. */
function phaseSeconds(events: readonly RunEvent[], phase: Phase): number {
  let open: number | undefined;
  let total = 0;
  for (const e of events) {
    if (e.type !== 'phase' || e.phase !== phase) continue;
    if (e.edge === 'start') open = e.at;
    else if (open !== undefined) {
      total += e.at - open;
      open = undefined;
    }
  }
  return total / 1000;
}

/** `udaf/cache=false` -> the approach and its options. */
function parseApproach(label: string): { approach: string; options: Record<string, string> } {
  const [approach, ...pairs] = label.split('/');
  const options: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--approaches: "${pair}" in "${label}" is not key=value`);
    options[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { approach, options };
}

interface Measurement {
  workload: string;
  /** Raw loop examples/s: before the first round and after each round. */
  rawLoop: { runs: number[]; spread: number };
  /** One entry per round: each approach once, in the order given. */
  rounds: Measured[][];
  targets: Target[];
}

/** An approach's ratios in one round, against that round's raw loop and reference approach. */
interface RoundRatios {
  train: number;
  machine: number;
  execution: number;
}

/** `1.034` for one round; `1.034 [0.981-1.102]` (median, range) for several. */
function medianAndRange(xs: readonly number[], digits: number): string {
  const m = median(xs).toFixed(digits);
  if (xs.length === 1) return m;
  return `${m} [${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}]`;
}

async function measureRun(
  topology: Topology,
  workloadId: string,
  scale: ScaleName,
  label: string,
  threads: number,
  outDir: string,
  display: ReturnType<ReturnType<Progress['startJob']>['startRun']>,
): Promise<Measured> {
  const segments = topology.segments.length;
  const { approach, options } = parseApproach(label);
  const { runDir, summary } = await runSpec({
    approach,
    workload: workloadId,
    scale,
    topology,
    runsDir: outDir,
    threads,
    options,
    onEvent: display.onEvent,
  });
  display.finish();
  const events = readFileSync(join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => runEventSchema.parse(JSON.parse(line)));
  const trainSeconds = events.reduce(
    (sum, e) => sum + (e.type === 'span' && e.kind === 'train' ? (e.end - e.start) / 1000 : 0),
    0,
  );
  const examples = events.reduce((sum, e) => sum + (e.type === 'epoch' ? e.trainExamples : 0), 0);
  const machineSeconds = summary.breakdown.reduce(
    (sum, b) => sum + (b.trainValid + b.dataTransmission + b.modelTransmission) * segments,
    0,
  );
  return {
    label,
    approach,
    examples,
    trainSeconds,
    machineSeconds,
    executionSeconds: summary.executionSeconds,
    startupSeconds: phaseSeconds(events, 'startup'),
  };
}

async function measureWorkload(
  topology: Topology,
  workloadId: string,
  scale: ScaleName,
  labels: string[],
  roundCount: number,
  outDir: string,
  progress: Progress,
): Promise<Measurement> {
  const output = progress.output;
  const segments = topology.segments.length;
  const workload = resolveWorkload(workloadId, scale, 1);
  const threads = Math.max(1, Math.floor(2 / segments));
  const dataFiles = await writeRawLoopShards(topology, workload, join(outDir, workloadId));
  const rawLoop = async (name: string): Promise<number> => {
    const task = job.startTask(name);
    const { examplesPerSecond } = await runRawLoopOnShards(dataFiles, workload, threads);
    task.finish();
    return examplesPerSecond;
  };

  const job = progress.startJob({
    label: `bench:engine ${workload.id}/${scale}`,
    total: roundCount * (labels.length + 1) + 1,
    noun: 'steps',
  });
  const shape = { configs: workload.configs.length, segments, epochs: workload.epochs };
  const raw = [await rawLoop('raw engine loop, before')];
  const rounds: Measured[][] = [];
  for (let r = 0; r < roundCount; r++) {
    const measured: Measured[] = [];
    for (const label of labels) {
      const round = roundCount > 1 ? ` (round ${r + 1}/${roundCount})` : '';
      const display = job.startRun({ label: `${label} ${workload.id}/${scale}${round}`, shape });
      measured.push(await measureRun(topology, workload.id, scale, label, threads, outDir, display));
    }
    rounds.push(measured);
    raw.push(await rawLoop(`raw engine loop, after round ${r + 1}`));
  }
  job.finish();

  // Each round is judged against the raw loop measured on either side of it and against its own
  // reference run: pairs close in time, so that drift on a noisy machine cancels.
  const ratios: RoundRatios[][] = rounds.map((measured, r) => {
    const baseline = (raw[r] + raw[r + 1]) / 2;
    return measured.map((m) => ({
      train: m.examples / m.trainSeconds / baseline,
      machine: m.machineSeconds / measured[0].machineSeconds,
      execution: m.executionSeconds / (m.examples / baseline / segments),
    }));
  });
  const ofLabel = <T>(rows: T[][], i: number): T[] => rows.map((row) => row[i]);
  const spread = (Math.max(...raw) - Math.min(...raw)) / (raw.reduce((a, b) => a + b, 0) / raw.length);
  const reference = labels[0];
  output.result(
    `\n${workload.id}/${scale}: ${workload.configs.length} configs x ${workload.epochs} epochs on ${segments} ` +
      `segments, ${threads} engine thread(s) per worker, ${roundCount} round(s)`,
  );
  output.result(
    `raw engine loop: ${raw.map((x) => x.toFixed(0)).join(', ')} examples/s ` +
      `(before the first round and after each; spread ${(spread * 100).toFixed(1)}%)`,
  );
  if (roundCount > 1) output.result('medians over the rounds; [min-max] for the ratios, each taken within its round');
  output.result('');
  output.result(
    formatTable(
      [
        'approach',
        'examples',
        'examples/s in train',
        'x raw loop',
        'train+valid+data+model machine s',
        `x ${reference}`,
        'start-up s',
        'execution s',
        'execution x raw',
      ],
      labels.map((label, i) => {
        const runs = ofLabel(rounds, i);
        const r = ofLabel(ratios, i);
        return [
          label,
          runs[0].examples,
          median(runs.map((m) => m.examples / m.trainSeconds)).toFixed(0),
          medianAndRange(
            r.map((x) => x.train),
            3,
          ),
          median(runs.map((m) => m.machineSeconds)).toFixed(2),
          medianAndRange(
            r.map((x) => x.machine),
            3,
          ),
          median(runs.map((m) => m.startupSeconds)).toFixed(2),
          median(runs.map((m) => m.executionSeconds)).toFixed(2),
          medianAndRange(
            r.map((x) => x.execution),
            2,
          ),
        ];
      }),
    ),
  );

  const targets: Target[] = [];
  const daIndex = labels.indexOf('da');
  const note = roundCount > 1 ? `median of ${roundCount} rounds` : undefined;
  labels.forEach((label, i) => {
    const { approach, options } = parseApproach(label);
    const r = ofLabel(ratios, i);
    if ((approach === 'da' || approach === 'export') && Object.keys(options).length === 0) {
      targets.push({
        name: `${label} train / raw loop, ${workload.id}/${scale}`,
        measured: median(r.map((x) => x.train)),
        bound: 0.95,
        direction: '>=',
        note,
      });
    }
    if ((approach === 'udaf' || approach === 'ctq') && daIndex >= 0 && i !== daIndex && scale !== 'tiny') {
      const perRound = rounds.map((measured) => measured[i].machineSeconds / measured[daIndex].machineSeconds);
      targets.push({
        name: `${label} / da machine time, ${workload.id}/${scale}`,
        measured: median(perRound),
        bound: 1.1,
        direction: '<=',
        note,
      });
    }
    if (IN_DBMS.has(approach) && scale === 'tiny') {
      targets.push({
        name: `${label} execution / raw loop, ${workload.id}/${scale}`,
        measured: median(r.map((x) => x.execution)),
        bound: 3,
        direction: '<=',
        note: `raw = examples / raw examples/s / segments${note ? `; ${note}` : ''}`,
      });
    }
  });
  return { workload: workload.id, rawLoop: { runs: raw, spread }, rounds, targets };
}

void runBench<Args>({
  name: 'bench:engine',
  describe: 'the approaches against the raw engine loop on the same data, side by side',
  options: (argv) =>
    withOutputFlags(argv)
      .option('workloads', { type: 'string', default: 'criteo,imagenet', describe: 'comma-separated workload ids' })
      .option('scale', { type: 'string', default: 'small', choices: [...SCALES] })
      .option('segments', { type: 'number', default: 2 })
      .option('rounds', {
        type: 'number',
        default: 1,
        describe: 'run every approach this many times, interleaved; ratios are per round, then the median',
      })
      .option('approaches', {
        type: 'string',
        default: 'da,export,udaf,ctq',
        describe: 'comma-separated; options after slashes, e.g. udaf/cache=false; the first is the reference',
      }),
  async main(args) {
    const scale = args.scale as ScaleName;
    const labels = args.approaches.split(',').filter(Boolean);
    if (labels.length === 0) throw new Error('--approaches lists no approach');
    if (!Number.isInteger(args.rounds) || args.rounds < 1)
      throw new Error(`--rounds ${args.rounds}: expected a positive integer`);
    const outDir = join(repoRoot(), 'runs', `bench-engine-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(outDir, { recursive: true });
    const topology = await ensureCluster({ segments: args.segments });
    const output = Output.fromFlags(args);
    const progress = new Progress(output);
    const measurements: Measurement[] = [];
    try {
      for (const workload of args.workloads.split(',').filter(Boolean))
        measurements.push(await measureWorkload(topology, workload, scale, labels, args.rounds, outDir, progress));
    } finally {
      progress.close();
    }
    const targets = measurements.flatMap((m) => m.targets);
    const runs = args.rounds === 1 ? 'one run' : `${args.rounds} interleaved rounds`;
    if (targets.length > 0 && output.forHumans)
      printTargets(`targets (${runs} on this machine; ratios measured side by side)`, targets);
    if (targets.some((t) => !targetMet(t))) process.exitCode = 1;
    output.final(`run folders and shard files: ${outDir}`);
    output.json({ type: 'result', command: 'bench:engine', scale, segments: args.segments, measurements, outDir });
  },
});
