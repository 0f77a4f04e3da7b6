// `bench demo` (npm run demo): the README's one-command comparison. Starts the embedded cluster,
// loads a tiny Criteo-like dataset, runs export and udaf on it and prints a summary table.
import type { Argv, CommandModule } from 'yargs';
import { runSpec } from '../../../approaches/resolve.js';
import { clusterStatus, ensureCluster } from '../../db/cluster.js';
import { bytes, formatTable, seconds } from '../format.js';
import { Output, withOutputFlags, type OutputFlags } from '../output.js';
import { Progress } from '../progress.js';
import { runShape } from '../tracker.js';
import { displayPath } from '../summary.js';
import { resolveWorkload } from '../../../workloads/index.js';
import { checkScale } from './run.js';

interface DemoArgs extends OutputFlags {
  approaches: string[];
  workload: string;
  scale: string;
  segments?: number;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'start the embedded cluster and compare approaches on a tiny Criteo-like workload',
  builder: (yargs: Argv<object>) =>
    withOutputFlags(yargs)
      .option('approaches', { type: 'string', array: true, default: ['export', 'udaf'] })
      .option('workload', { type: 'string', default: 'criteo' })
      .option('scale', { type: 'string', default: 'tiny' })
      .option('segments', {
        type: 'number',
        describe: 'segments (default: those of the existing cluster, else 2)',
      }) as unknown as Argv<DemoArgs>,
  handler: async (args) => {
    const scale = checkScale(args.scale);
    // Reuse the cluster that is there (rebuilding it for another segment count would drop its data).
    const existing = await clusterStatus();
    const topology = await ensureCluster({ segments: args.segments ?? (existing ? existing.length - 1 : 2) });
    const workload = resolveWorkload(args.workload, scale, 1);
    const output = Output.fromFlags(args);
    const progress = new Progress(output);
    const shape = runShape(workload, topology.segments.length);
    const job = progress.startJob({ label: `demo ${args.workload}/${scale}`, total: args.approaches.length });
    const rows: (string | number)[][] = [];
    const runDirs: string[] = [];
    try {
      for (const approach of args.approaches) {
        const display = job.startRun({ label: `${approach} ${args.workload}/${scale}`, shape });
        const result = await runSpec({ approach, workload: args.workload, scale, topology, onEvent: display.onEvent });
        display.finish();
        const s = result.summary;
        const finalLoss = s.metrics.filter((m) => m.epoch === workload.epochs - 1).map((m) => m.validLoss);
        const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
        const runDir = displayPath(result.runDir);
        runDirs.push(runDir);
        const epochTime = seconds(s.executionSeconds / workload.epochs);
        const loss = mean(finalLoss).toFixed(4);
        const copies = s.storage === null ? 'unknown' : bytes(s.storage.copies.storedBytes);
        rows.push([approach, seconds(s.etlSeconds), seconds(s.executionSeconds), epochTime, loss, copies, runDir]);
      }
    } finally {
      progress.close();
    }
    const { configs, segments, epochs } = shape;
    output.result(`\n${args.workload}/${scale} on ${segments} segments, ${configs} configs, ${epochs} epochs`);
    const headers = ['Approach', 'ETL time', 'Exec. time', 'Epoch time', 'final valid loss (mean)', 'extra storage'];
    output.result(formatTable([...headers, 'run folder'], rows));
    output.final(`report: npx bench report ${runDirs.join(' ')}`);
    output.json({ type: 'result', command: 'demo', runs: runDirs });
  },
};
