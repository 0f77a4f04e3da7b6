// npm run bench:engine -- [--workloads criteo,imagenet] [--scale small] [--segments 2]
//                         [--approaches da,udaf,ctq,udaf/cache=false] [--quiet | --json]
//
// Training throughput of the raw engine loop (one process per shard, the shard in memory, the same
// Trainer code, no scheduler, no hops) against the approaches on the same configs and data,
// measured side by side in one run per workload (raw loop before and after the approaches; their
// mean is the baseline, their spread is printed as the noise). An approach may carry options after
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
import type { Topology } from '../src/db/topology.js';
import { resolveWorkload } from '../workloads/index.js';
import { printTargets, runBench, targetMet, type Target } from './lib/entry.js';
import { runRawLoopOnShards, writeRawLoopShards } from './lib/raw-baseline.js';

interface Args extends OutputFlags {
  workloads: string;
  scale: string;
  segments: number;
  approaches: string;
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
  rawLoop: { before: number; after: number; spread: number };
  approaches: Measured[];
  targets: Target[];
}

async function measureWorkload(
  topology: Topology,
  workloadId: string,
  scale: ScaleName,
  labels: string[],
  outDir: string,
  progress: Progress,
): Promise<Measurement> {
  const output = progress.output;
  const segments = topology.segments.length;
  const workload = resolveWorkload(workloadId, scale, 1);
  const threads = Math.max(1, Math.floor(2 / segments));
  const dataFiles = await writeRawLoopShards(topology, workload, join(outDir, workloadId));
  const rawLoop = () => runRawLoopOnShards(dataFiles, workload, threads);

  const job = progress.startJob({
    label: `bench:engine ${workload.id}/${scale}`,
    total: labels.length + 2,
    noun: 'steps',
  });
  const shape = { configs: workload.configs.length, segments, epochs: workload.epochs };
  let task = job.startTask('raw engine loop, before');
  const before = await rawLoop();
  task.finish();
  const measured: Measured[] = [];
  for (const label of labels) {
    const { approach, options } = parseApproach(label);
    const display = job.startRun({ label: `${label} ${workload.id}/${scale}`, shape });
    const { runDir, summary } = await runSpec({
      approach,
      workload: workload.id,
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
    const startupSeconds = phaseSeconds(events, 'startup');
    measured.push({
      label,
      approach,
      examples,
      trainSeconds,
      machineSeconds,
      executionSeconds: summary.executionSeconds,
      startupSeconds,
    });
  }
  task = job.startTask('raw engine loop, after');
  const after = await rawLoop();
  task.finish();
  job.finish();

  const baseline = (before.examplesPerSecond + after.examplesPerSecond) / 2;
  const spread = Math.abs(before.examplesPerSecond - after.examplesPerSecond) / baseline;
  const reference = measured[0];
  const rawSeconds = (m: Measured): number => m.examples / baseline / segments;
  output.result(
    `\n${workload.id}/${scale}: ${workload.configs.length} configs x ${workload.epochs} epochs on ${segments} ` +
      `segments, ${threads} engine thread(s) per worker`,
  );
  output.result(
    `raw engine loop: ${before.examplesPerSecond.toFixed(0)} examples/s before, ` +
      `${after.examplesPerSecond.toFixed(0)} after (spread ${(spread * 100).toFixed(1)}%)\n`,
  );
  output.result(
    formatTable(
      [
        'approach',
        'examples',
        'train s',
        'examples/s in train',
        'x raw loop',
        'train+valid+data+model machine s',
        `x ${reference.label}`,
        'start-up s',
        'execution s',
        'execution x raw',
      ],
      measured.map((m) => [
        m.label,
        m.examples,
        m.trainSeconds.toFixed(2),
        (m.examples / m.trainSeconds).toFixed(0),
        (m.examples / m.trainSeconds / baseline).toFixed(3),
        m.machineSeconds.toFixed(2),
        (m.machineSeconds / reference.machineSeconds).toFixed(3),
        m.startupSeconds.toFixed(2),
        m.executionSeconds.toFixed(2),
        (m.executionSeconds / rawSeconds(m)).toFixed(2),
      ]),
    ),
  );

  const targets: Target[] = [];
  const da = measured.find((m) => m.label === 'da');
  for (const m of measured) {
    if ((m.approach === 'da' || m.approach === 'export') && Object.keys(parseApproach(m.label).options).length === 0) {
      targets.push({
        name: `${m.label} train / raw loop, ${workload.id}/${scale}`,
        measured: m.examples / m.trainSeconds / baseline,
        bound: 0.95,
        direction: '>=',
      });
    }
    if ((m.approach === 'udaf' || m.approach === 'ctq') && da && m !== da && scale !== 'tiny') {
      targets.push({
        name: `${m.label} / da machine time, ${workload.id}/${scale}`,
        measured: m.machineSeconds / da.machineSeconds,
        bound: 1.1,
        direction: '<=',
      });
    }
    if (IN_DBMS.has(m.approach) && scale === 'tiny') {
      targets.push({
        name: `${m.label} execution / raw loop, ${workload.id}/${scale}`,
        measured: m.executionSeconds / rawSeconds(m),
        bound: 3,
        direction: '<=',
        note: 'raw = examples / raw examples/s / segments',
      });
    }
  }
  return {
    workload: workload.id,
    rawLoop: { before: before.examplesPerSecond, after: after.examplesPerSecond, spread },
    approaches: measured,
    targets,
  };
}

void runBench<Args>({
  name: 'bench:engine',
  describe: 'the approaches against the raw engine loop on the same data, side by side',
  options: (argv) =>
    withOutputFlags(argv)
      .option('workloads', { type: 'string', default: 'criteo,imagenet', describe: 'comma-separated workload ids' })
      .option('scale', { type: 'string', default: 'small', choices: [...SCALES] })
      .option('segments', { type: 'number', default: 2 })
      .option('approaches', {
        type: 'string',
        default: 'da,udaf,ctq',
        describe: 'comma-separated; options after slashes, e.g. udaf/cache=false; the first is the reference',
      }),
  async main(args) {
    const scale = args.scale as ScaleName;
    const labels = args.approaches.split(',').filter(Boolean);
    if (labels.length === 0) throw new Error('--approaches lists no approach');
    const outDir = join(repoRoot(), 'runs', `bench-engine-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(outDir, { recursive: true });
    const topology = await ensureCluster({ segments: args.segments });
    const output = Output.fromFlags(args);
    const progress = new Progress(output);
    const measurements: Measurement[] = [];
    try {
      for (const workload of args.workloads.split(',').filter(Boolean))
        measurements.push(await measureWorkload(topology, workload, scale, labels, outDir, progress));
    } finally {
      progress.close();
    }
    const targets = measurements.flatMap((m) => m.targets);
    if (targets.length > 0 && output.forHumans)
      printTargets('targets (one run on this machine; ratios measured side by side)', targets);
    if (targets.some((t) => !targetMet(t))) process.exitCode = 1;
    output.final(`run folders and shard files: ${outDir}`);
    output.json({ type: 'result', command: 'bench:engine', scale, segments: args.segments, measurements, outDir });
  },
});
