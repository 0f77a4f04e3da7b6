// The ETL of the in-DBMS approaches (udaf, ctq, ma): packing inside the database, nothing copied out.
import { NO_COPIES, type Prepared, type RunContext } from '../../src/core/approach.js';
import type { PackCompression } from '../../workloads/data/pack.js';
import { packForRun, packedData } from './pack.js';

export interface InDbmsPrepared extends Prepared {
  trainTable: string;
  validTable: string;
}

export async function prepareInDbms(ctx: RunContext<{ compression: PackCompression }>): Promise<InDbmsPrepared> {
  const packed = await packForRun(ctx);
  return { trainTable: packed.trainTable, validTable: packed.validTable, data: packedData(packed), copies: NO_COPIES };
}
