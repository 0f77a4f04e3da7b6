// --via direct must equal --via sql byte for byte, on tables that exercise every rule of the
// direct reader: types, NULL bitmaps, dropped and added columns, MVCC states (deleted, updated
// HOT and not, pruned or not, aborted, locked, multixacts), every varlena form, empty tables.
// Where a test's point is a physical state (unhinted tuples, a HOT chain, a compression method),
// it first asserts that the state is really there, through pageinspect and pg_column_*.
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedDecoding } from '../../src/access/direct/lz4.js';
import { readPackedBuffers } from '../../src/access/direct/packed.js';
import { emptyStats } from '../../src/access/direct/pages.js';
import { readTableDirect } from '../../src/access/direct/reader.js';
import type { Instance } from '../../src/db/topology.js';
import { UnsupportedTypeError } from '../../src/access/direct/decode.js';
import { bothPaths, client, dumpDirect, scratch, sql, type ScratchInstance } from './helpers.js';

let db: ScratchInstance;
let inst: Instance;

beforeAll(async () => {
  db = await scratch();
  inst = db.instance;
  await sql(inst, 'CREATE EXTENSION pageinspect');
});

afterAll(async () => {
  await db?.stop();
});

async function expectSame(table: string, options: Parameters<typeof bothPaths>[2] = {}) {
  const r = await bothPaths(inst, table, options);
  expect(r.direct).toBe(r.sql);
  return r;
}

/** Line pointer states and hint bits of every tuple of a relation (pageinspect). */
async function pageItems(
  table: string,
): Promise<{ lp_flags: number; t_infomask: number | null; t_infomask2: number | null }[]> {
  const { rows } = await sql(
    inst,
    'SELECT lp_flags, t_infomask, t_infomask2 ' +
      `FROM generate_series(0, (pg_relation_size($1::regclass) / 8192)::int - 1) b,
            heap_page_items(get_raw_page($1::text, b))`,
    [table],
  );
  return rows;
}

describe('types and NULLs', () => {
  const columns = [
    ['i2', 'int2', "'-32768'", "'32767'"],
    ['i4', 'int4', "'-2147483648'", "'2147483647'"],
    ['i8', 'int8', "'-9223372036854775808'", "'9223372036854775807'"],
    ['f4', 'float4', "'NaN'", "'-1.17549435e-38'"],
    ['f8', 'float8', "'-Infinity'", "'5e-324'"],
    ['num', 'numeric', "'-123456789012345678901234567890.000000000000000000001'", "'NaN'"],
    ['n2', 'numeric(10,2)', "'0.10'", "'-99999999.99'"],
    ['t', 'text', 'E\'tab\\there "quoted" back\\\\slash\\nnewline é\'', "''"],
    ['b', 'bytea', "'\\x00ff10'", "'\\x'"],
    ['bo', 'bool', 'true', 'false'],
    ['ai', 'int4[]', "'{1,NULL,3}'", "'{}'"],
    ['at', 'text[]', `'{"a b","c\\"d",NULL,"NULL",""}'`, "'[0:1]={x,y}'"],
    ['af', 'float8[]', "'{1.5,NaN,-Infinity,-0}'", "'{{1,2},{3,4}}'"],
    ['an', 'numeric[]', "'{1.0,NaN,-0.001}'", "'{NULL}'"],
    ['ab', 'bytea[]', `'{"\\\\x01",NULL}'`, "'{}'"],
    ['abo', 'bool[]', "'{t,f,NULL}'", "'[2:3][1:1]={{t},{f}}'"],
    ['vc', 'varchar(10)', "'abc'", "''"],
    ['bc', 'char(5)', "'ab'", "''"],
    ['ch', '"char"', "'x'", "E'\\\\200'"],
    ['nm', 'name', "'a name'", "''"],
    ['u', 'uuid', "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"],
    ['d', 'date', "'2024-02-29'", "'4713-01-01 BC'"],
    ['ts', 'timestamp', "'2024-02-29 12:34:56.789'", "'infinity'"],
    ['tz', 'timestamptz', "'1999-12-31 23:59:59.5+03'", "'0001-01-01 00:00:00+00 BC'"],
    ['tm', 'time', "'12:00:01.25'", "'24:00:00'"],
    ['o', 'oid', '4000000000', '0'],
    ['js', 'json', `'{"a": [1, 2]}'`, "'null'"],
  ] as const;

  it('every common type, with a NULL in every position, matches SQL', async () => {
    await sql(inst, `CREATE TABLE types (${columns.map(([n, t]) => `${n} ${t}`).join(', ')})`);
    const lo = columns.map((c) => c[2]);
    const hi = columns.map((c) => c[3]);
    const rows: string[] = [`(${lo.join(', ')})`, `(${hi.join(', ')})`, `(${columns.map(() => 'NULL').join(', ')})`];
    // Each column NULL alone, and each column the only non-NULL: every null-bitmap position.
    columns.forEach((_, i) => {
      rows.push(`(${lo.map((v, j) => (j === i ? 'NULL' : v)).join(', ')})`);
      rows.push(`(${hi.map((v, j) => (j === i ? v : 'NULL')).join(', ')})`);
    });
    await sql(inst, `INSERT INTO types VALUES ${rows.join(',\n')}`);
    // Floats: many random values, both widths, through both paths.
    await sql(
      inst,
      `INSERT INTO types (f4, f8, num, i8) SELECT (random() - 0.5) * 10 ^ (random() * 60 - 30), ` +
        `(random() - 0.5) * 10 ^ (random() * 600 - 300),
              round(((random() - 0.5) * 10 ^ (random() * 40 - 20))::numeric, (random() * 30)::int), ` +
        `(random() * 9e18)::int8
         FROM generate_series(1, 3000)`,
    );
    const r = await expectSame('types');
    expect(r.stats.tuples).toBe(rows.length + 3000);
    // Spot checks of the canonical form itself.
    const first = JSON.parse(r.direct.split('\n')[0]);
    expect(first.i8).toBe('-9223372036854775808');
    expect(first.b).toBe('\\x00ff10');
    expect(first.at).toEqual(['a b', 'c"d', null, 'NULL', '']);
    expect(first.af).toEqual([1.5, 'NaN', '-Infinity', -0]);
    const second = JSON.parse(r.direct.split('\n')[1]);
    expect(second.at).toEqual({ lower: [0], values: ['x', 'y'] });
    expect(second.num).toBe('NaN');
  });

  it('a table wider than 8 columns with NULLs in every bitmap byte', async () => {
    const n = 40;
    const wideColumns = Array.from(
      { length: n },
      (_, i) => `c${i} ${i % 3 === 0 ? 'text' : i % 3 === 1 ? 'int8' : 'int2'}`,
    );
    await sql(inst, `CREATE TABLE wide (${wideColumns.join(', ')})`);
    const valueSql = (i: number): string =>
      i % 3 === 0 ? `repeat('x', g % 200)` : i % 3 === 1 ? 'g::int8 * 1000000007' : '(g % 30000)::int2';
    const values = Array.from(
      { length: n },
      (_, i) => `CASE WHEN (g >> ${i % 20}) & 1 = 1 THEN NULL ELSE ${valueSql(i)} END`,
    );
    await sql(
      inst,
      `INSERT INTO wide SELECT ${values.join(', ')}
         FROM generate_series(1, 2000) g`,
    );
    await expectSame('wide');
  });

  it('the columns option returns those columns in that order', async () => {
    await sql(inst, 'CREATE TABLE pick (a int, b text, c bytea, d float8)');
    await sql(inst, "INSERT INTO pick VALUES (1, 'one', '\\x01', 1.5), (2, NULL, NULL, 2.5)");
    await expectSame('pick', { columns: ['d', 'b', 'a'] });
    const rows = [];
    for await (const row of readTableDirect(inst, 'pick', { columns: ['d', 'a'] })) rows.push(row);
    expect(rows).toEqual([
      { d: 1.5, a: 1 },
      { d: 2.5, a: 2 },
    ]);
    expect(Object.keys(rows[0])).toEqual(['d', 'a']);
  });
});

describe('schema changes', () => {
  it('dropped columns (fixed and variable width, middle and last) are skipped', async () => {
    await sql(inst, 'CREATE TABLE dropped (a int, b text, c int8, d bytea, e int2, f text)');
    await sql(
      inst,
      "INSERT INTO dropped SELECT g, repeat('b', g % 50), g * 7, '\\xabcd', g % 100, 'f' || g " +
        'FROM generate_series(1, 500) g',
    );
    await sql(inst, 'ALTER TABLE dropped DROP COLUMN b, DROP COLUMN c, DROP COLUMN f');
    await sql(inst, "INSERT INTO dropped VALUES (1000, '\\x00', 5)");
    const r = await expectSame('dropped');
    expect(JSON.parse(r.direct.split('\n')[0])).toEqual({ a: 1, d: '\\xabcd', e: 1 });
  });

  it('columns added later take their default from attmissingval in older rows', async () => {
    await sql(inst, 'CREATE TABLE added (a int)');
    await sql(inst, 'INSERT INTO added SELECT g FROM generate_series(1, 300) g');
    await sql(
      inst,
      `ALTER TABLE added ADD COLUMN b int DEFAULT 42, ADD COLUMN c text DEFAULT 'hello "world"', ` +
        `ADD COLUMN d numeric DEFAULT 1.50,
         ADD COLUMN e int4[] DEFAULT '{1,2}', ADD COLUMN f float4 DEFAULT 0.1, ADD COLUMN g bytea DEFAULT '\\x0102',
         ADD COLUMN h timestamptz DEFAULT '2020-01-01 00:00:00+00', ADD COLUMN i int, ADD COLUMN j text DEFAULT NULL`,
    );
    await sql(inst, "INSERT INTO added VALUES (1000, 1, 'new', 2.5, '{3}', 1.5, '\\xff', '2021-01-01', 7, 'j')");
    const { rows } = await sql(
      inst,
      "SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'added'::regclass AND atthasmissing",
    );
    expect(rows[0].n).toBe(7);
    const r = await expectSame('added');
    expect(JSON.parse(r.direct.split('\n')[0])).toMatchObject({
      a: 1,
      b: 42,
      c: 'hello "world"',
      d: '1.50',
      e: [1, 2],
      f: 0.1,
      g: '\\x0102',
      i: null,
      j: null,
    });
  });
});

describe('visibility', () => {
  it('deleted, updated (HOT and not) and aborted rows, before any pruning or hint bits', async () => {
    const c = await client(inst);
    try {
      await c.query('CREATE TABLE mv (id int PRIMARY KEY, v text, w int)');
      await c.query("INSERT INTO mv SELECT g, 'v' || g, g FROM generate_series(1, 3000) g");
      await c.query('CHECKPOINT');
      await c.query('VACUUM FREEZE mv'); // start from frozen rows; everything after is unhinted
      await c.query('DELETE FROM mv WHERE id % 10 = 0');
      await c.query('UPDATE mv SET w = w + 1 WHERE id % 10 = 1'); // HOT: w is not indexed
      await c.query('UPDATE mv SET id = id + 100000 WHERE id % 10 = 2'); // not HOT: the key changes
      await c.query("BEGIN; INSERT INTO mv SELECT g, 'aborted', 0 FROM generate_series(200001, 200300) g; ROLLBACK");
      await c.query('BEGIN; DELETE FROM mv WHERE id % 10 = 3; ROLLBACK'); // xmax aborted
      await c.query("BEGIN; UPDATE mv SET v = 'never' WHERE id % 10 = 4; ROLLBACK");
      await c.query(
        "BEGIN; SAVEPOINT s; INSERT INTO mv VALUES (300001, 'sub-aborted', 0); ROLLBACK TO s; INSERT INTO mv VALUES " +
          "(300002, 'kept', 0); COMMIT",
      );
    } finally {
      await c.end();
    }
    // The state is what the test claims: HOT chains not yet pruned (a HOT-updated tuple still
    // there, its heap-only successor beside it), and many tuples without hint bits.
    const before = await pageItems('mv');
    expect(before.some((i) => i.lp_flags === 1 && (i.t_infomask2! & 0x4000) !== 0)).toBe(true); // HEAP_HOT_UPDATED
    expect(before.some((i) => (i.t_infomask2! & 0x8000) !== 0)).toBe(true); // HEAP_ONLY_TUPLE
    expect(before.filter((i) => i.lp_flags === 1 && (i.t_infomask! & 0x0300) === 0).length).toBeGreaterThan(100);
    // Direct first: it must decide from pg_xact (nothing has hinted the new tuples).
    const r = await expectSame('mv');
    expect(r.stats.clogLookups).toBeGreaterThan(0);
    expect(r.stats.invisibleTuples).toBeGreaterThan(0);
    expect(r.direct.split('\n')).toHaveLength(3000 - 300 + 1);
    expect(r.direct).not.toContain('aborted');
    expect(r.direct).not.toContain('never');
    expect(r.direct).toContain('kept');
  });

  it('the same table after pruning and VACUUM (redirect, dead and unused line pointers)', async () => {
    await sql(inst, 'SELECT count(*) FROM mv'); // sets hint bits, may prune
    await sql(inst, 'UPDATE mv SET w = w + 1 WHERE id % 10 = 5'); // more HOT chains
    await sql(inst, 'VACUUM mv');
    await sql(inst, 'UPDATE mv SET w = w + 1 WHERE id % 10 = 6');
    await sql(inst, 'SELECT count(*) FROM mv');
    const after = await pageItems('mv');
    expect(after.some((i) => i.lp_flags === 2)).toBe(true); // LP_REDIRECT
    expect(after.some((i) => i.lp_flags === 0 || i.lp_flags === 3)).toBe(true); // LP_UNUSED / LP_DEAD
    await expectSame('mv');
  });

  it('row locks and multixacts: lockers do not delete, an updating member does', async () => {
    await sql(inst, 'CREATE TABLE locks (id int PRIMARY KEY, v int)');
    await sql(inst, 'INSERT INTO locks SELECT g, g FROM generate_series(1, 100) g');
    await sql(inst, 'VACUUM FREEZE locks');
    const a = await client(inst);
    const b = await client(inst);
    try {
      await a.query('BEGIN; SELECT * FROM locks WHERE id <= 10 FOR UPDATE; COMMIT'); // lock-only xmax, committed
      await a.query('BEGIN');
      await a.query('SELECT * FROM locks WHERE id BETWEEN 11 AND 20 FOR SHARE');
      await b.query('BEGIN');
      await b.query('SELECT * FROM locks WHERE id BETWEEN 11 AND 30 FOR SHARE'); // 11..20: a multixact of two lockers
      await a.query('COMMIT');
      await b.query('COMMIT');
      await a.query('BEGIN');
      await a.query('SELECT * FROM locks WHERE id BETWEEN 31 AND 40 FOR KEY SHARE');
      await b.query('BEGIN');
      await b.query('UPDATE locks SET v = -v WHERE id BETWEEN 31 AND 40'); // multixact with an updating member
      await b.query('COMMIT');
      await a.query('COMMIT');
      await a.query('BEGIN');
      await a.query('SELECT * FROM locks WHERE id BETWEEN 41 AND 50 FOR KEY SHARE');
      await b.query('BEGIN');
      await b.query('UPDATE locks SET v = 1000 WHERE id BETWEEN 41 AND 50'); // updater aborts
      await b.query('ROLLBACK');
      await a.query('COMMIT');
    } finally {
      await a.end();
      await b.end();
    }
    const items = await pageItems('locks');
    expect(items.some((i) => (i.t_infomask! & 0x1000) !== 0)).toBe(true); // HEAP_XMAX_IS_MULTI
    const r = await expectSame('locks');
    expect(r.direct).toContain('"v":-31');
    expect(r.direct).not.toContain('1000');
    expect(r.direct.split('\n')).toHaveLength(100);
  });
});

describe('varlena forms and TOAST', () => {
  it('pglz and lz4, out of line and inline, compressed and not', async () => {
    await sql(
      inst,
      `CREATE TABLE toasty (id int, p text COMPRESSION pglz, l text COMPRESSION lz4, e bytea, ` +
        `pb bytea COMPRESSION pglz, lb bytea COMPRESSION lz4, s text)`,
    );
    await sql(inst, 'ALTER TABLE toasty ALTER COLUMN e SET STORAGE EXTERNAL');
    // Half-compressible text: each random 32-char block twice -> about 50%, still > 2 kB: external and compressed.
    await sql(
      inst,
      `INSERT INTO toasty
       SELECT g,
              (SELECT string_agg(repeat(md5(g::text || x::text), 2), '') FROM generate_series(1, 300) x),
              (SELECT string_agg(repeat(md5(x::text || g::text), 2), '') FROM generate_series(1, 300) x),
              decode((SELECT string_agg(md5(g::text || x::text), '') FROM generate_series(1, 200) x), 'hex'),
              decode(repeat('0102030405', 1000), 'hex'),
              decode(repeat('0a0b', 3000), 'hex'),
              'short ' || g
         FROM generate_series(1, 40) g`,
    );
    // Random (incompressible) text over 2 kB: external, not compressed.
    await sql(
      inst,
      `INSERT INTO toasty (id, p) SELECT 100 + g, (SELECT string_agg(md5(random()::text), '') ` +
        `FROM generate_series(1, 200)) FROM generate_series(1, 3) g`,
    );
    const { rows } = await sql(
      inst,
      `SELECT id, pg_column_compression(p) AS pc, pg_column_size(p) AS ps, pg_column_compression(l) AS lc, ` +
        `pg_column_size(l) AS ls,
              pg_column_size(e) AS es, pg_column_compression(pb) AS pbc, pg_column_size(pb) AS pbs, ` +
        `pg_column_compression(lb) AS lbc, pg_column_size(lb) AS lbs
         FROM toasty WHERE id IN (1, 101)`,
    );
    const [one, random] = rows;
    expect(one.pc).toBe('pglz');
    expect(one.ps).toBeGreaterThan(2100); // compressed, yet out of line
    expect(one.lc).toBe('lz4');
    expect(one.ls).toBeGreaterThan(2100);
    expect(one.es).toBe(3200); // EXTERNAL: out of line, never compressed
    expect(one.pbc).toBe('pglz');
    expect(one.pbs).toBeLessThan(2000); // compressed inline
    expect(one.lbc).toBe('lz4');
    expect(one.lbs).toBeLessThan(2000);
    expect(random.pc).toBeNull();
    expect(random.ps).toBe(6400);
    const r = await expectSame('toasty');
    expect(r.stats.toastValues).toBe(40 * 3 + 3);
    expect(r.stats.compressedValues).toBeGreaterThanOrEqual(40 * 4);
  });

  it('deleted and updated TOASTed values leave dead chunks the reader ignores', async () => {
    await sql(inst, 'DELETE FROM toasty WHERE id % 3 = 0');
    await sql(inst, "UPDATE toasty SET l = repeat('new value ', 500) || id WHERE id % 3 = 1");
    await expectSame('toasty');
  });

  it('an empty table, and a table emptied by TRUNCATE', async () => {
    await sql(inst, 'CREATE TABLE empty (a int, b text)');
    let r = await expectSame('empty');
    expect(r.direct).toBe('');
    expect(r.stats.heapPages).toBe(0);
    await sql(
      inst,
      "CREATE TABLE truncated (a int, b text); INSERT INTO truncated SELECT g, repeat('x', 3000) " +
        'FROM generate_series(1, 100) g; TRUNCATE truncated',
    );
    r = await expectSame('truncated');
    expect(r.direct).toBe('');
  });
});

describe('partitioned tables and the packed layout', () => {
  it('a partitioned table is read partition by partition', async () => {
    await sql(inst, 'CREATE TABLE parted (seg int NOT NULL, v text) PARTITION BY LIST (seg)');
    for (let i = 0; i < 3; i++) await sql(inst, `CREATE TABLE parted_s${i} PARTITION OF parted FOR VALUES IN (${i})`);
    await sql(inst, "INSERT INTO parted SELECT g % 3, 'row ' || g FROM generate_series(1, 300) g");
    const r = await expectSame('parted');
    expect(r.direct.split('\n')).toHaveLength(300);
  });

  it('readPackedBuffers returns exactly the bytes SELECT returns (in place, by copy, inline values)', async () => {
    await sql(inst, 'CREATE TABLE packed (seg int NOT NULL, buffer_id int NOT NULL, n int NOT NULL, x bytea, y bytea)');
    await sql(inst, 'ALTER TABLE packed ALTER COLUMN x SET STORAGE EXTERNAL, ALTER COLUMN y SET STORAGE EXTERNAL');
    await sql(
      inst,
      `INSERT INTO packed SELECT 0, g, 10 * g, decode((SELECT string_agg(md5(g::text || x::text), '') ` +
        `FROM generate_series(1, 40 * g) x), 'hex'),
              decode(repeat('01000000', 10 * g), 'hex') FROM generate_series(1, 60) g`,
    );
    await sql(inst, "INSERT INTO packed VALUES (0, 1000, 1, '\\x0000803f', '\\x01000000')"); // inline, tiny
    await sql(inst, 'DELETE FROM packed WHERE buffer_id % 7 = 0');
    const { rows: expected } = await sql(inst, 'SELECT seg, buffer_id, n, x, y FROM packed');
    for (const inPlace of [true, false]) {
      const stats = emptyStats();
      const got = await readPackedBuffers(inst, 'packed', { inPlace, stats });
      expect(got.map((r) => r.bufferId)).toEqual(expected.map((r) => r.buffer_id));
      got.forEach((r, i) => {
        expect(r.n).toBe(expected[i].n);
        expect(r.x.equals(expected[i].x)).toBe(true);
        expect(r.y.equals(expected[i].y)).toBe(true);
      });
      expect(stats.tuples).toBe(expected.length);
      expect(stats.toastValues).toBeGreaterThan(0);
      expect(inPlace ? stats.inPlaceAssemblies : stats.copyAssemblies).toBe(1);
    }
    // Values written into the holes VACUUM left: chunks stored ahead of where they belong, which
    // in-place assembly copies aside and places last.
    await sql(inst, 'VACUUM packed');
    await sql(
      inst,
      `INSERT INTO packed SELECT 0, 2000 + g, g, decode((SELECT string_agg(md5(g::text || x::text || 'h'), '') ` +
        `FROM generate_series(1, 500) x), 'hex'),
              decode(repeat('02000000', g), 'hex') FROM generate_series(1, 12) g`,
    );
    const { rows: expected2 } = await sql(inst, 'SELECT buffer_id, x, y FROM packed');
    const stats2 = emptyStats();
    const holes = await readPackedBuffers(inst, 'packed', { stats: stats2 });
    expect(holes.map((r) => r.bufferId)).toEqual(expected2.map((r) => r.buffer_id));
    holes.forEach((r, i) => {
      expect(r.x.equals(expected2[i].x) && r.y.equals(expected2[i].y)).toBe(true);
    });
    expect(stats2.inPlaceAssemblies).toBe(1);
    expect(stats2.stashedChunkBytes).toBeGreaterThan(0);
    // Compressed variants.
    await sql(
      inst,
      'CREATE TABLE packed_lz4 (seg int NOT NULL, buffer_id int NOT NULL, n int NOT NULL, x bytea COMPRESSION lz4, ' +
        'y bytea COMPRESSION pglz)',
    );
    await sql(
      inst,
      "INSERT INTO packed_lz4 SELECT 0, g, 1000, decode(repeat('0000803f00000000', 4000 + g), 'hex'), " +
        "decode(repeat('01000000', 1000), 'hex') FROM generate_series(1, 20) g",
    );
    const { rows: exp2 } = await sql(inst, 'SELECT x, y FROM packed_lz4');
    const got2 = await readPackedBuffers(inst, 'packed_lz4');
    expect(got2).toHaveLength(20);
    got2.forEach((r, i) => {
      expect(r.x.equals(exp2[i].x)).toBe(true);
      expect(r.y.equals(exp2[i].y)).toBe(true);
    });
  });
});

describe('what the reader refuses, with a reason', () => {
  it('an UNLOGGED table (CHECKPOINT does not write its pages)', async () => {
    await sql(inst, 'CREATE UNLOGGED TABLE nolog (a int); INSERT INTO nolog VALUES (1)');
    await expect(dumpDirect(inst, 'nolog')).rejects.toThrow(/UNLOGGED/);
  });

  it('a type it does not decode, unless the column is left out', async () => {
    await sql(inst, "CREATE TABLE odd (a int, i interval, b text); INSERT INTO odd VALUES (1, '1 day', 'x')");
    await expect(dumpDirect(inst, 'odd')).rejects.toThrow(UnsupportedTypeError);
    await expectSame('odd', { columns: ['a', 'b'] });
  });

  it('a table that does not exist', async () => {
    await expect(dumpDirect(inst, 'no_such_table')).rejects.toThrow(/does not exist/);
  });

  const PACKED_XY = 'x bytea, y bytea';

  /** Overwrite the first 64 bytes of the compressed stream of the table's last stored value, server stopped. */
  async function corruptLastValue(table: string): Promise<void> {
    const { rows: meta } = await sql(
      inst,
      `SELECT current_setting('data_directory') || '/' || pg_relation_filepath(reltoastrelid) AS file,
              reltoastrelid::regclass::text AS toast
         FROM pg_class WHERE oid = '${table}'::regclass`,
    );
    const { rows: at } = await sql(
      inst,
      `SELECT (ctid::text::point)[0]::int AS block, (ctid::text::point)[1]::int AS item FROM ${meta[0].toast}
        WHERE chunk_id = (SELECT max(chunk_id) FROM ${meta[0].toast}) AND chunk_seq = 0`,
    );
    const { rows: items } = await sql(inst, 'SELECT lp, lp_off, t_hoff FROM heap_page_items(get_raw_page($1, $2))', [
      meta[0].toast,
      at[0].block,
    ]);
    const chunk = items.find((r) => r.lp === at[0].item)!;
    // After chunk_id, chunk_seq, the varlena header and va_tcinfo.
    const streamAt = at[0].block * 8192 + chunk.lp_off + chunk.t_hoff + 8 + 4 + 4;
    await db.restart(async () => {
      const file = await open(meta[0].file, 'r+');
      try {
        await file.write(Buffer.alloc(64, 0xff), 0, 64, streamAt);
      } finally {
        await file.close();
      }
    });
  }

  it('a corrupt compressed value (lz4 or pglz) is an error naming the table and the value, never data', async () => {
    for (const method of ['lz4', 'pglz']) {
      const table = `corrupt_${method}`;
      await sql(inst, `CREATE TABLE ${table} (seg int NOT NULL, buffer_id int NOT NULL, n int NOT NULL, ${PACKED_XY})`);
      await sql(inst, `ALTER TABLE ${table} ALTER COLUMN x SET COMPRESSION ${method}`);
      // Each 16 random bytes twice: compresses to about half, still out of line.
      await sql(
        inst,
        `INSERT INTO ${table} VALUES (0, 1, 1,
           decode((SELECT string_agg(repeat(md5(x::text), 2), '') FROM generate_series(1, 300) x), 'hex'),
           '\\x01000000');
         CHECKPOINT`,
      );
      const { rows } = await sql(inst, `SELECT pg_column_compression(x) AS method FROM ${table}`);
      expect(rows[0].method).toBe(method);
      await corruptLastValue(table);
      // The row reader names the TOAST relation, the packed reader the table.
      const named = new RegExp(`${table}( \\(TOAST\\))?:? (TOAST )?value \\d+ is corrupt: ${method}`);
      await expect(dumpDirect(inst, table)).rejects.toThrow(named);
      await expect(readPackedBuffers(inst, table)).rejects.toThrow(named);
      await expect(readPackedBuffers(inst, table, { inPlace: false })).rejects.toThrow(named);
    }
  });

  it('lz4 values decoded by helper threads: the same bytes as SELECT, and a corrupt one named', async () => {
    const table = 'lz4_threads';
    await sql(inst, `CREATE TABLE ${table} (seg int NOT NULL, buffer_id int NOT NULL, n int NOT NULL, ${PACKED_XY})`);
    await sql(inst, `ALTER TABLE ${table} ALTER COLUMN x SET COMPRESSION lz4, ALTER COLUMN y SET COMPRESSION lz4`);
    // 40 values of 300 kB (12 MB, over the helper threshold), each compressible to about half.
    await sql(
      inst,
      `INSERT INTO ${table}
       SELECT 0, g, 1,
              decode((SELECT string_agg(repeat(md5(g::text || x::text), 2), '')
                        FROM generate_series(1, 9400) x), 'hex'),
              '\\x01000000'
         FROM generate_series(1, 40) g`,
    );
    const { rows: expected } = await sql(inst, `SELECT x FROM ${table} ORDER BY buffer_id`);
    for (const inPlace of [true, false]) {
      const stats = emptyStats();
      const got = (await readPackedBuffers(inst, table, { inPlace, stats })).sort((a, b) => a.bufferId - b.bufferId);
      expect(got).toHaveLength(40);
      got.forEach((r, i) => {
        expect(r.x.equals(expected[i].x)).toBe(true);
      });
      expect(stats.compressedValues).toBe(40);
      expect(stats.decodeThreads).toBe(sharedDecoding() ? Math.min(4, availableParallelism()) : 1);
    }
    // The last value is in a helper's share, when there are helpers (this thread decodes the first).
    await corruptLastValue(table);
    const named = new RegExp(`${table}: TOAST value \\d+ is corrupt: lz4: malformed`);
    await expect(readPackedBuffers(inst, table)).rejects.toThrow(named);
  });
});
