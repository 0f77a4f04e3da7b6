// npx tsx bench/ddp.ts [--workloads criteo,imagenet] [--scale small] [--segments 2] [--approach ddp]
//
// The data-parallel approach's two ways of averaging gradients, side by side in one run per
// workload (the same configs, data and cluster): `allreduce=ddp` (torch's DistributedDataParallel:
// bucketed all-reduces overlapped with backward, bytes counted by a communication hook) and
// `allreduce=flat` (one blocking all-reduce of the whole gradient after backward). Per epoch and
// rank: bytes handed to the collectives (gradients, control reductions, DDP's first broadcast),
// seconds with an all-reduce under way, training seconds (the 'train' spans, communication
// included), and the epoch's wall time. Ratio: ddp / flat. The runs stay under runs/bench-ddp-<time>.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatTable } from '../src/cli/format.js';
import { runSpec } from '../approaches/resolve.js';
import { repoRoot } from '../src/core/paths.js';
import { runEventSchema, type RunEvent } from '../src/core/events.js';
import { SCALES, type ScaleName } from '../src/core/workload.js';
import { ensureCluster } from '../src/db/cluster.js';
import { DDP_ALLREDUCE, type DdpAllreduce } from '../src/engine/ddp.js';
import { printTargets, runBench, type Target } from './lib/entry.js';

interface Measured {
  workload: string;
  allreduce: DdpAllreduce;
  epochs: number;
  ranks: number;
  /** Per rank per epoch. */
  collectiveBytes: number;
  allreduceSeconds: number;
  trainSeconds: number;
  /** Mean wall seconds of an epoch (summary.json). */
  epochSeconds: number;
  executionSeconds: number;
}

function readEvents(runDir: string): RunEvent[] {
  return readFileSync(join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => runEventSchema.parse(JSON.parse(line)));
}

/** The seconds with an all-reduce under way, per rank, that approaches/ddp.ts logs after each epoch. */
function loggedAllreduceSeconds(events: readonly RunEvent[]): number {
  let total = 0;
  for (const e of events) {
    if (e.type !== 'log') continue;
    const m = /^ddp epoch \d+: .* ([\d.]+) s of [\d.]+ s training per rank with an all-reduce under way/.exec(
      e.message,
    );
    if (m) total += Number(m[1]);
  }
  return total;
}

interface Case {
  workload: string;
  scale: ScaleName;
  segments: number;
  approach: string;
  allreduce: DdpAllreduce;
}

async function measure(run: Case, runsDir: string): Promise<Measured> {
  const { workload: workloadId, scale, segments, approach, allreduce } = run;
  const topology = await ensureCluster({ segments });
  const threads = Math.max(1, Math.floor(2 / segments));
  const spec = { approach, workload: workloadId, scale, topology, runsDir, threads, options: { allreduce } };
  const { runDir, summary } = await runSpec(spec);
  const events = readEvents(runDir);
  const epochs = summary.epochSeconds.length;
  const perRankEpoch = (x: number): number => x / (segments * epochs);
  const bytes = events.reduce((sum, e) => sum + (e.type === 'counter' && e.transport === 'allreduce' ? e.bytes : 0), 0);
  const trainMs = events.reduce((sum, e) => sum + (e.type === 'span' && e.kind === 'train' ? e.end - e.start : 0), 0);
  return {
    workload: workloadId,
    allreduce,
    epochs,
    ranks: segments,
    collectiveBytes: perRankEpoch(bytes),
    allreduceSeconds: loggedAllreduceSeconds(events) / epochs,
    trainSeconds: perRankEpoch(trainMs / 1000),
    epochSeconds: summary.epochSeconds.reduce((a, b) => a + b, 0) / epochs,
    executionSeconds: summary.executionSeconds,
  };
}

interface DdpBenchArgs {
  workloads: string;
  scale: ScaleName;
  segments: number;
  approach: string;
}

async function main(args: DdpBenchArgs): Promise<void> {
  const runsDir = join(repoRoot(), 'runs', `bench-ddp-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(runsDir, { recursive: true });
  const rows: Measured[] = [];
  const workloads = args.workloads.split(',').filter(Boolean);
  for (const workload of workloads) {
    for (const allreduce of DDP_ALLREDUCE) {
      const run = { workload, scale: args.scale, segments: args.segments, approach: args.approach, allreduce };
      rows.push(await measure(run, runsDir));
    }
  }

  const mb = (b: number): string => (b / 1e6).toFixed(2);
  console.log(`\n${args.approach}, ${args.scale} scale, ${args.segments} segments: per rank and epoch, one run each\n`);
  console.log(
    formatTable(
      ['workload', 'allreduce', 'collective MB', 'all-reduce under way s', 'train s', 'epoch s', 'execution s'],
      rows.map((r) => [
        r.workload,
        r.allreduce,
        mb(r.collectiveBytes),
        r.allreduceSeconds.toFixed(2),
        r.trainSeconds.toFixed(2),
        r.epochSeconds.toFixed(2),
        r.executionSeconds.toFixed(2),
      ]),
    ),
  );
  const targets: Target[] = workloads.map((workload) => {
    const of = (mode: DdpAllreduce): Measured =>
      rows.find((r) => r.workload === workload && r.allreduce === mode) as Measured;
    return {
      name: `ddp / flat epoch time, ${workload}/${args.scale}`,
      measured: of('ddp').epochSeconds / of('flat').epochSeconds,
      bound: 1,
      direction: '<=',
      note: 'mean epoch wall time, one run each',
    };
  });
  if (printTargets("torch's DistributedDataParallel against the flat all-reduce", targets) > 0) process.exitCode = 1;
  console.log(`\nrun folders: ${runsDir}`);
}

await runBench<DdpBenchArgs>({
  name: 'bench/ddp.ts',
  describe: "ddp's two ways of averaging gradients side by side: bytes and seconds per rank and epoch",
  options: (argv) =>
    argv
      .option('workloads', { type: 'string', default: 'criteo,imagenet', describe: 'comma-separated workloads' })
      .option('scale', { choices: SCALES, default: 'small' as ScaleName })
      .option('segments', { type: 'number', default: 2 })
      .option('approach', { choices: ['ddp', 'da-ddp'], default: 'ddp' }),
  main,
});
