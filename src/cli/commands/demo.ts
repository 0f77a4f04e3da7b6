// `bench demo` (npm run demo): the README's one-command comparison. Starts the embedded cluster,
// loads a tiny Criteo-like dataset, runs export and udaf on it and prints a summary table.
import type { Argv, CommandModule } from 'yargs';
import { runSpec } from '../../../approaches/resolve.js';
import { clusterStatus, ensureCluster } from '../../db/cluster.js';
import { bytes, formatTable, seconds } from '../format.js';
import { progressPrinter } from '../progress.js';
import { resolveWorkload } from '../../../workloads/index.js';
import { checkScale } from './run.js';

interface DemoArgs {
  approaches: string[];
  workload: string;
  scale: string;
  segments?: number;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'start the embedded cluster and compare approaches on a tiny Criteo-like workload',
  builder: (yargs: Argv<object>) =>
    yargs
      .option('approaches', { type: 'string', array: true, default: ['export', 'udaf'] })
      .option('workload', { type: 'string', default: 'criteo' })
      .option('scale', { type: 'string', default: 'tiny' })
      .option('segments', { type: 'number', describe: 'segments (default: those of the existing cluster, else 2)' }) as unknown as Argv<DemoArgs>,
  handler: async (args) => {
    const scale = checkScale(args.scale);
    // Reuse the cluster that is there (rebuilding it for another segment count would drop its data).
    const existing = await clusterStatus();
    const topology = await ensureCluster({ segments: args.segments ?? (existing ? existing.length - 1 : 2) });
    const workload = resolveWorkload(args.workload, scale, 1);
    const rows: (string | number)[][] = [];
    for (const approach of args.approaches) {
      const result = await runSpec({
        approach,
        workload: args.workload,
        scale,
        topology,
        onEvent: progressPrinter({ label: `${approach} ${args.workload}/${scale}`, totalUnits: workload.configs.length * topology.segments.length * workload.epochs, epochs: workload.epochs }),
      });
      const s = result.summary;
      const copies = s.storage === null ? 'unknown' : bytes(s.storage.copies.storedBytes);
      const finalLoss = s.metrics.filter((m) => m.epoch === workload.epochs - 1).map((m) => m.validLoss);
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      rows.push([approach, seconds(s.etlSeconds), seconds(s.executionSeconds), seconds(mean(s.epochSeconds)), mean(finalLoss).toFixed(4), copies, result.runDir]);
    }
    console.log(`\n${args.workload}/${scale} on ${topology.segments.length} segments, ${workload.configs.length} configs, ${workload.epochs} epochs`);
    console.log(formatTable(['approach', 'ETL', 'execution', 'epoch', 'final valid loss', 'extra storage', 'run folder'], rows));
    console.log('\nBuild the report: npx bench report runs/* --out report');
  },
};
