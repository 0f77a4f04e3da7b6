// Export (the Cerebro-Spark analogue, paper 3.4): copy the data out of the database (COPY BINARY of
// each segment's partition into Arrow IPC files: a second copy, the storage blowup), then train fully
// outside it: one long-lived engine worker per segment caches its shard, the async random scheduler
// hands (config, segment) units to idle workers, models hop through the model store directory.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineApproach, type Prepared, type RunContext } from '../src/core/approach.js';
import { copyPackedBuffers, readArrowFile, writeArrowFile } from '../src/access/copy-export.js';
import { WorkerFleet, verifyModelStore, shardSource, type ShardSource } from '../src/engine/fleet.js';
import { PACKING_OPTIONS, packForRun } from './shared/pack.js';
import { checkWorkers } from './shared/checks.js';
import { runMop } from './shared/mop.js';

interface ExportPrepared extends Prepared {
  fleet: WorkerFleet;
}

/** COPY every segment's partition out (concurrently) into one Arrow file per segment; the validation set once. */
export async function exportToFiles(ctx: RunContext, trainTable: string, validTable: string): Promise<{ sources: ShardSource[]; bytes: number }> {
  const dir = join(ctx.workDir, 'export');
  mkdirSync(dir, { recursive: true });
  const validPath = join(dir, 'valid.arrow');
  const count = (segment: number) => (bytes: number) => ctx.emit({ type: 'counter', transport: 'copy', bytes, at: Date.now(), segment });
  const [validBytes, ...trainBytes] = await Promise.all([
    copyPackedBuffers(ctx.topology.segments[0], validTable, count(0)).then((buffers) => writeArrowFile(validPath, buffers)),
    ...ctx.topology.segments.map((segment, i) =>
      copyPackedBuffers(segment, trainTable, count(i)).then((buffers) => writeArrowFile(join(dir, `train_s${i}.arrow`), buffers)),
    ),
  ]);
  const sources = ctx.topology.segments.map((_, i) =>
    shardSource(
      () => readArrowFile(join(dir, `train_s${i}.arrow`)),
      () => readArrowFile(validPath),
    ),
  );
  return { sources, bytes: validBytes + trainBytes.reduce((a, b) => a + b, 0) };
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
    return { fleet, sourceBytes: packed.sourceBytes, extraBytes: exported.bytes };
  },

  train: (ctx, prepared) => runMop(ctx, prepared.fleet),

  async cleanup(_ctx, prepared) {
    await prepared?.fleet.close();
  },
});
