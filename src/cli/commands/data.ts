// `bench data load|pack|list`: put a workload's raw rows into the database (generated, or read
// from real files with --source), pack them into buffers as the in-DBMS ETL does, and list what
// is loaded.
import type { Argv, CommandModule } from 'yargs';
import { SCALES, type ResolvedWorkload } from '../../core/workload.js';
import { withClient } from '../../db/connect.js';
import { resolveTopology } from '../../db/resolve.js';
import { WORKLOADS, resolveWorkload } from '../../../workloads/index.js';
import { ensureRawData } from '../../../workloads/data/load.js';
import { packDataset, type PackResult } from '../../../workloads/data/pack.js';
import { REGISTRY_TABLE, ensureRegistry } from '../../../workloads/data/registry.js';
import { bytes, formatTable, seconds } from '../format.js';
import { Output, withOutputFlags, type OutputFlags } from '../output.js';
import { Progress } from '../progress.js';
import { parseOptions } from './run.js';

interface DataArgs extends OutputFlags {
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
  return withOutputFlags(yargs)
    .option('workload', {
      alias: 'w',
      type: 'string',
      demandOption: true,
      describe: `one of: ${Object.keys(WORKLOADS).join(', ')}`,
    })
    .option('scale', { alias: 's', type: 'string', default: 'tiny', describe: `one of: ${SCALES.join(', ')}` })
    .option('seed', { type: 'number', default: 1, describe: 'seed of the generator and of the shuffles' })
    .option('source', {
      type: 'string',
      describe: 'real data: a Criteo TSV file (or a directory with train/valid TSVs), or an image class-folder tree',
    })
    .option('segments', { type: 'number', describe: 'segments of the embedded cluster (default 4, or what exists)' })
    .option('db', {
      type: 'string',
      describe: 'postgresql:// URL of an existing coordinator (else PG* variables, else the embedded cluster)',
    })
    .option('force', { type: 'boolean', default: false, describe: 'reload even if the same data is already loaded' })
    .option('option', {
      alias: 'o',
      type: 'string',
      array: true,
      default: [],
      describe: 'workload option key=value (e.g. dataset=criteo for scalability)',
    })
    .option('reuse', {
      type: 'boolean',
      default: false,
      describe: 'pack: keep packed tables that match the loaded rows',
    }) as unknown as Argv<DataArgs>;
}

/** Loads the raw rows; `last`: this is the command's last step (its line is the final line). */
async function load(args: DataArgs, progress: Progress, last: boolean) {
  const { output } = progress;
  const workload = resolveWorkload(args.workload, args.scale, args.seed, parseOptions(args.option));
  const topology = await resolveTopology({ db: args.db, segments: args.segments });
  const started = performance.now();
  const task = progress.startTask(`loading ${workload.datasetName}`);
  const log = (message: string): void => output.info(message);
  const loading = ensureRawData(topology, workload, { source: args.source, force: args.force, log });
  const result = await loading.finally(() => task.finish());
  const took = (performance.now() - started) / 1000;
  const line =
    `${workload.datasetName}: ${result.reused ? 'already loaded' : 'loaded'} ${result.trainRows} train and ` +
    `${result.validRows} validation rows into ${workload.datasetName}_raw_train / _raw_valid ` +
    `over ${topology.segments.length} segments (${seconds(took)})`;
  if (last) output.final(line);
  else output.info(line);
  output.json({
    type: 'result',
    command: 'data load',
    dataset: workload.datasetName,
    reused: result.reused,
    trainRows: result.trainRows,
    validRows: result.validRows,
    segments: topology.segments.length,
    seconds: took,
  });
  return { workload, topology };
}

const loadCommand: CommandModule<object, DataArgs> = {
  command: 'load',
  describe: "load a workload's raw rows (generated, or --source files) into distributed tables",
  builder: workloadOptions,
  handler: async (args) => {
    const progress = new Progress(Output.fromFlags(args));
    try {
      await load(args, progress, true);
    } finally {
      progress.close();
    }
  },
};

const packCommand: CommandModule<object, DataArgs> = {
  command: 'pack',
  describe: 'pack the raw rows into buffers in the database (the in-DBMS ETL); loads them first if needed',
  builder: workloadOptions,
  handler: async (args) => {
    const output = Output.fromFlags(args);
    const progress = new Progress(output);
    let packed: PackResult;
    let took: number;
    let workload: ResolvedWorkload;
    try {
      const loaded = await load(args, progress, false);
      workload = loaded.workload;
      const started = performance.now();
      const task = progress.startTask(`packing ${workload.datasetName}`);
      const log = (message: string): void => output.info(message);
      packed = await packDataset(loaded.topology, workload, { reuse: args.reuse, log }).finally(() => task.finish());
      took = (performance.now() - started) / 1000;
    } finally {
      progress.close();
    }
    const perBuffer = workload.dataset.rowsPerBuffer;
    output.result(
      formatTable(
        ['table', 'buffers', 'rows per buffer', 'size'],
        [
          [packed.trainTable, packed.trainBuffers, perBuffer, bytes(packed.sourceBytes)],
          [packed.validTable, `${packed.validBuffers} on each segment`, perBuffer, ''],
        ],
      ),
    );
    const buffers = `${packed.trainBuffers} train and ${packed.validBuffers} validation buffers`;
    output.final(`${workload.datasetName}: packed ${buffers} in ${seconds(took)}`);
    output.json({
      type: 'result',
      command: 'data pack',
      dataset: workload.datasetName,
      trainTable: packed.trainTable,
      validTable: packed.validTable,
      trainBuffers: packed.trainBuffers,
      validBuffers: packed.validBuffers,
      rowsPerBuffer: perBuffer,
      sourceBytes: packed.sourceBytes,
      seconds: took,
    });
  },
};

const listCommand: CommandModule<object, { segments?: number; db?: string }> = {
  command: 'list',
  describe: 'list the datasets loaded in the database',
  builder: (yargs: Argv<object>) =>
    yargs
      .option('segments', { type: 'number', describe: 'segments of the embedded cluster' })
      .option('db', { type: 'string', describe: 'postgresql:// URL of an existing coordinator' }) as unknown as Argv<{
      segments?: number;
      db?: string;
    }>,
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
