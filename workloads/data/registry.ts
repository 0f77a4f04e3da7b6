// What has been loaded and packed, recorded on the coordinator in `bench_datasets`, so loading
// and packing are idempotent: a dataset whose record matches is reused, otherwise reloaded.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { withClient } from '../../src/db/connect.js';
import type { Topology } from '../../src/db/topology.js';
import type { ResolvedWorkload } from '../../src/core/workload.js';
import { CRITEO_GENERATOR_VERSION } from '../generate/criteo.js';
import { IMAGENET_GENERATOR_VERSION } from '../generate/imagenet.js';

/** Bump when the packed layout or the featurisation changes. */
export const FEATURIZE_VERSION = 1;

function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, stable((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * Hash of everything that determines a dataset's generated rows and its packed buffers: name, spec
 * (sizes, buckets, rows per buffer, label noise), seed, generator and featurisation versions.
 */
export function datasetSpecHash(workload: Pick<ResolvedWorkload, 'datasetName' | 'dataset' | 'seed'>): string {
  const content = stable({
    name: workload.datasetName,
    spec: workload.dataset,
    seed: workload.seed,
    generator: workload.dataset.kind === 'criteo' ? CRITEO_GENERATOR_VERSION : IMAGENET_GENERATOR_VERSION,
    featurize: FEATURIZE_VERSION,
  });
  return createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16);
}

/** The same, without the seed (a real-data source does not depend on it). */
export function datasetShapeHash(workload: Pick<ResolvedWorkload, 'datasetName' | 'dataset'>): string {
  return datasetSpecHash({ ...workload, seed: 0 });
}

/** Where a table's rows live: the segment instances, in order. */
export function segmentsKey(topology: Topology): string {
  return topology.segments.map((s) => `${s.host}:${s.port}/${s.database}`).join(',');
}

export interface DatasetRecord {
  name: string;
  specHash: string;
  shapeHash: string;
  seed: number;
  source: string;
  description: string;
  segments: string;
  trainRows: number;
  validRows: number;
  loadedAt: Date;
  loadSeconds: number;
  packedHash: string | null;
  trainBuffers: number | null;
  validBuffers: number | null;
  packedAt: Date | null;
}

export const REGISTRY_TABLE = 'bench_datasets';

export async function ensureRegistry(client: pg.Client): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS ${REGISTRY_TABLE} (
    name text PRIMARY KEY,
    spec_hash text NOT NULL,
    shape_hash text NOT NULL,
    seed bigint NOT NULL,
    source text NOT NULL,
    description text NOT NULL,
    segments text NOT NULL,
    train_rows bigint NOT NULL,
    valid_rows bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    load_seconds double precision NOT NULL DEFAULT 0,
    packed_hash text,
    train_buffers int,
    valid_buffers int,
    packed_at timestamptz
  )`);
}

interface Row {
  name: string;
  spec_hash: string;
  shape_hash: string;
  seed: string;
  source: string;
  description: string;
  segments: string;
  train_rows: string;
  valid_rows: string;
  loaded_at: Date;
  load_seconds: number;
  packed_hash: string | null;
  train_buffers: number | null;
  valid_buffers: number | null;
  packed_at: Date | null;
}

export async function readRecord(topology: Topology, name: string): Promise<DatasetRecord | undefined> {
  return withClient(topology.coordinator, async (client) => {
    await ensureRegistry(client);
    const { rows } = await client.query<Row>(`SELECT * FROM ${REGISTRY_TABLE} WHERE name = $1`, [name]);
    const r = rows[0];
    if (!r) return undefined;
    return {
      name: r.name,
      specHash: r.spec_hash,
      shapeHash: r.shape_hash,
      seed: Number(r.seed),
      source: r.source,
      description: r.description,
      segments: r.segments,
      trainRows: Number(r.train_rows),
      validRows: Number(r.valid_rows),
      loadedAt: r.loaded_at,
      loadSeconds: r.load_seconds,
      packedHash: r.packed_hash,
      trainBuffers: r.train_buffers,
      validBuffers: r.valid_buffers,
      packedAt: r.packed_at,
    };
  });
}

export async function deleteRecord(topology: Topology, name: string): Promise<void> {
  await withClient(topology.coordinator, async (client) => {
    await ensureRegistry(client);
    await client.query(`DELETE FROM ${REGISTRY_TABLE} WHERE name = $1`, [name]);
  });
}

export async function writeLoadRecord(
  topology: Topology,
  record: Pick<
    DatasetRecord,
    | 'name'
    | 'specHash'
    | 'shapeHash'
    | 'seed'
    | 'source'
    | 'description'
    | 'segments'
    | 'trainRows'
    | 'validRows'
    | 'loadSeconds'
  >,
): Promise<void> {
  await withClient(topology.coordinator, async (client) => {
    await ensureRegistry(client);
    await client.query(
      `INSERT INTO ${REGISTRY_TABLE} (name, spec_hash, shape_hash, seed, source, description, segments, train_rows, ` +
        `valid_rows, load_seconds)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (name) DO UPDATE SET spec_hash = EXCLUDED.spec_hash, shape_hash = EXCLUDED.shape_hash, ` +
        `seed = EXCLUDED.seed,
         source = EXCLUDED.source, description = EXCLUDED.description, segments = EXCLUDED.segments,
         train_rows = EXCLUDED.train_rows, valid_rows = EXCLUDED.valid_rows, loaded_at = now(), ` +
        `load_seconds = EXCLUDED.load_seconds,
         packed_hash = NULL, train_buffers = NULL, valid_buffers = NULL, packed_at = NULL`,
      [
        record.name,
        record.specHash,
        record.shapeHash,
        record.seed,
        record.source,
        record.description,
        record.segments,
        record.trainRows,
        record.validRows,
        record.loadSeconds,
      ],
    );
  });
}

export async function writePackRecord(
  topology: Topology,
  name: string,
  packedHash: string | null,
  trainBuffers: number | null,
  validBuffers: number | null,
): Promise<void> {
  await withClient(topology.coordinator, async (client) => {
    await ensureRegistry(client);
    await client.query(
      `UPDATE ${REGISTRY_TABLE} SET packed_hash = $2, train_buffers = $3, valid_buffers = $4, ` +
        `packed_at = CASE WHEN $2::text IS NULL THEN NULL ELSE now() END WHERE name = $1`,
      [name, packedHash, trainBuffers, validBuffers],
    );
  });
}
