// Unit tests of the direct reader's format pieces: the decompressors on crafted and generated
// streams (including corrupt ones), page checksums against a cluster that writes them, and the
// canonical float form.
import { open, readFile } from 'node:fs/promises';
import lz4 from 'lz4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floatJson, parseArrayLiteral } from '../../src/access/canonical.js';
import { pageChecksum } from '../../src/access/direct/checksum.js';
import { numericOut } from '../../src/access/direct/decode.js';
import { toastMaxChunkSize } from '../../src/access/direct/format.js';
import { lz4DecompressBlock } from '../../src/access/direct/lz4.js';
import { CompressionError, pglzDecompress } from '../../src/access/direct/pglz.js';
import { readPackedBuffers } from '../../src/access/direct/packed.js';
import { bothPaths, dumpDirect, scratch, sql, type ScratchInstance } from './helpers.js';

function pglz(stream: number[], rawSize: number): Buffer {
  const src = Buffer.from(stream);
  const out = Buffer.alloc(rawSize);
  pglzDecompress(src, 0, src.length, out, 0, rawSize);
  return out;
}

describe('pglz', () => {
  it('literals, a match, an overlapping run and an extended length', () => {
    // ctrl 0b00000000: 8 literals
    expect(pglz([0x00, ...Buffer.from('abcdefgh')], 8).toString()).toBe('abcdefgh');
    // 'abc' then a tag copying 3 bytes from offset 3 -> 'abcabc'; ctrl bit 3 set (4th item).
    expect(pglz([0b1000, 0x61, 0x62, 0x63, 0x00, 0x03], 6).toString()).toBe('abcabc');
    // 'a' then a run: offset 1, length 10 -> 'a' * 11.
    expect(pglz([0b10, 0x61, 0x07, 0x01], 11).toString()).toBe('a'.repeat(11));
    // Extended length: nibble 15 -> 18 + 100 = 118 bytes of 'xy' pattern.
    expect(pglz([0b100, 0x78, 0x79, 0x0f, 0x02, 100], 120).toString()).toBe('xy'.repeat(60));
  });

  it('equals a byte-by-byte reference on random valid streams (every copy length and offset class)', () => {
    let state = 99;
    const random = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    for (let trial = 0; trial < 200; trial++) {
      const stream: number[] = [];
      const expected: number[] = [];
      while (expected.length < 3000) {
        let ctrl = 0;
        const items: number[][] = [];
        for (let c = 0; c < 8; c++) {
          if (expected.length > 0 && random(3) > 0) {
            const off = 1 + random(Math.min(expected.length, [7, 60, 4095][random(3)]));
            const len = 3 + random([5, 15, 60, 271][random(4)]);
            const high = (off >> 8) << 4;
            items.push(len >= 18 ? [high | 15, off & 0xff, len - 18] : [high | (len - 3), off & 0xff]);
            ctrl |= 1 << c;
            for (let i = 0; i < len; i++) expected.push(expected[expected.length - off]);
          } else {
            const b = random(256);
            items.push([b]);
            expected.push(b);
          }
        }
        stream.push(ctrl, ...items.flat());
      }
      expect(pglz(stream, expected.length).equals(Buffer.from(expected))).toBe(true);
    }
  });

  it('rejects corrupt streams instead of returning garbage', () => {
    expect(() => pglz([0b1, 0x00, 0x05], 3)).toThrow(CompressionError); // offset before the start
    expect(() => pglz([0x00, 0x61], 2)).toThrow(CompressionError); // too short
    expect(() => pglz([0x00, 0x61, 0x62, 0x63], 2)).toThrow(CompressionError); // input left over
  });
});

describe('lz4 block decoder', () => {
  /** A block as PostgreSQL writes it: LZ4_compress_default (the reference library's, through the lz4 package). */
  function lz4Block(raw: Buffer): Buffer {
    const dst = Buffer.alloc(lz4.encodeBound(raw.length));
    const n = lz4.encodeBlock(raw, dst);
    expect(n).toBeGreaterThan(0);
    return dst.subarray(0, n);
  }

  const kinds = [
    Buffer.from('hello hello hello hello hello hello'),
    Buffer.alloc(100000, 7),
    Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 2654435761) >>> 24)), // incompressible
    Buffer.from(new Float32Array(Array.from({ length: 20000 }, (_, i) => (i % 17 === 0 ? 1 : 0))).buffer),
  ];

  it('decodes what LZ4_compress_default wrote, into the middle of a larger buffer, touching nothing else', () => {
    for (const raw of kinds) {
      const block = lz4Block(raw);
      const src = Buffer.concat([Buffer.alloc(13, 0xee), block, Buffer.alloc(5, 0xee)]);
      const dest = Buffer.alloc(raw.length + 40, 0xaa);
      lz4DecompressBlock(src, 13, 13 + block.length, dest, 17, raw.length);
      expect(dest.subarray(17, 17 + raw.length).equals(raw)).toBe(true);
      expect(dest.subarray(0, 17).every((b) => b === 0xaa)).toBe(true);
      expect(dest.subarray(17 + raw.length).every((b) => b === 0xaa)).toBe(true);
    }
  });

  it('rejects a match that reaches before the output', () => {
    // token: 1 literal, match nibble 0; literal 'a'; offset 5 (beyond the 1 byte written).
    const src = Buffer.from([0x10, 0x61, 0x05, 0x00, 0x00]);
    expect(() => lz4DecompressBlock(src, 0, src.length - 1, Buffer.alloc(10), 0, 5)).toThrow(CompressionError);
  });

  it('rejects a wrong raw size, a truncated block, and bounds outside the buffers', () => {
    const raw = kinds[3];
    const block = lz4Block(raw);
    const out = Buffer.alloc(raw.length + 1);
    expect(() => lz4DecompressBlock(block, 0, block.length, out, 0, raw.length + 1)).toThrow(/expected|malformed/);
    expect(() => lz4DecompressBlock(block, 0, block.length, out, 0, raw.length - 1)).toThrow(CompressionError);
    for (const cut of [1, 7, block.length >> 1, block.length - 1]) {
      expect(() => lz4DecompressBlock(block, 0, cut, out, 0, raw.length)).toThrow(CompressionError);
    }
    expect(() => lz4DecompressBlock(block, 0, block.length + 1, out, 0, raw.length)).toThrow(/buffer bounds/);
    expect(() => lz4DecompressBlock(block, 5, 4, out, 0, raw.length)).toThrow(/buffer bounds/);
    expect(() => lz4DecompressBlock(block, 0, block.length, out, 2, raw.length)).toThrow(/buffer bounds/);
    expect(() => lz4DecompressBlock(block, -1, block.length, out, 0, raw.length)).toThrow(/buffer bounds/);
  });

  it('a corrupted block is an error or exactly raw-size bytes, never a write outside its window', () => {
    const raw = kinds[3];
    const block = lz4Block(raw);
    let state = 12345;
    const random = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    let rejected = 0;
    for (let trial = 0; trial < 500; trial++) {
      const bad = Buffer.from(block);
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) bad[Math.floor(random() * bad.length)] = Math.floor(random() * 256);
      const dest = Buffer.alloc(raw.length + 64, 0x55);
      try {
        lz4DecompressBlock(bad, 0, bad.length, dest, 32, raw.length);
      } catch (error) {
        expect(error).toBeInstanceOf(CompressionError);
        rejected++;
      }
      expect(dest.subarray(0, 32).every((b) => b === 0x55)).toBe(true);
      expect(dest.subarray(32 + raw.length).every((b) => b === 0x55)).toBe(true);
    }
    expect(rejected).toBeGreaterThan(100);
  });
});

describe('values', () => {
  it('numeric output from the on-disk forms', () => {
    const short = (sign: number, dscale: number, weight: number, digits: number[]) => {
      const b = Buffer.alloc(2 + digits.length * 2);
      b.writeUInt16LE(0x8000 | (sign ? 0x2000 : 0) | (dscale << 7) | (weight < 0 ? 0x40 | (weight & 0x3f) : weight), 0);
      digits.forEach((d, i) => {
        b.writeInt16LE(d, 2 + 2 * i);
      });
      return b;
    };
    expect(numericOut(short(0, 2, 0, [1, 5000]))).toBe('1.50');
    expect(numericOut(short(1, 3, -1, [10]))).toBe('-0.001');
    expect(numericOut(short(0, 0, 1, [12, 3456]))).toBe('123456');
    expect(numericOut(short(0, 0, 2, [1]))).toBe('100000000');
    expect(numericOut(Buffer.from([0x00, 0xc0]))).toBe('NaN');
    expect(numericOut(Buffer.from([0x00, 0xd0]))).toBe('Infinity');
    expect(numericOut(Buffer.from([0x00, 0xf0]))).toBe('-Infinity');
  });

  it('the canonical float form', () => {
    expect(floatJson(0.1, false)).toBe('0.1');
    expect(floatJson(Math.fround(0.1), true)).toBe('0.1');
    expect(floatJson(-0, false)).toBe('-0');
    expect(floatJson(NaN, true)).toBe('"NaN"');
    expect(floatJson(-Infinity, false)).toBe('"-Infinity"');
    expect(floatJson(1e21, false)).toBe('1e+21');
    expect(floatJson(Math.fround(3.4028235e38), true)).toBe('3.4028235e+38');
  });

  it('array literals', () => {
    const int4 = { oid: 23, name: 'int4', len: 4, byval: true, align: 'i' };
    expect(parseArrayLiteral(int4, '{1,NULL,3}')).toEqual([1, null, 3]);
    expect(parseArrayLiteral(int4, '{{1,2},{3,4}}')).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(parseArrayLiteral(int4, '[0:1]={5,6}')).toEqual({ lower: [0], values: [5, 6] });
    expect(parseArrayLiteral({ ...int4, name: 'text', len: -1 }, '{"a,b","c\\"d",NULL,"NULL"}')).toEqual([
      'a,b',
      'c"d',
      null,
      'NULL',
    ]);
  });

  it('TOAST chunk size for 8 kB pages', () => {
    expect(toastMaxChunkSize(8192)).toBe(1996);
  });
});

describe('data checksums', () => {
  let db: ScratchInstance;

  beforeAll(async () => {
    db = await scratch({ checksums: true });
  });

  afterAll(async () => {
    await db?.stop();
  });

  it('computes the checksum PostgreSQL stored on every page, and reads a checksummed cluster', async () => {
    await sql(
      db.instance,
      'CREATE TABLE ck (a int, b text); ' +
        "INSERT INTO ck SELECT g, repeat('c', g % 500) FROM generate_series(1, 20000) g; CHECKPOINT",
    );
    const { rows } = await sql(
      db.instance,
      "SELECT current_setting('data_directory') || '/' || pg_relation_filepath('ck') AS path",
    );
    const file = await readFile(rows[0].path);
    const blocks = file.length / 8192;
    expect(blocks).toBeGreaterThan(100);
    for (let b = 0; b < blocks; b++)
      expect(pageChecksum(file, b * 8192, 8192, b)).toBe(file.readUInt16LE(b * 8192 + 8));
    const r = await bothPaths(db.instance, 'ck');
    expect(r.direct).toBe(r.sql);
    expect(r.stats.checksumRetries).toBe(0);
  });

  it('reads a packed table on the fast path with checksums verified', async () => {
    await sql(
      db.instance,
      `CREATE TABLE ckp (seg int NOT NULL, buffer_id int NOT NULL, n int NOT NULL, x bytea, y bytea);
       ALTER TABLE ckp ALTER COLUMN x SET STORAGE EXTERNAL, ALTER COLUMN y SET STORAGE EXTERNAL;
       INSERT INTO ckp SELECT 0, g, 1, decode(repeat(md5(g::text), 300), 'hex'), decode(repeat('00', 3000), 'hex') ` +
        `FROM generate_series(1, 50) g`,
    );
    await sql(db.instance, 'VACUUM FREEZE ckp');
    const { rows } = await sql(db.instance, 'SELECT x FROM ckp');
    const got = await readPackedBuffers(db.instance, 'ckp');
    expect(got.map((r) => r.x.toString('hex'))).toEqual(rows.map((r) => r.x.toString('hex')));
  });

  it('a corrupt page is an error, never data', async () => {
    await sql(
      db.instance,
      'CREATE TABLE bad (a int, b text); ' +
        "INSERT INTO bad SELECT g, 'row ' || g FROM generate_series(1, 2000) g; CHECKPOINT",
    );
    const { rows } = await sql(
      db.instance,
      "SELECT current_setting('data_directory') || '/' || pg_relation_filepath('bad') AS path",
    );
    await db.restart(async () => {
      const file = await open(rows[0].path, 'r+');
      try {
        await file.write(Buffer.from('X'), 0, 1, 8192 * 3 + 5000); // one byte inside a tuple of block 3
      } finally {
        await file.close();
      }
    });
    await expect(dumpDirect(db.instance, 'bad')).rejects.toThrow(/block 3: checksum/);
  });
});
