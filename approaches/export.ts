// Export (the Cerebro-Spark analogue, paper 3.4): copy the data out of the database (COPY BINARY of
// each segment's partition into Arrow IPC files: a second copy, the storage blowup), then train fully
// outside it: one long-lived engine worker per segment caches its shard, the async random scheduler
// hands (config, segment) units to idle workers, models hop through the model store directory.
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineApproach, type Prepared, type RunContext } from '../src/core/approach.js';
import { sumDataBytes, type DataBytes } from '../src/core/records.js';
import { packedBytes, type PackedBuffer } from '../src/engine/messages.js';
import { copyPackedBuffers, readArrowFile, writeArrowFile } from '../src/access/copy-export.js';
import { WorkerFleet, verifyModelStore, shardSource, type ShardSource } from '../src/engine/fleet.js';
import { PACKING_OPTIONS, packForRun, packedData } from './shared/pack.js';
import { checkWorkers } from './shared/checks.js';
import { runMop } from './shared/mop.js';

interface ExportPrepared extends Prepared {
  fleet: WorkerFleet;
}

/**
 * COPY every segment's partition out (concurrently) into one Arrow file per segment; the validation
 * set once. `copies` is the training files only (the storage blowup leaves validation out).
 */
export async function exportToFiles(
  ctx: RunContext,
  trainTable: string,
  validTable: string,
): Promise<{ sources: ShardSource[]; copies: DataBytes }> {
  const dir = join(ctx.workDir, 'export');
  mkdirSync(dir, { recursive: true });
  const validPath = join(dir, 'valid.arrow');
  const trainPath = (segment: number): string => join(dir, `train_s${segment}.arrow`);
  const count = (segment: number) => (bytes: number) =>
    ctx.emit({ type: 'counter', transport: 'copy', bytes, at: Date.now(), segment });
  const written =
    (segment: number, path: string) =>
    async (buffers: PackedBuffer[]): Promise<DataBytes> => {
      const storedBytes = await writeArrowFile(path, buffers);
      ctx.emit({ type: 'counter', transport: 'export-file', bytes: storedBytes, at: Date.now(), segment });
      return { storedBytes, logicalBytes: packedBytes(buffers) };
    };
  const read = (segment: number, path: string) => async (): Promise<PackedBuffer[]> => {
    const buffers = await readArrowFile(path);
    ctx.emit({ type: 'counter', transport: 'export-file', bytes: statSync(path).size, at: Date.now(), segment });
    return buffers;
  };
  const [, ...train] = await Promise.all([
    copyPackedBuffers(ctx.topology.segments[0], validTable, count(0)).then(written(0, validPath)),
    ...ctx.topology.segments.map((segment, i) =>
      copyPackedBuffers(segment, trainTable, count(i)).then(written(i, trainPath(i))),
    ),
  ]);
  const sources = ctx.topology.segments.map((_, i) => shardSource(read(i, trainPath(i)), read(i, validPath)));
  return { sources, copies: sumDataBytes(train) };
}

export const exportApproach = defineApproach<ExportPrepared, typeof PACKING_OPTIONS>({
  id: 'export',
  title: 'Export: COPY out to Arrow files, train outside the DBMS with MOP (Cerebro-Spark analogue)',
  layers: {
    scheduling: 'async random (Cerebro)',
    execution: 'out-of-DBMS engine workers, one per segment',
    dataAccess: 'COPY BINARY out of the DBMS into Arrow IPC files, then files cached in worker memory',
    modelsLive: 'shared model store (files)',
  },
  check: () => checkWorkers(),
  options: PACKING_OPTIONS,
  searches: true,
  verifyResume: verifyModelStore,

  async prepare(ctx) {
    const packed = await packForRun(ctx);
    const exported = await exportToFiles(ctx, packed.trainTable, packed.validTable);
    const fleet = await WorkerFleet.start(ctx, exported.sources);
    return { fleet, data: packedData(packed), copies: exported.copies };
  },

  train: (ctx, prepared) => runMop(ctx, prepared.fleet),

  async cleanup(_ctx, prepared) {
    await prepared?.fleet.close();
  },
});
