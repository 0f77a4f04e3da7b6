// Loading raw rows into the 2-segment test cluster and packing them in the database: buffer
// counts, the seeded spread over segments, idempotency, real-format sources, and packed buffers
// that decode (in TypeScript) to exactly the featurised rows they were made from.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureShape, type ResolvedWorkload } from '../../src/core/workload.js';
import { ident, withClient } from '../../src/db/connect.js';
import { dropDistributedTable } from '../../src/db/distributed.js';
import type { Topology } from '../../src/db/topology.js';
import { ensureRawData, rawTableNames } from '../../workloads/data/load.js';
import { packDataset, packedTableNames } from '../../workloads/data/pack.js';
import { decodePackedBuffer } from '../../workloads/data/decode.js';
import { deleteRecord, readRecord } from '../../workloads/data/registry.js';
import { featurizeCriteo, featurizeImage } from '../../workloads/featurize.js';
import { formatCriteoLine } from '../../workloads/formats/criteo-tsv.js';
import { CriteoGenerator } from '../../workloads/generate/criteo.js';
import { ImagenetGenerator } from '../../workloads/generate/imagenet.js';
import { resolveWorkload } from '../../workloads/index.js';
import { testTopology } from '../helpers/cluster.js';

let topology: Topology;
const scratch = mkdtempSync(join(tmpdir(), 'bench-load-'));
const made: ResolvedWorkload[] = [];

beforeAll(async () => {
  topology = await testTopology();
});

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  // Only the test-only datasets are dropped; criteo_tiny / imagenet_tiny stay for other suites.
  for (const w of made) {
    for (const t of [...Object.values(rawTableNames(w)), ...Object.values(packedTableNames(w))])
      await dropDistributedTable(topology, t);
    await deleteRecord(topology, w.datasetName);
  }
});

/** Rows of a table on one segment, in the pack statement's shuffle order. */
async function shuffled(
  segment: number,
  table: string,
  seed: number,
  columns: string,
): Promise<Record<string, unknown>[]> {
  return withClient(topology.segments[segment], async (c) => {
    const { rows } = await c.query(
      `SELECT ${columns} FROM ${ident(table)} ORDER BY hashint8extended(row_id, ${seed}), row_id`,
    );
    return rows;
  });
}

async function buffers(
  segment: number,
  table: string,
): Promise<{ seg: number; buffer_id: number; n: number; x: Buffer; y: Buffer }[]> {
  return withClient(
    topology.segments[segment],
    async (c) => (await c.query(`SELECT seg, buffer_id, n, x, y FROM ${ident(table)} ORDER BY buffer_id`)).rows,
  );
}

describe('criteo tiny on 2 segments', () => {
  const workload = resolveWorkload('criteo', 'tiny', 1);

  it('loads raw rows spread evenly over the segments, and reuses them the second time', async () => {
    const first = await ensureRawData(topology, workload, { force: true });
    expect(first).toEqual({ trainRows: 2048, validRows: 512, reused: false });
    const again = await ensureRawData(topology, workload);
    expect(again).toEqual({ trainRows: 2048, validRows: 512, reused: true });
    const raw = rawTableNames(workload);
    for (const [i, s] of topology.segments.entries()) {
      await withClient(s, async (c) => {
        const { rows } = await c.query(
          `SELECT count(*)::int AS n, min(seg) AS lo, max(seg) AS hi FROM ${ident(raw.train)}`,
        );
        expect(rows[0]).toEqual({ n: 1024, lo: i, hi: i });
      });
    }
    // The coordinator sees the union through its partitions.
    await withClient(topology.coordinator, async (c) => {
      const { rows } = await c.query(
        `SELECT count(*)::int AS n, count(DISTINCT row_id)::int AS ids FROM ${ident(raw.train)}`,
      );
      expect(rows[0]).toEqual({ n: 2048, ids: 2048 });
    });
    const record = await readRecord(topology, workload.datasetName);
    expect(record).toMatchObject({ trainRows: 2048, validRows: 512, source: 'generated', seed: 1 });
  });

  it('stores the generator rows unchanged (NULL ints, empty categories)', async () => {
    const gen = new CriteoGenerator(workload.dataset as never, workload.seed);
    const rows = await withClient(
      topology.coordinator,
      async (c) =>
        (
          await c.query(
            `SELECT row_id, label, ints, cats FROM ${ident(rawTableNames(workload).train)} WHERE row_id < 40 ` +
              `ORDER BY row_id`,
          )
        ).rows,
    );
    expect(rows).toHaveLength(40);
    for (const r of rows) {
      const expected = gen.row('train', Number(r.row_id));
      expect({ label: r.label, ints: r.ints, cats: r.cats }).toEqual(expected);
    }
  });

  it('packs into the expected buffers, each decoding to the featurised rows in shuffle order', async () => {
    const packed = await packDataset(topology, workload);
    // 1024 train rows per segment / 512 per buffer = 2 buffers per segment; 256 validation rows per segment = 1
    // buffer each, replicated.
    expect(packed).toMatchObject({
      trainTable: 'criteo_tiny_train_packed',
      validTable: 'criteo_tiny_valid_packed',
      trainBuffers: 4,
      validBuffers: 2,
    });
    expect(packed.sourceBytes).toBeGreaterThan(0);
    // Stored lz4-compressed by default.
    const methods = await withClient(
      topology.segments[0],
      async (c) =>
        (await c.query(`SELECT DISTINCT pg_column_compression(x) AS m FROM ${ident(packed.trainTable)}`)).rows,
    );
    expect(methods).toEqual([{ m: 'lz4' }]);
    const gen = new CriteoGenerator(workload.dataset as never, workload.seed);
    const shape = featureShape(workload.dataset);
    for (let seg = 0; seg < 2; seg++) {
      const order = await shuffled(seg, rawTableNames(workload).train, workload.seed, 'row_id');
      const bufs = await buffers(seg, packed.trainTable);
      expect(bufs.map((b) => b.buffer_id)).toEqual([seg, 2 + seg]);
      expect(bufs.map((b) => b.n)).toEqual([512, 512]);
      for (const [k, b] of bufs.entries()) {
        expect(b.seg).toBe(seg);
        const decoded = decodePackedBuffer(b.n, b.x, b.y, shape);
        const dim = shape[0];
        for (let i = 0; i < b.n; i += 37) {
          const row = gen.row('train', Number(order[k * 512 + i].row_id));
          expect(decoded.x.subarray(i * dim, (i + 1) * dim)).toEqual(featurizeCriteo(row, workload.dataset as never));
          expect(decoded.y[i]).toBe(row.label);
        }
      }
    }
  });

  it('replicates the packed validation set on every segment', async () => {
    const valid = packedTableNames(workload).valid;
    const [a, b] = [await buffers(0, valid), await buffers(1, valid)];
    expect(a.map((r) => r.buffer_id)).toEqual([0, 1]);
    expect(b.map((r) => r.buffer_id)).toEqual([0, 1]);
    expect(a.every((r) => r.seg === 0) && b.every((r) => r.seg === 1)).toBe(true);
    a.forEach((r, i) => {
      expect(r.x.equals(b[i].x)).toBe(true);
      expect(r.y.equals(b[i].y)).toBe(true);
    });
    expect(a.reduce((s, r) => s + r.n, 0)).toBe(512);
    await withClient(topology.coordinator, async (c) => {
      const { rows } = await c.query(
        `SELECT seg, count(*)::int AS buffers, sum(n)::int AS rows FROM ${ident(valid)} GROUP BY seg ORDER BY seg`,
      );
      expect(rows).toEqual([
        { seg: 0, buffers: 2, rows: 512 },
        { seg: 1, buffers: 2, rows: 512 },
      ]);
    });
  });

  it('reuses packed tables only when asked', async () => {
    const record = await readRecord(topology, workload.datasetName);
    const reused = await packDataset(topology, workload, { reuse: true });
    expect(reused).toMatchObject({ trainBuffers: 4, validBuffers: 2 });
    expect((await readRecord(topology, workload.datasetName))!.packedAt).toEqual(record!.packedAt);
  });
});

describe('imagenet tiny on 2 segments', () => {
  const workload = resolveWorkload('imagenet', 'tiny', 1);

  it('loads and packs images into float32 CHW buffers', async () => {
    await ensureRawData(topology, workload);
    const packed = await packDataset(topology, workload);
    // 512 images per segment / 256 per buffer = 2 buffers per segment; 128 validation images per segment = 1
    // buffer each.
    expect(packed).toMatchObject({ trainBuffers: 4, validBuffers: 2 });
    const gen = new ImagenetGenerator(workload.dataset as never, workload.seed);
    const shape = featureShape(workload.dataset);
    const order = await shuffled(1, rawTableNames(workload).train, workload.seed, 'row_id');
    const [first] = await buffers(1, packed.trainTable);
    expect(first.buffer_id).toBe(1);
    const decoded = decodePackedBuffer(first.n, first.x, first.y, shape);
    const per = 3 * 16 * 16;
    for (const i of [0, 1, 100, 255]) {
      const row = gen.row('train', Number(order[i].row_id));
      expect(decoded.x.subarray(i * per, (i + 1) * per)).toEqual(featurizeImage(row.image, 16));
      expect(decoded.y[i]).toBe(row.label);
    }
  });
});

describe('a real-format source', () => {
  it('loads a Criteo TSV into its own tables, then reloads when the file changes', async () => {
    const base = resolveWorkload('criteo', 'tiny', 1);
    const workload: ResolvedWorkload = {
      ...base,
      datasetName: 'test_criteo_tsv',
      dataset: { ...base.dataset, rowsPerBuffer: 64 },
    };
    made.push(workload);
    const rows = [...new CriteoGenerator(workload.dataset as never, 9).rows('train', 0, 250)];
    const path = join(scratch, 'clicks.tsv');
    writeFileSync(path, rows.map(formatCriteoLine).join('\n') + '\n');
    const loaded = await ensureRawData(topology, workload, { source: path });
    expect(loaded.reused).toBe(false);
    expect(loaded.trainRows + loaded.validRows).toBe(250);
    expect(loaded.validRows).toBe(50);
    expect((await ensureRawData(topology, workload, { source: path })).reused).toBe(true);
    // Without --source the loaded real data is what the dataset is.
    expect((await ensureRawData(topology, workload)).reused).toBe(true);
    const packed = await packDataset(topology, workload);
    // 200 train rows: 100 per segment in buffers of 64 -> 2 per segment; 50 validation rows: 25 per segment -> 1 each.
    expect(packed).toMatchObject({ trainBuffers: 4, validBuffers: 2 });
    writeFileSync(path, rows.slice(0, 100).map(formatCriteoLine).join('\n') + '\n');
    const changed = await ensureRawData(topology, workload, { source: path });
    expect(changed).toEqual({ trainRows: 80, validRows: 20, reused: false });
  });

  it('refuses to pack a dataset that was never loaded', async () => {
    const base = resolveWorkload('criteo', 'tiny', 1);
    await expect(packDataset(topology, { ...base, datasetName: 'test_never_loaded' })).rejects.toThrow(
      /not loaded.*bench data load/,
    );
  });
});
