// A relation larger than 1 GB: its heap continues in segment file .1, which the direct reader must
// find and read in order. Both paths stream their canonical lines into a digest.
import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPackedBuffers } from '../../src/access/direct/packed.js';
import { emptyStats } from '../../src/access/direct/pages.js';
import { digests, scratch, sql, type ScratchInstance } from './helpers.js';

let db: ScratchInstance;

beforeAll(async () => {
  db = await scratch();
});

afterAll(async () => {
  await db?.stop();
});

describe('relations over 1 GB', () => {
  it('a 1.1 GB heap (files base/.../N and N.1) reads the same through both paths', async () => {
    // STORAGE PLAIN: 4000-byte rows stay in the heap uncompressed, two to a page. Created and
    // filled in one transaction (wal_level = minimal on the scratch instance: no WAL for it).
    await sql(
      db.instance,
      `BEGIN;
       CREATE TABLE big (id int, pad text);
       ALTER TABLE big ALTER COLUMN pad SET STORAGE PLAIN;
       INSERT INTO big SELECT g, repeat(md5(g::text), 125) FROM generate_series(1, 280000) g;
       DELETE FROM big WHERE id % 1000 = 0;
       COMMIT`,
    );
    const { rows } = await sql(
      db.instance,
      "SELECT current_setting('data_directory') || '/' || pg_relation_filepath('big') AS path, " +
        "pg_relation_size('big') AS size",
    );
    expect(Number(rows[0].size)).toBeGreaterThan(1024 ** 3);
    expect((await stat(`${rows[0].path}.1`)).size).toBeGreaterThan(0);
    const d = await digests(db.instance, 'big');
    expect(d.direct).toBe(d.sql);
    expect(d.rows).toBe(280000 - 280);
    expect(d.stats.heapPages).toBe(Number(rows[0].size) / 8192);
  }, 900_000);

  it('a packed table whose TOAST relation is over 1 GB', async () => {
    await sql(
      db.instance,
      `BEGIN;
       CREATE TABLE big_packed (seg int NOT NULL, buffer_id int NOT NULL, n int NOT NULL, x bytea, y bytea);
       ALTER TABLE big_packed ALTER COLUMN x SET STORAGE EXTERNAL, ALTER COLUMN y SET STORAGE EXTERNAL;
       INSERT INTO big_packed SELECT 0, g, 1000, convert_to(repeat(md5(g::text), 35000), 'UTF8'), ` +
        `convert_to(repeat(md5((-g)::text), 125), 'UTF8')
         FROM generate_series(1, 1000) g;
       COMMIT`,
    );
    const { rows } = await sql(
      db.instance,
      "SELECT pg_relation_size(reltoastrelid) AS size FROM pg_class WHERE relname = 'big_packed'",
    );
    expect(Number(rows[0].size)).toBeGreaterThan(1024 ** 3);
    const stats = emptyStats();
    const got = await readPackedBuffers(db.instance, 'big_packed', { stats });
    expect(got).toHaveLength(1000);
    // Compare digests of x and y with the server's own.
    const { rows: check } = await sql(
      db.instance,
      'SELECT buffer_id, md5(x) AS mx, md5(y) AS my, length(x) AS lx FROM big_packed',
    );
    const { createHash } = await import('node:crypto');
    got.forEach((r, i) => {
      expect(r.bufferId).toBe(check[i].buffer_id);
      expect(r.x.length).toBe(check[i].lx);
      expect(createHash('md5').update(r.x).digest('hex')).toBe(check[i].mx);
      expect(createHash('md5').update(r.y).digest('hex')).toBe(check[i].my);
    });
    expect(stats.bytesRead).toBeGreaterThan(1024 ** 3);
  }, 900_000);
});
