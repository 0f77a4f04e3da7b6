// `bench data load|pack|list`: put a workload's raw rows into the database (generated, or read
// from real files with --source), pack them into buffers as the in-DBMS ETL does, and list what
// is loaded.
import type { Argv, CommandModule } from 'yargs';
import { SCALES } from '../../core/workload.js';
import { withClient } from '../../db/connect.js';
import { resolveTopology } from '../../db/resolve.js';
import { WORKLOADS, resolveWorkload } from '../../../workloads/index.js';
import { ensureRawData } from '../../../workloads/data/load.js';
import { packDataset } from '../../../workloads/data/pack.js';
import { REGISTRY_TABLE, ensureRegistry } from '../../../workloads/data/registry.js';
import { bytes, formatTable, seconds } from '../format.js';
import { parseOptions } from './run.js';

interface DataArgs {
  workload: string;
  scale: string;
  seed: number;
  source?: string;
  segments?: number;
  db?: string;
  force: boolean;
  reuse: boolean;
  option: string[];
}

function workloadOptions(yargs: Argv<object>): Argv<DataArgs> {
  return yargs
    .option('workload', { alias: 'w', type: 'string', demandOption: true, describe: `one of: ${Object.keys(WORKLOADS).join(', ')}` })
    .option('scale', { alias: 's', type: 'string', default: 'tiny', describe: `one of: ${SCALES.join(', ')}` })
    .option('seed', { type: 'number', default: 1, describe: 'seed of the generator and of the shuffles' })
    .option('source', { type: 'string', describe: 'real data: a Criteo TSV file (or a directory with train/valid TSVs), or an image class-folder tree' })
    .option('segments', { type: 'number', describe: 'segments of the embedded cluster (default 4, or what exists)' })
    .option('db', { type: 'string', describe: 'postgresql:// URL of an existing coordinator (else PG* variables, else the embedded cluster)' })
    .option('force', { type: 'boolean', default: false, describe: 'reload even if the same data is already loaded' })
    .option('option', { alias: 'o', type: 'string', array: true, default: [], describe: 'workload option key=value (e.g. dataset=criteo for scalability)' })
    .option('reuse', { type: 'boolean', default: false, describe: 'pack: keep packed tables that match the loaded rows' }) as unknown as Argv<DataArgs>;
}

async function load(args: DataArgs) {
  const workload = resolveWorkload(args.workload, args.scale, args.seed, parseOptions(args.option));
  const topology = await resolveTopology({ db: args.db, segments: args.segments });
  const started = performance.now();
  const result = await ensureRawData(topology, workload, { source: args.source, force: args.force, log: (m) => console.log(m) });
  const took = (performance.now() - started) / 1000;
  console.log(
    `${workload.datasetName}: ${result.reused ? 'already loaded' : 'loaded'} ${result.trainRows} train and ${result.validRows} validation rows ` +
      `into ${workload.datasetName}_raw_train / _raw_valid over ${topology.segments.length} segments (${seconds(took)})`,
  );
  return { workload, topology };
}

const loadCommand: CommandModule<object, DataArgs> = {
  command: 'load',
  describe: "load a workload's raw rows (generated, or --source files) into distributed tables",
  builder: workloadOptions,
  handler: async (args) => {
    await load(args);
  },
};

const packCommand: CommandModule<object, DataArgs> = {
  command: 'pack',
  describe: 'pack the raw rows into buffers in the database (the in-DBMS ETL); loads them first if needed',
  builder: workloadOptions,
  handler: async (args) => {
    const { workload, topology } = await load({ ...args, force: args.force });
    const started = performance.now();
    const packed = await packDataset(topology, workload, { reuse: args.reuse, log: (m) => console.log(m) });
    const took = (performance.now() - started) / 1000;
    const perBuffer = workload.dataset.rowsPerBuffer;
    console.log(
      formatTable(
        ['table', 'buffers', 'rows per buffer', 'size'],
        [
          [packed.trainTable, packed.trainBuffers, perBuffer, bytes(packed.sourceBytes)],
          [packed.validTable, `${packed.validBuffers} on each segment`, perBuffer, ''],
        ],
      ),
    );
    console.log(`packed in ${seconds(took)}`);
  },
};

const listCommand: CommandModule<object, { segments?: number; db?: string }> = {
  command: 'list',
  describe: 'list the datasets loaded in the database',
  builder: (yargs: Argv<object>) =>
    yargs
      .option('segments', { type: 'number', describe: 'segments of the embedded cluster' })
      .option('db', { type: 'string', describe: 'postgresql:// URL of an existing coordinator' }) as unknown as Argv<{ segments?: number; db?: string }>,
  handler: async (args) => {
    const topology = await resolveTopology({ db: args.db, segments: args.segments });
    const rows = await withClient(topology.coordinator, async (client) => {
      await ensureRegistry(client);
      const result = await client.query(`SELECT * FROM ${REGISTRY_TABLE} ORDER BY name`);
      return result.rows as Record<string, unknown>[];
    });
    if (rows.length === 0) {
      console.log('no datasets loaded; load one with `bench data load --workload criteo --scale tiny`');
      return;
    }
    console.log(
      formatTable(
        ['dataset', 'train rows', 'valid rows', 'packed buffers', 'loaded', 'source'],
        rows.map((r) => [
          String(r.name),
          String(r.train_rows),
          String(r.valid_rows),
          r.packed_hash ? `${r.train_buffers} + ${r.valid_buffers}` : '-',
          (r.loaded_at as Date).toISOString().replace(/\.\d+Z$/, 'Z'),
          String(r.description),
        ]),
      ),
    );
  },
};

export const dataCommand: CommandModule<object, object> = {
  command: 'data',
  describe: 'load, pack and list datasets in the database',
  builder: (yargs: Argv<object>) =>
    yargs
      .command(loadCommand)
      .command(packCommand)
      .command(listCommand as unknown as CommandModule<object, object>)
      .demandCommand(1, 'say which: bench data load | pack | list'),
  handler: () => undefined,
};
