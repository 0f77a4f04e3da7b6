// DA, Direct Access (paper 3.3): the DBMS keeps the data, but the engine workers read each segment's
// partition straight from that instance's heap and TOAST files (src/access/direct: exactly the rows
// SELECT would return, under a lock that blocks writers), cache it in memory, and train with MOP
// under the async random scheduler; models hop through the model store. No copy is written anywhere.
import { NO_COPIES, defineApproach, type Prepared, type Problem, type RunContext } from '../src/core/approach.js';
import { emptyStats, readPackedBuffers, type PackedRow } from '../src/access/direct/index.js';
import type { Instance, Topology } from '../src/db/topology.js';
import { directReadProblems } from '../src/db/host-access.js';
import { WorkerFleet, verifyModelStore, shardSource, type ShardSource } from '../src/engine/fleet.js';
import type { PackedBuffer } from '../src/engine/messages.js';
import { PACKING_OPTIONS, packForRun, packedData } from './shared/pack.js';
import { checkWorkers } from './shared/checks.js';
import { runMop } from './shared/mop.js';

interface DaPrepared extends Prepared {
  fleet: WorkerFleet;
}

/** Read one instance's local packed table from its files, in buffer order; the bytes read are counted. */
async function readDirect(
  ctx: RunContext,
  instance: Instance,
  table: string,
  segment: number,
): Promise<PackedBuffer[]> {
  const stats = emptyStats();
  const rows: PackedRow[] = await readPackedBuffers(instance, table, { lockMode: 'SHARE', stats });
  ctx.emit({ type: 'counter', transport: 'direct-read', bytes: stats.bytesRead, at: Date.now(), segment });
  return rows.sort((a, b) => a.bufferId - b.bufferId);
}

/** One source per segment: its partition and the validation set, read from that segment's own files. */
export function directSources(ctx: RunContext, trainTable: string, validTable: string): ShardSource[] {
  return ctx.topology.segments.map((instance, i) =>
    shardSource(
      () => readDirect(ctx, instance, trainTable, i),
      () => readDirect(ctx, instance, validTable, i),
    ),
  );
}

/** The direct reader needs every segment's data directory readable on this machine (beyond the engine workers). */
export async function checkDirectAccess(topology: Topology): Promise<Problem[]> {
  return (await directReadProblems(topology)).map(({ instance, reason }) => ({
    message:
      `direct access reads each segment's data files from this machine, and ${instance}'s cannot ` +
      `be read here: ${reason}`,
    fix:
      'use the embedded cluster (drop --db), or a layout whose segments run on this machine (docs/attach.md, ' +
      '"DA across hosts")',
  }));
}

export const da = defineApproach<DaPrepared, typeof PACKING_OPTIONS>({
  id: 'da',
  title: "DA: engine workers read each partition's heap and TOAST files directly, MOP outside the DBMS",
  layers: {
    scheduling: 'async random (Cerebro)',
    execution: 'out-of-DBMS engine workers, one per segment',
    dataAccess: "direct read of the partition's heap and TOAST files, cached in worker memory",
    modelsLive: 'shared model store (files)',
  },
  check: async (topology) => [...(await checkWorkers()), ...(await checkDirectAccess(topology))],
  options: PACKING_OPTIONS,
  searches: true,
  verifyResume: verifyModelStore,

  async prepare(ctx) {
    const packed = await packForRun(ctx);
    const fleet = await WorkerFleet.start(ctx, directSources(ctx, packed.trainTable, packed.validTable));
    return { fleet, data: packedData(packed), copies: NO_COPIES };
  },

  train: (ctx, prepared) => runMop(ctx, prepared.fleet),

  async cleanup(_ctx, prepared) {
    await prepared?.fleet.close();
  },
});
