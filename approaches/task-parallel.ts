// Task-parallel (the Hyperopt-Spark analogue, paper 5.2.4): every worker gets a full replica of the
// training data on its own disk and trains whole configs alone (config c on worker c mod N); no
// model ever hops. The replicas are the storage blowup (N x the data). With a search, each worker
// takes the search's next job and trains it alone (docs/search.md).
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineApproach, type Prepared, type RunContext } from '../src/core/approach.js';
import { everySegment, withSpan } from '../src/core/spans.js';
import { sumDataBytes, type DataBytes } from '../src/core/records.js';
import { packedBytes, type PackedBuffer } from '../src/engine/messages.js';
import { copyPackedBuffers, readArrowFile, writeArrowFile } from '../src/access/copy-export.js';
import { WorkerFleet, verifyModelStore, type ShardSource } from '../src/engine/fleet.js';
import { PACKING_OPTIONS, packForRun, packedData } from './shared/pack.js';
import { checkWorkers } from './shared/checks.js';
import { runJobsPerWorker } from './shared/search-drive.js';

interface TaskParallelPrepared extends Prepared {
  fleet: WorkerFleet;
}

/**
 * Export every segment's shard once, then write one full replica (every shard + validation set) per
 * worker. `copies` is the training shards of every replica (the storage blowup leaves validation out).
 */
async function replicate(
  ctx: RunContext,
  trainTable: string,
  validTable: string,
): Promise<{ sources: ShardSource[]; copies: DataBytes }> {
  const segments = ctx.topology.segments;
  const count = (segment: number) => (bytes: number) =>
    ctx.emit({ type: 'counter', transport: 'copy', bytes, at: Date.now(), segment });
  const [valid, ...shards] = await Promise.all([
    copyPackedBuffers(segments[0], validTable, count(0)),
    ...segments.map((segment, i) => copyPackedBuffers(segment, trainTable, count(i))),
  ]);
  const copies: DataBytes[] = [];
  const sources: ShardSource[] = [];
  const write = async (worker: number, path: string, buffers: PackedBuffer[]): Promise<DataBytes> => {
    const storedBytes = await writeArrowFile(path, buffers);
    ctx.emit({ type: 'counter', transport: 'export-file', bytes: storedBytes, at: Date.now(), segment: worker });
    return { storedBytes, logicalBytes: packedBytes(buffers) };
  };
  const read = async (worker: number, path: string): Promise<PackedBuffer[]> => {
    const buffers = await readArrowFile(path);
    const bytes = statSync(path).size;
    ctx.emit({ type: 'counter', transport: 'export-file', bytes, at: Date.now(), segment: worker });
    return buffers;
  };
  for (let worker = 0; worker < segments.length; worker++) {
    const dir = join(ctx.workDir, `replica-w${worker}`);
    mkdirSync(dir, { recursive: true });
    const files = shards.map((_, s) => join(dir, `train_s${s}.arrow`));
    for (const [s, shard] of shards.entries()) copies.push(await write(worker, files[s], shard));
    await write(worker, join(dir, 'valid.arrow'), valid);
    sources.push({
      datasets: async () => [
        ...(await Promise.all(
          files.map(async (file, s) => ({ name: `train_s${s}`, buffers: await read(worker, file) })),
        )),
        { name: 'valid', buffers: await read(worker, join(dir, 'valid.arrow')) },
      ],
    });
  }
  return { sources, copies: sumDataBytes(copies) };
}

export const taskParallel = defineApproach<TaskParallelPrepared, typeof PACKING_OPTIONS>({
  id: 'task-parallel',
  title: 'Task-parallel: full data replica per worker, whole configs per worker (Hyperopt-Spark analogue)',
  layers: {
    scheduling: 'one config per worker (config c on worker c mod N), whole data replicated to each',
    execution: 'out-of-DBMS engine workers',
    dataAccess: 'exported full copy per worker',
    modelsLive: 'local to the worker',
  },
  check: () => checkWorkers(),
  options: PACKING_OPTIONS,
  searches: true,
  verifyResume: verifyModelStore,

  async prepare(ctx) {
    const packed = await packForRun(ctx);
    const replicas = await replicate(ctx, packed.trainTable, packed.validTable);
    const fleet = await WorkerFleet.start(ctx, replicas.sources);
    return { fleet, data: packedData(packed), copies: replicas.copies };
  },

  async train(ctx, prepared) {
    const { fleet } = prepared;
    const { workload } = ctx;
    const segments = ctx.topology.segments.length;
    if (workload.search) {
      return runJobsPerWorker(ctx, fleet.size, segments, {
        // An epoch of a config = one pass over every shard of the worker's own replica.
        trainUnit: (unit, worker) => fleet.trainUnit(unit, { worker, dataset: `train_s${unit.segment}` }),
        validate: (config, epoch, worker) => fleet.validateConfig(config, epoch, worker),
      });
    }
    const done = new Set(ctx.epochs.completedUnits.map((u) => `${u.config}/${u.segment}/${u.epoch}`));
    for (let epoch = 0; epoch < workload.epochs; epoch++) {
      // A worker whose configs are done waits (idle) for the others before validation.
      await everySegment(ctx.emit, fleet.size, async (worker) => {
        for (const config of workload.configs.filter((c) => c.id % fleet.size === worker)) {
          // An epoch of a config = one pass over every shard of the worker's own replica.
          for (let segment = 0; segment < segments; segment++) {
            ctx.signal.throwIfAborted();
            if (done.has(`${config.id}/${segment}/${epoch}`)) continue;
            const unit = { config: config.id, segment, epoch };
            const where = { worker, dataset: `train_s${segment}` };
            const tags = { segment: worker, config: config.id, epoch };
            await withSpan(ctx.emit, 'schedule', tags, () => fleet.trainUnit(unit, where));
          }
        }
      });
      if (!workload.configs.every((c) => ctx.epochs.isValidated(c.id, epoch))) await fleet.validateAll(epoch);
    }
  },

  async cleanup(_ctx, prepared) {
    await prepared?.fleet.close();
  },
});
