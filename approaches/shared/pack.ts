// The in-DBMS packing every approach's ETL starts with, and the option that chooses how the packed
// buffers are stored.
import type { RunContext } from '../../src/core/approach.js';
import type { DataBytes } from '../../src/core/records.js';
import { choiceOption } from '../../src/core/options.js';
import { packDataset, type PackCompression, type PackResult } from '../../workloads/data/pack.js';

/** Options every approach that packs declares. */
export const PACKING_OPTIONS = {
  compression: choiceOption(
    ['lz4', 'pglz', 'none'],
    'lz4',
    'how the packed buffers are stored in the database (TOAST compression)',
  ),
} as const;

export function packForRun(ctx: RunContext<{ compression: PackCompression }>): Promise<PackResult> {
  return packDataset(ctx.topology, ctx.workload, { compression: ctx.options.compression, log: ctx.log });
}

/** The packed training data's sizes, as the storage blowup counts them. */
export function packedData(packed: Pick<PackResult, 'sourceBytes' | 'logicalBytes'>): DataBytes {
  return { storedBytes: packed.sourceBytes, logicalBytes: packed.logicalBytes };
}
