// `bench db up|down|status|url`: the embedded cluster.
import type { Argv, CommandModule } from 'yargs';
import { clusterStatus, ensureCluster, stopCluster } from '../../db/cluster.js';
import { instanceUrl } from '../../db/topology.js';
import { formatTable } from '../format.js';

interface DbArgs {
  action: string;
  segments?: number;
}

export const dbCommand: CommandModule<object, DbArgs> = {
  command: 'db <action>',
  describe: 'manage the embedded PostgreSQL cluster (up [--segments N] | down | status | url)',
  builder: (yargs: Argv<object>) =>
    yargs
      .positional('action', { type: 'string', choices: ['up', 'down', 'status', 'url'], demandOption: true })
      .option('segments', { type: 'number', describe: 'segment instances (default 4; a different count rebuilds the cluster)' }) as unknown as Argv<DbArgs>,
  handler: async (args) => {
    if (args.action === 'up') {
      const topology = await ensureCluster({ segments: args.segments });
      console.log(`embedded cluster up: coordinator ${instanceUrl(topology.coordinator)}, ${topology.segments.length} segments`);
    } else if (args.action === 'down') {
      await stopCluster();
      console.log('embedded cluster stopped');
    } else {
      const status = await clusterStatus();
      if (!status) {
        console.log('no embedded cluster yet; start one with `npx bench db up`');
        process.exitCode = args.action === 'url' ? 1 : 0;
        return;
      }
      if (args.action === 'url') console.log(instanceUrl(status[0].instance));
      else console.log(formatTable(['instance', 'url', 'data directory', 'running'], status.map((s) => [s.instance.name, instanceUrl(s.instance), s.instance.dataDir ?? '', s.running ? 'yes' : 'no'])));
    }
  },
};
