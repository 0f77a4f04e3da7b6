// What the direct reader learns from the catalog of the instance that stores a relation: where
// its files are, its columns' storage (attlen, attalign, attbyval, dropped, missing values), the
// types to decode, its TOAST relation, and - for a partitioned table - which leaf relations hold
// its rows and on which instance (a postgres_fdw partition lives on a segment instance).
import type pg from 'pg';
import { ident } from '../../db/connect.js';
import type { Instance, Topology } from '../../db/topology.js';
import type { CanonicalColumn } from '../canonical.js';
import { DirectReadError } from './format.js';

/** A type as the decoder needs it; domains are resolved to their base type. */
export interface TypeInfo {
  oid: number;
  /** pg_type.typname of the base type (int4, text, _int4, ...). */
  name: string;
  len: number;
  byval: boolean;
  align: string;
  /** For an array type: its element type. */
  elem?: TypeInfo;
}

export interface ColumnInfo {
  attnum: number;
  name: string;
  dropped: boolean;
  attlen: number;
  attalign: string;
  attbyval: boolean;
  /** format_type(atttypid, atttypmod), for messages and the Arrow schema. */
  typeName: string;
  /** Undefined for dropped columns. */
  type?: TypeInfo;
  /**
   * attmissingval's element as PostgreSQL prints it (extra_float_digits = 3); null = SQL NULL; undefined = no
   * missing value.
   */
  missingText?: string | null;
}

export interface RelationInfo {
  oid: number;
  /** schema-qualified, quoted */
  qualifiedName: string;
  relkind: string;
  persistence: string;
  natts: number;
  columns: ColumnInfo[];
  /** Absolute path of the main fork's first segment file. */
  path: string;
  toast?: { oid: number; path: string };
}

export interface InstanceFacts {
  dataDir: string;
  blockSize: number;
  segmentBlocks: number;
  checksums: boolean;
  encoding: string;
}

/** A relation that stores rows: a plain table on the instance that has its files. */
export interface Leaf {
  instance: Instance;
  /** Name to give that instance's catalog (schema-qualified and quoted). */
  table: string;
  /** How the user's table reaches it, for messages ("coordinator: t_s0 -> seg0: public.t"). */
  via: string;
}

function parseSize(text: string): number {
  const m = /^(\d+)\s*(B|kB|MB|GB|TB)?$/.exec(text.trim());
  if (!m) throw new DirectReadError(`cannot parse size "${text}"`);
  const unit = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }[m[2] ?? 'B'] ?? 1;
  return Number(m[1]) * unit;
}

export async function instanceFacts(client: pg.Client, instance: Instance): Promise<InstanceFacts> {
  const { rows } = await client.query<{
    block_size: string;
    segment_size: string;
    data_checksums: string;
    server_encoding: string;
    data_directory: string | null;
  }>(
    `SELECT current_setting('block_size') AS block_size, current_setting('segment_size') AS segment_size,
            current_setting('data_checksums') AS data_checksums, current_setting('server_encoding') AS server_encoding,
            current_setting('data_directory', true) AS data_directory`,
  );
  const row = rows[0];
  const dataDir = instance.dataDir ?? row.data_directory ?? undefined;
  if (!dataDir) {
    throw new DirectReadError(
      `${instance.name}: the data directory is unknown (not in the topology, and SHOW data_directory needs superuser ` +
        `or pg_read_all_settings)`,
    );
  }
  const blockSize = Number(row.block_size);
  return {
    dataDir,
    blockSize,
    segmentBlocks: parseSize(row.segment_size) / blockSize,
    checksums: row.data_checksums === 'on',
    encoding: row.server_encoding,
  };
}

interface TypeRow {
  oid: number;
  typname: string;
  typlen: number;
  typbyval: boolean;
  typalign: string;
  typtype: string;
  typelem: number;
  typbasetype: number;
  typsubscript: string;
}

/** Load types by oid, following domains to their base and arrays to their element. */
async function loadTypes(client: pg.Client, oids: number[]): Promise<Map<number, TypeInfo>> {
  const rowsByOid = new Map<number, TypeRow>();
  let want = [...new Set(oids)];
  while (want.length) {
    const { rows } = await client.query<TypeRow>(
      `SELECT oid::int AS oid, typname, typlen, typbyval, typalign, typtype, typelem::int AS typelem, ` +
        `typbasetype::int AS typbasetype,
              typsubscript::text AS typsubscript
         FROM pg_type WHERE oid = ANY($1::oid[])`,
      [want],
    );
    for (const r of rows) rowsByOid.set(r.oid, r);
    const next = new Set<number>();
    for (const r of rows) {
      if (r.typtype === 'd' && !rowsByOid.has(r.typbasetype)) next.add(r.typbasetype);
      if (r.typelem && !rowsByOid.has(r.typelem)) next.add(r.typelem);
    }
    want = [...next];
  }
  const cache = new Map<number, TypeInfo>();
  const build = (oid: number, depth = 0): TypeInfo => {
    const cached = cache.get(oid);
    if (cached) return cached;
    const r = rowsByOid.get(oid);
    if (!r || depth > 20) throw new DirectReadError(`type ${oid} not found in pg_type`);
    if (r.typtype === 'd') {
      const base = build(r.typbasetype, depth + 1);
      cache.set(oid, base);
      return base;
    }
    const info: TypeInfo = { oid, name: r.typname, len: r.typlen, byval: r.typbyval, align: r.typalign };
    // A true array type (not a fixed-length type with typelem such as name or point).
    if (r.typsubscript === 'array_subscript_handler' && r.typlen === -1 && r.typelem)
      info.elem = build(r.typelem, depth + 1);
    cache.set(oid, info);
    return info;
  };
  const out = new Map<number, TypeInfo>();
  for (const oid of oids) out.set(oid, build(oid));
  return out;
}

/** Element text of a one-element array literal as printed by array_out ({x} or {"x"}). */
export function singleElementText(literal: string): string | null {
  if (!literal.startsWith('{') || !literal.endsWith('}'))
    throw new DirectReadError(`unexpected attmissingval ${literal}`);
  const inner = literal.slice(1, -1);
  if (inner === 'NULL') return null;
  if (!inner.startsWith('"')) return inner;
  let out = '';
  for (let i = 1; i < inner.length - 1; i++) {
    const c = inner[i];
    if (c === '\\') out += inner[++i];
    else out += c;
  }
  return out;
}

export async function relationInfo(client: pg.Client, table: string, facts: InstanceFacts): Promise<RelationInfo> {
  const { rows } = await client.query<{
    oid: number;
    qualified: string;
    relkind: string;
    relpersistence: string;
    relnatts: number;
    path: string | null;
    toast_oid: number;
    toast_path: string | null;
  }>(
    `SELECT c.oid::int AS oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qualified, ` +
      `c.relkind::text AS relkind,
            c.relpersistence::text AS relpersistence, c.relnatts::int AS relnatts, pg_relation_filepath(c.oid) AS path,
            c.reltoastrelid::int AS toast_oid,
            CASE WHEN c.reltoastrelid <> 0 THEN pg_relation_filepath(c.reltoastrelid) END AS toast_path
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = to_regclass($1)`,
    [table],
  );
  const rel = rows[0];
  if (!rel) throw new DirectReadError(`relation ${table} does not exist`);
  const { rows: attrs } = await client.query<{
    attnum: number;
    attname: string;
    attisdropped: boolean;
    attlen: number;
    attalign: string;
    attbyval: boolean;
    atttypid: number;
    type_name: string;
    atthasmissing: boolean;
    missing: string | null;
  }>(
    `SELECT attnum::int AS attnum, attname::text AS attname, attisdropped, attlen::int AS attlen, ` +
      `attalign::text AS attalign, attbyval,
            atttypid::int AS atttypid, format_type(atttypid, atttypmod) AS type_name, atthasmissing,
            CASE WHEN atthasmissing THEN attmissingval::text END AS missing
       FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 ORDER BY attnum`,
    [rel.oid],
  );
  const types = await loadTypes(
    client,
    attrs.filter((a) => !a.attisdropped).map((a) => a.atttypid),
  );
  const columns: ColumnInfo[] = attrs.map((a) => ({
    attnum: a.attnum,
    name: a.attname,
    dropped: a.attisdropped,
    attlen: a.attlen,
    attalign: a.attalign,
    attbyval: a.attbyval,
    typeName: a.type_name,
    type: a.attisdropped ? undefined : types.get(a.atttypid),
    missingText: a.atthasmissing && a.missing !== null ? singleElementText(a.missing) : undefined,
  }));
  const abs = (p: string) => (p.startsWith('/') ? p : `${facts.dataDir}/${p}`);
  return {
    oid: rel.oid,
    qualifiedName: rel.qualified,
    relkind: rel.relkind,
    persistence: rel.relpersistence,
    natts: rel.relnatts,
    columns,
    path: rel.path ? abs(rel.path) : '',
    toast: rel.toast_oid && rel.toast_path ? { oid: rel.toast_oid, path: abs(rel.toast_path) } : undefined,
  };
}

/** Maps a foreign server's host/port/dbname to an instance of the topology. */
export type InstanceResolver = (where: { host: string; port: number; database: string }) => Instance | undefined;

/** The resolver for a topology: a postgres_fdw server's host/port/dbname -> that instance (with its data directory). */
export function topologyResolver(topology: Topology): InstanceResolver {
  const all = [topology.coordinator, ...topology.segments];
  const local = (h: string) => (h === 'localhost' || h === '::1' || h.startsWith('127.') ? 'loopback' : h);
  return ({ host, port, database }) =>
    all.find((i) => i.port === port && local(i.host) === local(host) && i.database === database);
}

/**
 * The relations that hold `table`'s rows: the table itself when it is a plain table; for a
 * partitioned table its leaf partitions in partition-bound order; a postgres_fdw foreign table
 * is followed to the table it names on its server's instance.
 */
export async function resolveLeaves(
  instance: Instance,
  table: string,
  clientFor: (instance: Instance) => Promise<pg.Client>,
  resolveInstance?: InstanceResolver,
  depth = 0,
): Promise<Leaf[]> {
  if (depth > 4) throw new DirectReadError(`${table}: foreign tables nest too deep`);
  const client = await clientFor(instance);
  {
    const { rows } = await client.query<{ oid: number; relkind: string; qualified: string }>(
      `SELECT c.oid::int AS oid, c.relkind::text AS relkind, quote_ident(n.nspname) || '.' || quote_ident(c.relname) ` +
        `AS qualified
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
      [table],
    );
    const rel = rows[0];
    if (!rel) throw new DirectReadError(`relation ${table} does not exist on ${instance.name}`);
    if (rel.relkind === 'r' || rel.relkind === 'm' || rel.relkind === 't') {
      return [{ instance, table: rel.qualified, via: `${instance.name}: ${rel.qualified}` }];
    }
    if (rel.relkind === 'p') {
      const { rows: parts } = await client.query<{ qualified: string; bound: string; relname: string }>(
        `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qualified, c.relname::text AS relname,
                coalesce(pg_get_expr(c.relpartbound, c.oid), '') AS bound
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE i.inhparent = $1`,
        [rel.oid],
      );
      parts.sort((a, b) =>
        boundKey(a.bound, a.relname).localeCompare(boundKey(b.bound, b.relname), 'en', { numeric: true }),
      );
      const out: Leaf[] = [];
      for (const part of parts)
        out.push(...(await resolveLeaves(instance, part.qualified, clientFor, resolveInstance, depth)));
      return out;
    }
    if (rel.relkind === 'f') {
      const { rows: ft } = await client.query<{
        srvoptions: string[] | null;
        ftoptions: string[] | null;
        umoptions: string[] | null;
        nspname: string;
        relname: string;
      }>(
        `SELECT s.srvoptions, f.ftoptions, um.umoptions, n.nspname::text AS nspname, c.relname::text AS relname
           FROM pg_foreign_table f JOIN pg_foreign_server s ON s.oid = f.ftserver JOIN pg_class c ON c.oid = f.ftrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_user_mappings um ON um.srvid = s.oid AND (um.umuser = 0 OR um.usename = current_user)
          WHERE f.ftrelid = $1`,
        [rel.oid],
      );
      const row = ft[0];
      if (!row) throw new DirectReadError(`${rel.qualified} is a foreign table without a server`);
      const opts = (list: string[] | null) =>
        Object.fromEntries((list ?? []).map((o) => o.split(/=(.*)/s).slice(0, 2)));
      const server = opts(row.srvoptions);
      const ftable = opts(row.ftoptions);
      const mapping = opts(row.umoptions);
      const where = {
        host: server.host ?? instance.host,
        port: Number(server.port ?? 5432),
        database: server.dbname ?? instance.database,
      };
      const remote: Instance = resolveInstance?.(where) ?? {
        name: `${where.host}:${where.port}/${where.database}`,
        host: where.host,
        port: where.port,
        database: where.database,
        user: mapping.user ?? instance.user,
        password: mapping.password ?? instance.password,
      };
      const remoteTable = `${ident(ftable.schema_name ?? row.nspname)}.${ident(ftable.table_name ?? row.relname)}`;
      const leaves = await resolveLeaves(remote, remoteTable, clientFor, resolveInstance, depth + 1);
      return leaves.map((l) => ({ ...l, via: `${instance.name}: ${rel.qualified} -> ${l.via}` }));
    }
    throw new DirectReadError(
      `${rel.qualified} has relkind '${rel.relkind}', which stores no rows the direct reader can read`,
    );
  }
}

function boundKey(bound: string, relname: string): string {
  return `${bound} ${relname}`;
}

/** The columns of `table` as named on `instance` (a partitioned parent's, say): `wanted` or all. */
export async function describeColumns(
  client: pg.Client,
  instance: Instance,
  table: string,
  wanted?: string[],
): Promise<CanonicalColumn[]> {
  const facts: InstanceFacts = {
    dataDir: instance.dataDir ?? '',
    blockSize: 8192,
    segmentBlocks: 131072,
    checksums: false,
    encoding: 'UTF8',
  };
  const info = await relationInfo(client, table, facts);
  const all = info.columns.filter((c) => !c.dropped);
  const names = wanted ?? all.map((c) => c.name);
  return names.map((name) => {
    const col = all.find((c) => c.name === name);
    if (!col) throw new DirectReadError(`${info.qualifiedName} has no column "${name}"`);
    return { name, type: col.type!, typeName: col.typeName };
  });
}

/** One connection per instance, opened on first use, shared by the catalog look-ups and the read. */
export class Connections {
  private readonly clients = new Map<string, Promise<pg.Client>>();

  constructor(private readonly open: (instance: Instance) => Promise<pg.Client>) {}

  static key(instance: Instance): string {
    return `${instance.host}:${instance.port}/${instance.database}/${instance.user}`;
  }

  readonly get = (instance: Instance): Promise<pg.Client> => {
    const key = Connections.key(instance);
    let client = this.clients.get(key);
    if (!client) {
      client = this.open(instance);
      this.clients.set(key, client);
    }
    return client;
  };

  async closeAll(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.then((x) => x.end()).catch(() => undefined)));
  }
}
