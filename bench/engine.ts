// npm run bench:engine -- [--workload criteo] [--scale small] [--segments 2] [--approaches export,udaf]
//                          [--quiet | --json]
//
// Training throughput of the raw engine loop (one process per shard, the shard in memory, the same
// Trainer code, no scheduler, no hops) against the approaches on the same configs and data,
// measured side by side in one run (raw loop before and after the approaches; their mean is the
// baseline, their spread is printed as the noise). Ratios:
//   train ratio    = (approach's examples / seconds inside the engine's train loop) / raw loop's
//   machine time   = the approach's train+valid, data and model transmission machine seconds,
//                    relative to the first approach listed (the targets compare udaf/ctq with da/export)
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTable } from '../src/cli/format.js';
import { Output } from '../src/cli/output.js';
import { Progress } from '../src/cli/progress.js';
import { runSpec } from '../approaches/resolve.js';
import { repoRoot } from '../src/core/paths.js';
import { runEventSchema } from '../src/core/events.js';
import { SCALES, type ScaleName } from '../src/core/workload.js';
import { ensureCluster } from '../src/db/cluster.js';
import { runRawLoopOnShards, writeRawLoopShards } from './lib/raw-baseline.js';
import { resolveWorkload } from '../workloads/index.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    workload: { type: 'string', default: 'criteo' },
    scale: { type: 'string', default: 'small' },
    segments: { type: 'string', default: '2' },
    approaches: { type: 'string', default: 'export,udaf' },
  },
});
const output = Output.fromFlags(values);
const progress = new Progress(output);
const scale = values.scale as ScaleName;
if (!SCALES.includes(scale)) throw new Error(`--scale must be one of ${SCALES.join(', ')}`);
const segments = Number(values.segments);
const approaches = (values.approaches ?? '').split(',').filter(Boolean);
const workload = resolveWorkload(values.workload ?? 'criteo', scale, 1);
const threads = Math.max(1, Math.floor(2 / segments));
const outDir = join(repoRoot(), 'runs', `bench-engine-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(outDir, { recursive: true });

const topology = await ensureCluster({ segments });
const dataFiles = await writeRawLoopShards(topology, workload, outDir);
const rawLoop = () => runRawLoopOnShards(dataFiles, workload, threads);

const job = progress.startJob({ label: `bench:engine ${workload.id}/${scale}`, total: approaches.length + 2, noun: 'steps' });
const shape = { configs: workload.configs.length, segments, epochs: workload.epochs };
let task = job.startTask('raw engine loop, before');
const before = await rawLoop();
task.finish();
const measured: { approach: string; examples: number; trainSeconds: number; machineSeconds: number; executionSeconds: number }[] = [];
for (const approach of approaches) {
  const display = job.startRun({ label: `${approach} ${workload.id}/${scale}`, shape });
  const onEvent = display.onEvent;
  const { runDir, summary } = await runSpec({ approach, workload: workload.id, scale, topology, runsDir: outDir, threads, onEvent });
  display.finish();
  const events = readFileSync(join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => runEventSchema.parse(JSON.parse(line)));
  const trainSeconds = events.reduce((sum, e) => sum + (e.type === 'span' && e.kind === 'train' ? (e.end - e.start) / 1000 : 0), 0);
  const examples = events.reduce((sum, e) => sum + (e.type === 'epoch' ? e.trainExamples : 0), 0);
  const machineSeconds = summary.breakdown.reduce((sum, b) => sum + (b.trainValid + b.dataTransmission + b.modelTransmission) * segments, 0);
  measured.push({ approach, examples, trainSeconds, machineSeconds, executionSeconds: summary.executionSeconds });
}
task = job.startTask('raw engine loop, after');
const after = await rawLoop();
task.finish();
progress.close();

const rawRate = (r: { examples: number; trainSeconds: number }): number => r.examples / r.trainSeconds;
const baseline = (rawRate(before) + rawRate(after)) / 2;
const spread = Math.abs(rawRate(before) - rawRate(after)) / baseline;
const reference = measured[0];
output.result(`\n${workload.id}/${scale}: ${workload.configs.length} configs x ${workload.epochs} epochs on ${segments} segments, ${threads} engine thread(s) per worker`);
output.result(`raw engine loop: ${rawRate(before).toFixed(0)} examples/s before, ${rawRate(after).toFixed(0)} after (spread ${(spread * 100).toFixed(1)}%)\n`);
output.result(
  formatTable(
    ['approach', 'examples', 'train s', 'examples/s in train', 'x raw loop', 'train+valid+data+model machine s', `x ${reference?.approach ?? '-'}`, 'execution s'],
    measured.map((m) => [
      m.approach,
      m.examples,
      m.trainSeconds.toFixed(2),
      (m.examples / m.trainSeconds).toFixed(0),
      (m.examples / m.trainSeconds / baseline).toFixed(3),
      m.machineSeconds.toFixed(2),
      (m.machineSeconds / reference.machineSeconds).toFixed(3),
      m.executionSeconds.toFixed(2),
    ]),
  ),
);
output.final(`run folders and shard files: ${outDir}`);
output.json({ type: 'result', command: 'bench:engine', rawLoop: { before: rawRate(before), after: rawRate(after), spread }, approaches: measured, outDir });
