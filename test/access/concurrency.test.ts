// A concurrent writer: the direct reader waits for it or refuses, blocks later writers while it
// reads, and never returns a partial state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDirectRead } from '../../src/access/direct/reader.js';
import { LockTimeoutError } from '../../src/access/direct/session.js';
import type { Instance } from '../../src/db/topology.js';
import { client, dumpDirect, scratch, sql, type ScratchInstance } from './helpers.js';

let db: ScratchInstance;
let inst: Instance;

beforeAll(async () => {
  db = await scratch();
  inst = db.instance;
  await sql(inst, 'CREATE TABLE conc (batch int, i int, v text)');
  await sql(inst, "INSERT INTO conc SELECT 0, g, repeat('v', g % 300) FROM generate_series(1, 1000) g");
});

afterAll(async () => {
  await db?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function count(): Promise<number> {
  const { rows } = await sql(inst, 'SELECT count(*)::int AS n FROM conc');
  return rows[0].n;
}

describe('a concurrent writer', () => {
  it('the reader waits for an open writing transaction, then sees its committed rows', async () => {
    const writer = await client(inst);
    try {
      await writer.query('BEGIN');
      await writer.query("INSERT INTO conc SELECT 1, g, 'w' FROM generate_series(1, 100) g");
      let settled = false;
      const reading = dumpDirect(inst, 'conc').finally(() => {
        settled = true;
      });
      await sleep(700);
      expect(settled).toBe(false); // waiting for the lock, not reading a half-written table
      await writer.query('COMMIT');
      const r = await reading;
      expect(r.lines).toHaveLength(1100);
    } finally {
      await writer.end();
    }
  });

  it('with a lock timeout, the reader refuses instead of waiting', async () => {
    const writer = await client(inst);
    try {
      await writer.query('BEGIN');
      await writer.query('DELETE FROM conc WHERE batch = 1 AND i <= 10');
      await expect(dumpDirect(inst, 'conc', { lockTimeoutMs: 200 })).rejects.toThrow(LockTimeoutError);
      await writer.query('ROLLBACK');
    } finally {
      await writer.end();
    }
    // Nothing is left locked by the refused read.
    await sql(inst, "SET lock_timeout = 2000; INSERT INTO conc VALUES (9, 9, 'x'); DELETE FROM conc WHERE batch = 9");
  });

  it('a writer that starts during the read waits until the read has ended', async () => {
    const before = await count();
    const writer = await client(inst);
    let insert: Promise<unknown> | undefined;
    let writerDone = false;
    try {
      const read = await openDirectRead(inst, 'conc', {
        onLocked: async () => {
          insert = writer.query("INSERT INTO conc SELECT 2, g, 'late' FROM generate_series(1, 50) g").then(() => {
            writerDone = true;
          });
          // Wait until the server reports the writer blocked on our lock.
          for (let i = 0; i < 100; i++) {
            const { rows } = await sql(
              inst,
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' " +
                "AND query LIKE 'INSERT INTO conc%'",
            );
            if (rows[0].n > 0) return;
            await sleep(20);
          }
          throw new Error('the writer never waited for the lock');
        },
      });
      let rows = 0;
      for await (const row of read.rows()) {
        expect(row[2]).not.toBe('late');
        rows++;
        if (rows === 1) {
          await sleep(300);
          expect(writerDone).toBe(false);
        }
      }
      expect(rows).toBe(before);
      await insert;
      expect(writerDone).toBe(true);
      expect(await count()).toBe(before + 50);
    } finally {
      await insert?.catch(() => undefined);
      await writer.end();
    }
  });

  it('under a stream of writers, every read is one committed state (whole batches only)', async () => {
    let stop = false;
    const writers = [0, 1].map(async (w) => {
      const c = await client(inst);
      try {
        for (let b = 0; !stop && b < 200; b++) {
          const batch = 1000 + w * 1000 + b;
          await c.query('BEGIN');
          await c.query(`INSERT INTO conc SELECT ${batch}, g, 'batch' FROM generate_series(1, 40) g`);
          if (b % 3 === 0) await c.query(`DELETE FROM conc WHERE batch = ${batch - 1}`);
          await c.query(b % 5 === 4 ? 'ROLLBACK' : 'COMMIT');
        }
      } finally {
        await c.end();
      }
    });
    const counts: number[] = [];
    try {
      for (let r = 0; r < 8; r++) {
        const read = await openDirectRead(inst, 'conc', { columns: ['batch'] });
        const perBatch = new Map<number, number>();
        for await (const [batch] of read.rows())
          perBatch.set(batch as number, (perBatch.get(batch as number) ?? 0) + 1);
        for (const [batch, n] of perBatch) if (batch >= 1000) expect(n, `batch ${batch}`).toBe(40);
        counts.push([...perBatch.values()].reduce((a, b) => a + b, 0));
        await sleep(30);
      }
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    expect(new Set(counts).size).toBeGreaterThan(1); // the writers did run between reads
  });

  it('SHARE mode lets plain readers in and still keeps writers out', async () => {
    const read = await openDirectRead(inst, 'conc', { lockMode: 'SHARE' });
    try {
      const results = (await sql(inst, 'SET lock_timeout = 2000; SELECT count(*)::int AS n FROM conc')) as unknown as {
        rows: { n: number }[];
      }[];
      const rows = results[1].rows;
      expect(rows[0].n).toBeGreaterThan(0);
      await expect(sql(inst, "SET lock_timeout = 300; INSERT INTO conc VALUES (3, 3, 'x')")).rejects.toThrow(
        /lock timeout/,
      );
      let n = 0;
      for await (const _ of read.rows()) n++;
      expect(n).toBe(rows[0].n);
    } finally {
      await read.close();
    }
  });

  it('an abandoned read releases its locks', async () => {
    const read = await openDirectRead(inst, 'conc');
    for await (const _ of read.rows()) break; // the generator's finally releases the locks
    await sql(inst, "SET lock_timeout = 2000; INSERT INTO conc VALUES (4, 4, 'x'); DELETE FROM conc WHERE batch = 4");
    const unread = await openDirectRead(inst, 'conc');
    await unread.close(); // never iterated
    await sql(inst, "SET lock_timeout = 2000; INSERT INTO conc VALUES (4, 4, 'x'); DELETE FROM conc WHERE batch = 4");
  });
});
