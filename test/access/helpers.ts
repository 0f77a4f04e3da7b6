// Scratch PostgreSQL instances for the direct reader's tests, and the comparison both paths must
// pass: the canonical JSON lines of --via direct and --via sql, byte for byte.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { canonicalLine } from '../../src/access/canonical.js';
import { openDirectRead, type DirectReadOptions } from '../../src/access/direct/reader.js';
import type { DirectReadStats } from '../../src/access/direct/pages.js';
import { openSqlDump } from '../../src/access/sql-dump.js';
import { startScratchInstance, type ScratchInstance, type ScratchOptions } from '../../src/access/direct/scratch.js';
import type { Instance } from '../../src/db/topology.js';

export { startScratchInstance, type ScratchInstance };

export async function scratch(options: ScratchOptions = {}): Promise<ScratchInstance> {
  return startScratchInstance(options);
}

export async function sql(instance: Instance, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({
    host: instance.host,
    port: instance.port,
    user: instance.user,
    database: instance.database,
  });
  await client.connect();
  try {
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}

export async function client(instance: Instance): Promise<pg.Client> {
  const c = new pg.Client({
    host: instance.host,
    port: instance.port,
    user: instance.user,
    database: instance.database,
  });
  await c.connect();
  c.on('error', () => undefined);
  return c;
}

export interface Dump {
  lines: string[];
  stats?: DirectReadStats;
}

export async function dumpDirect(instance: Instance, table: string, options: DirectReadOptions = {}): Promise<Dump> {
  const read = await openDirectRead(instance, table, options);
  const lines: string[] = [];
  for await (const row of read.rows()) lines.push(canonicalLine(read.columns, row));
  return { lines, stats: read.stats };
}

export async function dumpSql(instance: Instance, table: string, columns?: string[]): Promise<Dump> {
  const dump = await openSqlDump(instance, table, { columns });
  const lines: string[] = [];
  for await (const row of dump.rows()) lines.push(canonicalLine(dump.columns, row));
  return { lines };
}

/** Both paths' canonical output as one text each (for an exact comparison with a readable diff). */
export async function bothPaths(
  instance: Instance,
  table: string,
  options: DirectReadOptions = {},
): Promise<{ direct: string; sql: string; stats: DirectReadStats }> {
  const d = await dumpDirect(instance, table, options);
  const s = await dumpSql(instance, table, options.columns);
  return { direct: d.lines.join('\n'), sql: s.lines.join('\n'), stats: d.stats! };
}

/** sha256 of the canonical lines of both paths, streaming (for tables too big to hold as text). */
export async function digests(
  instance: Instance,
  table: string,
  options: DirectReadOptions = {},
): Promise<{ direct: string; sql: string; rows: number; stats: DirectReadStats }> {
  const read = await openDirectRead(instance, table, options);
  const hd = createHash('sha256');
  let rows = 0;
  for await (const row of read.rows()) {
    hd.update(canonicalLine(read.columns, row));
    hd.update('\n');
    rows++;
  }
  const dump = await openSqlDump(instance, table, { columns: options.columns });
  const hs = createHash('sha256');
  for await (const row of dump.rows()) {
    hs.update(canonicalLine(dump.columns, row));
    hs.update('\n');
  }
  return { direct: hd.digest('hex'), sql: hs.digest('hex'), rows, stats: read.stats };
}
