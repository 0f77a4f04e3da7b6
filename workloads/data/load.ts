// Raw rows into the database: `<dataset>_raw_train` and `<dataset>_raw_valid`, distributed
// tables whose rows are spread over the segments by a seeded shuffle (balanced: segment counts
// differ by at most one). Each segment's rows go straight into that segment instance with a
// binary COPY, all segments at once. Idempotent: what was loaded is recorded in the coordinator's
// `bench_datasets`, and a matching record (with the tables still holding the recorded rows) is
// reused. A load goes into staging tables first and replaces the loaded dataset only once all of
// it went in: a malformed file (or any failure) leaves the dataset loaded before as it was.
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { connect, ident, literal, withClient } from '../../src/db/connect.js';
import {
  analyzeDistributed,
  createDistributedTable,
  dropDistributedTable,
  partitionName,
} from '../../src/db/distributed.js';
import type { Topology } from '../../src/db/topology.js';
import type { ResolvedWorkload } from '../../src/core/workload.js';
import type { CriteoRow, ImageRow } from '../featurize.js';
import { SegmentAssigner, hash32 } from '../random.js';
import { bytea, copyHeader, copyTrailer, copyTuple, int4, int4Array, int8, textArray } from './copy-binary.js';
import {
  type DatasetRecord,
  datasetShapeHash,
  datasetSpecHash,
  readRecord,
  segmentsKey,
  writeLoadRecord,
  deleteRecord,
} from './registry.js';
import { GENERATED, type RawSource, type Split, openSource } from './sources.js';

export interface LoadOptions {
  /** A Criteo TSV file (or a directory with train/valid files), or an image class-folder tree. */
  source?: string;
  /** Reload even when the recorded dataset matches. */
  force?: boolean;
  /** Progress lines. */
  log?: (message: string) => void;
}

export interface LoadResult {
  trainRows: number;
  validRows: number;
  reused: boolean;
}

export const RAW_COLUMNS = {
  criteo: 'row_id bigint NOT NULL, label int NOT NULL, ints int[] NOT NULL, cats text[] NOT NULL',
  imagenet: 'row_id bigint NOT NULL, label int NOT NULL, image bytea NOT NULL',
} as const;

const COPY_COLUMNS = {
  criteo: '(seg, row_id, label, ints, cats)',
  imagenet: '(seg, row_id, label, image)',
} as const;

export function rawTableNames(workload: Pick<ResolvedWorkload, 'datasetName'>): Record<Split, string> {
  checkDatasetName(workload.datasetName);
  return { train: `${workload.datasetName}_raw_train`, valid: `${workload.datasetName}_raw_valid` };
}

export function checkDatasetName(name: string): void {
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(name))
    throw new Error(`dataset name '${name}' must be lower-case letters, digits and _ (at most 41 characters)`);
}

/** Seed of the segment assignment of a split. */
function assignmentSeed(seed: number, split: Split): number {
  return hash32(seed, split === 'train' ? 0x7a1 : 0x7a2);
}

/**
 * Whether an existing record serves this request. With a source: the same files, spec, seed and
 * segments. Without one: generated data needs the same spec and seed; data loaded from real files
 * is reused for any seed (the seed only chose its shuffle) as long as the shape is the same.
 */
function recordMatches(
  record: DatasetRecord,
  workload: ResolvedWorkload,
  topology: Topology,
  sourceIdentity: string | undefined,
): boolean {
  if (record.segments !== segmentsKey(topology)) return false;
  if (sourceIdentity !== undefined)
    return record.source === sourceIdentity && record.specHash === datasetSpecHash(workload);
  if (record.source === GENERATED) return record.specHash === datasetSpecHash(workload);
  return record.shapeHash === datasetShapeHash(workload);
}

/** Rows per segment of a table, read on the segments themselves. */
async function segmentCounts(topology: Topology, table: string): Promise<number[] | undefined> {
  try {
    return await Promise.all(
      topology.segments.map((s) =>
        withClient(s, async (c) => {
          const { rows } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${ident(table)}`);
          return Number(rows[0].n);
        }),
      ),
    );
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return undefined; // undefined_table
    throw error;
  }
}

async function coordinatorHas(topology: Topology, table: string): Promise<boolean> {
  return withClient(topology.coordinator, async (c) => {
    const { rows } = await c.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [table]);
    return rows[0].ok;
  });
}

async function tablesHold(topology: Topology, tables: Record<Split, string>, record: DatasetRecord): Promise<boolean> {
  for (const split of ['train', 'valid'] as const) {
    if (!(await coordinatorHas(topology, tables[split]))) return false;
    const counts = await segmentCounts(topology, tables[split]);
    const expected = split === 'train' ? record.trainRows : record.validRows;
    if (!counts || counts.reduce((a, b) => a + b, 0) !== expected) return false;
  }
  return true;
}

/** Buffers a COPY stream's input into chunks and honours its back-pressure; remembers its error. */
class CopyWriter {
  private parts: Buffer[] = [];
  private size = 0;
  private error: Error | undefined;
  bytes = 0;

  constructor(
    readonly stream: Writable,
    private readonly chunk = 1 << 18,
  ) {
    stream.on('error', (error: Error) => {
      this.error ??= error;
    });
  }

  /** Returns a promise only when the caller has to wait. */
  write(data: Buffer): Promise<void> | undefined {
    if (this.error) throw this.error;
    this.parts.push(data);
    this.size += data.length;
    return this.size >= this.chunk ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const data = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.bytes += this.size;
    this.size = 0;
    if (!this.stream.write(data)) {
      if (this.error) throw this.error;
      await once(this.stream, 'drain');
    }
  }

  async end(): Promise<void> {
    await this.flush();
    if (this.error) throw this.error;
    this.stream.end();
    await finished(this.stream);
  }
}

function encodeCriteo(seg: number, rowId: number, row: CriteoRow): Buffer {
  return copyTuple([int4(seg), int8(rowId), int4(row.label), int4Array(row.ints), textArray(row.cats)]);
}

function encodeImage(seg: number, rowId: number, row: ImageRow): Buffer {
  return copyTuple([int4(seg), int8(rowId), int4(row.label), bytea(row.image)]);
}

/** COPY one split's rows into the segments; returns the bytes sent. */
async function copySplit(
  topology: Topology,
  source: RawSource,
  split: Split,
  table: string,
  count: number,
  seed: number,
): Promise<number> {
  const segments = topology.segments.length;
  const assigner = count > 0 ? new SegmentAssigner(count, segments, assignmentSeed(seed, split)) : undefined;
  const clients: pg.Client[] = [];
  const writers: CopyWriter[] = [];
  try {
    for (const s of topology.segments) clients.push(await connect(s, 'bench-load'));
    for (const client of clients) {
      const stream = client.query(
        copyFrom(`COPY ${ident(table)} ${COPY_COLUMNS[source.kind]} FROM STDIN (FORMAT binary)`),
      );
      const writer = new CopyWriter(stream);
      writer.write(copyHeader());
      writers.push(writer);
    }
    let i = 0;
    const encode = source.kind === 'criteo' ? encodeCriteo : encodeImage;
    for await (const row of source.rows(split) as AsyncIterable<CriteoRow & ImageRow>) {
      if (i >= count) throw new Error(`the ${split} source gave more than the ${count} rows it announced`);
      const seg = assigner!.segmentOf(i);
      const wait = writers[seg].write(encode(seg, i, row));
      if (wait) await wait;
      i++;
    }
    if (i !== count) throw new Error(`the ${split} source gave ${i} rows, not the ${count} it announced`);
    for (const w of writers) w.write(copyTrailer());
    await Promise.all(writers.map((w) => w.end()));
    return writers.reduce((a, w) => a + w.bytes, 0);
  } catch (error) {
    for (const w of writers) w.stream.destroy();
    throw error;
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

/** Replaces distributed table `to` (if any) by `from`: on every segment, then on the coordinator and its partitions. */
async function renameDistributedTable(topology: Topology, from: string, to: string): Promise<void> {
  const swap = async (client: pg.Client, statements: string[]): Promise<void> => {
    await client.query('BEGIN');
    try {
      for (const statement of statements) await client.query(statement);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  };
  const rename = [`DROP TABLE IF EXISTS ${ident(to)} CASCADE`, `ALTER TABLE ${ident(from)} RENAME TO ${ident(to)}`];
  await Promise.all(topology.segments.map((segment) => withClient(segment, (client) => swap(client, rename))));
  const partitions = topology.segments.flatMap((_, i) => [
    `ALTER FOREIGN TABLE ${ident(partitionName(from, i))} RENAME TO ${ident(partitionName(to, i))}`,
    `ALTER FOREIGN TABLE ${ident(partitionName(to, i))} OPTIONS (SET table_name ${literal(to)})`,
  ]);
  await withClient(topology.coordinator, (client) => swap(client, [...rename, ...partitions]));
}

/**
 * Make sure the workload's raw rows are in `<dataset>_raw_train` / `<dataset>_raw_valid`: reuse
 * what a matching earlier load left, otherwise (or with `force`) create the tables and load them.
 */
export async function ensureRawData(
  topology: Topology,
  workload: ResolvedWorkload,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const log = options.log ?? (() => undefined);
  const tables = rawTableNames(workload);
  if (topology.segments.length === 0) throw new Error('the topology has no segments');
  const source = await openSource(workload, options.source);
  const record = await readRecord(topology, workload.datasetName);
  const requested = options.source === undefined ? undefined : source.identity;
  if (
    !options.force &&
    record &&
    recordMatches(record, workload, topology, requested) &&
    (await tablesHold(topology, tables, record))
  ) {
    log(
      `${workload.datasetName}: reusing ${record.trainRows} train and ${record.validRows} validation rows ` +
        `(${record.description})`,
    );
    return { trainRows: record.trainRows, validRows: record.validRows, reused: true };
  }
  const started = performance.now();
  const counts = await source.count();
  log(
    `${workload.datasetName}: loading ${counts.train} train and ${counts.valid} ` +
      `validation rows over ${topology.segments.length} segments (${source.description})`,
  );
  const staging: Record<Split, string> = { train: `${tables.train}_new`, valid: `${tables.valid}_new` };
  try {
    for (const split of ['train', 'valid'] as const) {
      await createDistributedTable(topology, staging[split], RAW_COLUMNS[source.kind]);
      const bytes = await copySplit(topology, source, split, staging[split], counts[split], workload.seed);
      await analyzeDistributed(topology, staging[split]);
      log(`${tables[split]}: ${counts[split]} rows, ${(bytes / 1e6).toFixed(1)} MB copied`);
    }
  } catch (error) {
    await Promise.allSettled(Object.values(staging).map((table) => dropDistributedTable(topology, table)));
    const kept = record ? `the ${record.description} loaded before is still there` : 'nothing was loaded';
    const message = `${workload.datasetName}: the load failed and was undone (${kept}): ${(error as Error).message}`;
    throw new Error(message, { cause: error });
  }
  // The swap is not atomic across instances: forget the old record first, so a swap cut short is
  // never taken as a finished load.
  if (record) await deleteRecord(topology, workload.datasetName);
  for (const split of ['train', 'valid'] as const) {
    await renameDistributedTable(topology, staging[split], tables[split]);
  }
  const loadSeconds = (performance.now() - started) / 1000;
  await writeLoadRecord(topology, {
    name: workload.datasetName,
    specHash: datasetSpecHash(workload),
    shapeHash: datasetShapeHash(workload),
    seed: workload.seed,
    source: source.identity,
    description: source.description,
    segments: segmentsKey(topology),
    trainRows: counts.train,
    validRows: counts.valid,
    loadSeconds,
  });
  return { trainRows: counts.train, validRows: counts.valid, reused: false };
}
