// The in-DBMS packing every approach's ETL starts with, with the run's `--option compression=`
// (lz4, the default; pglz; none) for the packed buffers.
import type { RunContext } from '../../src/core/approach.js';
import { packDataset, type PackCompression, type PackResult } from '../../workloads/data/pack.js';

const COMPRESSIONS: readonly PackCompression[] = ['lz4', 'pglz', 'none'];

export function packForRun(ctx: RunContext): Promise<PackResult> {
  const compression = ctx.options.compression;
  if (compression !== undefined && !(COMPRESSIONS as readonly string[]).includes(compression)) {
    throw new Error(`--option compression=${compression}: expected one of ${COMPRESSIONS.join(', ')}`);
  }
  return packDataset(ctx.topology, ctx.workload, { compression: compression as PackCompression | undefined, log: ctx.log });
}
