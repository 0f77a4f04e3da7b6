// The SQL path of `bench inspect`: the same rows as the direct reader, in the same canonical form,
// obtained by SELECT. Each relation that holds rows is read on the instance that stores it
// (a partitioned table's partitions one after another, postgres_fdw partitions on their segment
// instances), with a plain sequential scan (no parallel workers, no synchronized scans), so that
// rows come in physical order as the direct reader returns them.
//
// COPY (SELECT <columns> FROM ONLY <relation>) TO STDOUT in text format streams the rows; every
// value is PostgreSQL's own output text, with extra_float_digits = 3 (exact floats), DateStyle ISO,
// TimeZone UTC, bytea_output hex, and is turned into a Value by canonical.ts's parser.
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { connect, ident } from '../db/connect.js';
import type { Instance } from '../db/topology.js';
import { parseTextValue, type CanonicalColumn } from './canonical.js';
import { Connections, describeColumns, resolveLeaves, type InstanceResolver, type Leaf } from './direct/catalog.js';
import type { Value } from './direct/decode.js';

export interface SqlDumpOptions {
  columns?: string[];
  resolveInstance?: InstanceResolver;
  connect?: (instance: Instance) => Promise<pg.Client>;
}

export interface SqlDump {
  columns: CanonicalColumn[];
  leaves: Leaf[];
  rows(): AsyncGenerator<Value[]>;
}

export const SQL_SESSION_SETTINGS: Record<string, string> = {
  extra_float_digits: '3',
  DateStyle: 'ISO, YMD',
  TimeZone: 'UTC',
  IntervalStyle: 'postgres',
  bytea_output: 'hex',
  client_encoding: 'UTF8',
  synchronize_seqscans: 'off',
  max_parallel_workers_per_gather: '0',
};

export async function openSqlDump(instance: Instance, table: string, options: SqlDumpOptions = {}): Promise<SqlDump> {
  const connections = new Connections(options.connect ?? ((i: Instance) => connect(i, 'bench sql dump')));
  let columns: CanonicalColumn[];
  let leaves: Leaf[];
  try {
    columns = await describeColumns(await connections.get(instance), instance, table, options.columns);
    leaves = await resolveLeaves(instance, table, connections.get, options.resolveInstance);
  } catch (error) {
    await connections.closeAll();
    throw error;
  }
  async function* rows(): AsyncGenerator<Value[]> {
    try {
      for (const leaf of leaves) yield* dumpLeaf(await connections.get(leaf.instance), leaf, columns);
    } finally {
      await connections.closeAll();
    }
  }
  return { columns, leaves, rows };
}

async function* dumpLeaf(client: pg.Client, leaf: Leaf, columns: CanonicalColumn[]): AsyncGenerator<Value[]> {
  {
    await client.query(
      Object.entries(SQL_SESSION_SETTINGS)
        .map(([k, v]) => `SET ${k} = '${v}'`)
        .join('; '),
    );
    const list = columns.map((c) => ident(c.name)).join(', ');
    const stream = client.query(copyTo(`COPY (SELECT ${list} FROM ONLY ${leaf.table}) TO STDOUT`));
    let pending: Buffer | undefined;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let data = pending ? Buffer.concat([pending, chunk]) : chunk;
      let start = 0;
      for (;;) {
        const nl = data.indexOf(0x0a, start);
        if (nl < 0) break;
        yield parseCopyLine(data.toString('utf8', start, nl), columns);
        start = nl + 1;
      }
      pending = start < data.length ? data.subarray(start) : undefined;
      data = Buffer.alloc(0);
    }
    if (pending?.length) throw new Error(`COPY output of ${leaf.table} ended in the middle of a row`);
  }
}

/** One line of COPY's text format: tab-separated fields, \N for NULL, backslash escapes. */
export function parseCopyLine(line: string, columns: CanonicalColumn[]): Value[] {
  const fields = line.split('\t');
  if (fields.length !== columns.length)
    throw new Error(`COPY row has ${fields.length} fields, expected ${columns.length}`);
  return fields.map((f, i) => parseTextValue(columns[i].type, f === '\\N' ? null : unescapeCopy(f)));
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function unescapeCopy(field: string): string {
  if (!field.includes('\\')) return field;
  let out = '';
  for (let i = 0; i < field.length; i++) {
    const c = field[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = field[++i];
    if (n in ESCAPES) out += ESCAPES[n];
    else if (n >= '0' && n <= '7') {
      let j = i;
      while (j < i + 3 && field[j] >= '0' && field[j] <= '7') j++;
      out += String.fromCharCode(parseInt(field.slice(i, j), 8));
      i = j - 1;
    } else if (n === 'x') {
      let j = i + 1;
      while (j < i + 3 && /[0-9a-fA-F]/.test(field[j] ?? '')) j++;
      out += String.fromCharCode(parseInt(field.slice(i + 1, j), 16));
      i = j - 1;
    } else out += n;
  }
  return out;
}
