// The in-DBMS ETL (docs/architecture.md, "Data"; like MADlib's training_preprocessor_dl): on every segment at
// once, one statement shuffles that segment's raw rows (seeded: ORDER BY a hash of row_id and the
// seed), cuts them into buffers of rowsPerBuffer rows and packs each buffer with a PL/Python
// aggregate of the `bench` extension (infra/sql/10-pack.sql, bench_engine.featurize) into
// (n, x float32, y int32).
//
//   <dataset>_train_packed  distributed: segment i's buffers are made from segment i's rows.
//   <dataset>_valid_packed  replicated: every segment's partition holds the whole packed
//                           validation set (each segment packs its own raw validation rows, then
//                           the buffers are copied to every other segment with binary COPY).
//
// buffer_id = k * segments + i for segment i's k-th buffer: unique over the whole table, and the
// segment a buffer was made on is buffer_id % segments.
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { connect, ident, withClient } from '../../src/db/connect.js';
import { analyzeDistributed, createDistributedTable, distributedTableBytes } from '../../src/db/distributed.js';
import type { Topology } from '../../src/db/topology.js';
import type { ResolvedWorkload } from '../../src/core/workload.js';
import { rawTableNames } from './load.js';
import { datasetSpecHash, readRecord, segmentsKey, writePackRecord } from './registry.js';

export { datasetSpecHash } from './registry.js';

export const PACKED_COLUMNS = 'buffer_id int NOT NULL, n int NOT NULL, x bytea NOT NULL, y bytea NOT NULL';

export interface PackResult {
  trainTable: string;
  validTable: string;
  /** pg_total_relation_size (heap + TOAST + indexes) of the packed train table, summed over segments. */
  sourceBytes: number;
  /** The packed train buffers' payload (x and y), uncompressed, summed over segments. */
  logicalBytes: number;
  trainBuffers: number;
  /** Buffers of the validation set (each segment holds all of them). */
  validBuffers: number;
}

/**
 * How the packed buffers' TOAST values are stored on the segments: lz4 (default: packs ~3x faster
 * than pglz at about the same size for one-hot data, and decompresses faster for every reader),
 * pglz (PostgreSQL's default), or none (STORAGE EXTERNAL: out of line, uncompressed).
 */
export type PackCompression = 'lz4' | 'pglz' | 'none';

export interface PackOptions {
  /** Default lz4, falling back to pglz on a server built without lz4. */
  compression?: PackCompression;
  /**
   * Keep packed tables that a previous pack of the same raw load made (their record matches and
   * they hold the recorded buffers) instead of packing again. Off by default: packing is the ETL
   * a run measures.
   */
  reuse?: boolean;
  log?: (message: string) => void;
}

export function packedTableNames(workload: Pick<ResolvedWorkload, 'datasetName'>): { train: string; valid: string } {
  return { train: `${workload.datasetName}_train_packed`, valid: `${workload.datasetName}_valid_packed` };
}

function int(value: number, what: string): string {
  if (!Number.isSafeInteger(value)) throw new Error(`${what} must be an integer, got ${value}`);
  return String(value);
}

/** The statement segment `segment` of `segments` runs to pack its raw rows of `rawTable` into `packedTable`. */
export function packStatement(
  workload: ResolvedWorkload,
  rawTable: string,
  packedTable: string,
  segment: number,
  segments: number,
): string {
  const spec = workload.dataset;
  const rows = int(spec.rowsPerBuffer, 'rowsPerBuffer');
  const seed = int(workload.seed, 'seed');
  const aggregate =
    spec.kind === 'criteo'
      ? `bench_pack_criteo(r.label, r.ints, r.cats, ${int(spec.intBuckets, 'intBuckets')}, ` +
        `${int(spec.hashBuckets, 'hashBuckets')} ORDER BY r.k)`
      : `bench_pack_image(r.label, r.image, ${int(spec.imageSize, 'imageSize')} ORDER BY r.k)`;
  const columns = spec.kind === 'criteo' ? 'label, ints, cats' : 'label, image';
  return (
    `INSERT INTO ${ident(packedTable)} (seg, buffer_id, n, x, y) ` +
    `SELECT ${segment}, b.buffer_id, (b.p).n, (b.p).x, (b.p).y FROM (` +
    `SELECT (r.k / ${rows}) * ${segments} + ${segment} AS buffer_id, ${aggregate} AS p FROM (` +
    `SELECT row_number() OVER (ORDER BY hashint8extended(row_id, ${seed}), row_id) - 1 AS k, ` +
    `${columns} FROM ${ident(rawTable)}` +
    `) r GROUP BY 1) b`
  );
}

/** Pack one segment's raw rows; returns the number of buffers written. */
async function packOnSegment(client: pg.Client, sql: string): Promise<number> {
  await client.query('BEGIN');
  try {
    // One buffer's rows at a time in Python (a sorted group aggregate, not a hash aggregate
    // holding every group open), and room to sort the raw rows in memory.
    await client.query('SET LOCAL enable_hashagg = off');
    await client.query("SET LOCAL work_mem = '256MB'");
    await client.query('SELECT bench_pack_reset()');
    const result = await client.query(sql);
    await client.query('COMMIT');
    return result.rowCount ?? 0;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Copy segment `from`'s own validation buffers into segment `to`'s table (as rows of segment `to`). */
async function copyValidBuffers(topology: Topology, table: string, from: number, to: number): Promise<void> {
  const segments = topology.segments.length;
  const source = await connect(topology.segments[from], 'bench-pack');
  const target = await connect(topology.segments[to], 'bench-pack');
  try {
    const out = source.query(
      copyTo(
        `COPY (SELECT ${to}, buffer_id, n, x, y FROM ${ident(table)} WHERE buffer_id % ${segments} = ${from} ` +
          `ORDER BY buffer_id) TO STDOUT (FORMAT binary)`,
      ),
    );
    const into = target.query(copyFrom(`COPY ${ident(table)} (seg, buffer_id, n, x, y) FROM STDIN (FORMAT binary)`));
    await pipeline(out, into);
  } finally {
    await Promise.all([source.end().catch(() => undefined), target.end().catch(() => undefined)]);
  }
}

/** Set the storage of x and y on every segment's tables; returns what was set. */
async function setCompression(
  topology: Topology,
  tables: string[],
  wanted: PackCompression,
  log: (m: string) => void,
): Promise<PackCompression> {
  const clause = (c: PackCompression): string =>
    c === 'none'
      ? 'ALTER COLUMN x SET STORAGE EXTERNAL, ALTER COLUMN y SET STORAGE EXTERNAL'
      : `ALTER COLUMN x SET COMPRESSION ${c}, ALTER COLUMN y SET COMPRESSION ${c}`;
  const apply = (c: PackCompression) =>
    Promise.all(
      topology.segments.map((s) =>
        withClient(s, async (client) => {
          for (const t of tables) await client.query(`ALTER TABLE ${ident(t)} ${clause(c)}`);
        }),
      ),
    );
  try {
    await apply(wanted);
    return wanted;
  } catch (error) {
    if (wanted !== 'lz4') throw error;
    log(`lz4 compression is not available on the segments (${(error as Error).message}); packing with pglz`);
    await apply('pglz');
    return 'pglz';
  }
}

/**
 * The uncompressed bytes of x and y over every segment's partition (octet_length reads the TOAST
 * header, not the value).
 */
async function payloadBytes(topology: Topology, table: string): Promise<number> {
  const sizes = await Promise.all(
    topology.segments.map((s) =>
      withClient(s, async (c) => {
        const sql = `SELECT coalesce(sum(octet_length(x)::bigint + octet_length(y)), 0) AS bytes FROM ${ident(table)}`;
        const { rows } = await c.query<{ bytes: string }>(sql);
        return Number(rows[0].bytes);
      }),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

async function bufferCounts(topology: Topology, table: string): Promise<number[]> {
  return Promise.all(
    topology.segments.map((s) =>
      withClient(s, async (c) => {
        const { rows } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${ident(table)}`);
        return Number(rows[0].n);
      }),
    ),
  );
}

async function tablesReusable(
  topology: Topology,
  tables: { train: string; valid: string },
  trainBuffers: number,
  validBuffers: number,
): Promise<boolean> {
  try {
    const train = await bufferCounts(topology, tables.train);
    const valid = await bufferCounts(topology, tables.valid);
    return train.reduce((a, b) => a + b, 0) === trainBuffers && valid.every((v) => v === validBuffers);
  } catch {
    return false;
  }
}

/**
 * Pack the workload's raw rows (ensureRawData first) into `<dataset>_train_packed` and
 * `<dataset>_valid_packed`, ANALYZE them and report their size.
 */
export async function packDataset(
  topology: Topology,
  workload: ResolvedWorkload,
  options: PackOptions = {},
): Promise<PackResult> {
  const log = options.log ?? (() => undefined);
  const raw = rawTableNames(workload);
  const packed = packedTableNames(workload);
  const segments = topology.segments.length;
  const record = await readRecord(topology, workload.datasetName);
  if (!record || record.segments !== segmentsKey(topology)) {
    throw new Error(
      `the raw rows of ${workload.datasetName} are not loaded on these ${segments} segments: ` +
        `run \`bench data load --workload ${workload.id} --scale ${workload.scale} --segments ${segments}\` ` +
        '(or ensureRawData) first',
    );
  }
  // What the packed tables are made from: this raw load, packed with this spec and storage.
  const wanted = options.compression ?? 'lz4';
  const packedHash = `${datasetSpecHash(workload)}@${record.loadedAt.toISOString()}/${wanted}`;
  if (
    options.reuse &&
    record.packedHash === packedHash &&
    record.trainBuffers !== null &&
    record.validBuffers !== null
  ) {
    if (await tablesReusable(topology, packed, record.trainBuffers, record.validBuffers)) {
      log(
        `${workload.datasetName}: reusing ${record.trainBuffers} packed train and ${record.validBuffers} ` +
          `validation buffers`,
      );
      const sourceBytes = await distributedTableBytes(topology, packed.train);
      const logicalBytes = await payloadBytes(topology, packed.train);
      const { trainBuffers, validBuffers } = record;
      const tables = { trainTable: packed.train, validTable: packed.valid };
      return { ...tables, sourceBytes, logicalBytes, trainBuffers, validBuffers };
    }
  }
  await writePackRecord(topology, workload.datasetName, null, null, null);
  await createDistributedTable(topology, packed.train, PACKED_COLUMNS);
  await createDistributedTable(topology, packed.valid, PACKED_COLUMNS, { replicated: true });
  const compression = await setCompression(topology, [packed.train, packed.valid], wanted, log);

  const started = performance.now();
  const perSegment = await Promise.all(
    topology.segments.map((instance, i) =>
      withClient(instance, async (client) => {
        const train = await packOnSegment(client, packStatement(workload, raw.train, packed.train, i, segments));
        const valid = await packOnSegment(client, packStatement(workload, raw.valid, packed.valid, i, segments));
        return { train, valid };
      }),
    ),
  );
  const trainBuffers = perSegment.reduce((a, s) => a + s.train, 0);
  const validBuffers = perSegment.reduce((a, s) => a + s.valid, 0);
  log(
    `${workload.datasetName}: packed ${trainBuffers} train and ${validBuffers} validation buffers ` +
      `(${compression}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  // Replicate the validation buffers: in round r every segment i sends its own to (i + r) mod N,
  // so each segment has one outgoing and one incoming copy at a time.
  for (let r = 1; r < segments; r++) {
    await Promise.all(topology.segments.map((_, i) => copyValidBuffers(topology, packed.valid, i, (i + r) % segments)));
  }
  const validCounts = await bufferCounts(topology, packed.valid);
  if (!validCounts.every((c) => c === validBuffers))
    throw new Error(
      `replicating ${packed.valid} went wrong: segments hold ${validCounts.join(', ')} buffers, ` +
        `expected ${validBuffers} each`,
    );

  await analyzeDistributed(topology, packed.train);
  await analyzeDistributed(topology, packed.valid);
  const sourceBytes = await distributedTableBytes(topology, packed.train);
  const logicalBytes = await payloadBytes(topology, packed.train);
  await writePackRecord(topology, workload.datasetName, packedHash, trainBuffers, validBuffers);
  return { trainTable: packed.train, validTable: packed.valid, sourceBytes, logicalBytes, trainBuffers, validBuffers };
}
