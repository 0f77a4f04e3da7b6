// The coordinator's postgres_fdw servers seg0..segN-1 and their user mappings (DESIGN section 5):
// one definition for the embedded cluster and for servers bench did not start (docs/attach.md).
import type pg from 'pg';
import { ident, literal } from './connect.js';
import { CONNECTION_PARAM_NAMES, type Instance } from './topology.js';

export const FDW_SERVER_OPTIONS: Readonly<Record<string, string>> = {
  async_capable: 'true',
  extensions: 'bench',
  // High enough that the planner ships the aggregate instead of fetching rows.
  fdw_tuple_cost: '100',
  // Join and aggregate estimates come from the segments (EXPLAIN there, a few ms per plan):
  // the coordinator holds no column statistics (see analyzeDistributed).
  use_remote_estimate: 'true',
  fdw_startup_cost: '100',
  fetch_size: '1000',
};

export function segmentServerName(index: number): string {
  return `seg${index}`;
}

/** Where the coordinator reaches the segment, and how: host, port, dbname, SSL, and the planner options. */
export function serverOptions(segment: Instance): Record<string, string> {
  const options: Record<string, string> = { host: segment.host, port: String(segment.port), dbname: segment.database };
  for (const name of CONNECTION_PARAM_NAMES) {
    const value = segment.params?.[name];
    if (value !== undefined) options[name] = value;
  }
  return { ...options, ...FDW_SERVER_OPTIONS };
}

export function parseOptions(list: string[] | null): Record<string, string> {
  return Object.fromEntries((list ?? []).map((o) => o.split(/=(.*)/s).slice(0, 2) as [string, string]));
}

/** ALTER ... OPTIONS clauses that turn `current` into `wanted` (DROP only for the names in `droppable`). */
function optionChanges(
  current: Record<string, string>,
  wanted: Record<string, string>,
  droppable: readonly string[],
): string[] {
  const changes = Object.entries(wanted)
    .filter(([k, v]) => current[k] !== v)
    .map(([k, v]) => `${k in current ? 'SET' : 'ADD'} ${k} ${literal(v)}`);
  for (const k of droppable) if (k in current && !(k in wanted)) changes.push(`DROP ${k}`);
  return changes;
}

export interface WiredServer {
  server: string;
  /** The server's options before, or null when this call created it. */
  serverBefore: string[] | null;
  /** The mapping's options before, or null when this call created it. */
  mappingBefore: string[] | null;
}

/**
 * Create or update foreign server `server` for `segment` and the current user's mapping to it (the
 * segment's user, and its password when there is one: passwords are kept in user mappings only).
 */
export async function wireSegment(
  client: pg.Client,
  server: string,
  segment: Instance,
  password: string | undefined,
): Promise<WiredServer> {
  const wanted = serverOptions(segment);
  const { rows } = await client.query<{ srvoptions: string[] | null }>(
    'SELECT srvoptions FROM pg_foreign_server WHERE srvname = $1',
    [server],
  );
  let serverBefore: string[] | null = null;
  if (rows.length === 0) {
    const list = Object.entries(wanted).map(([k, v]) => `${k} ${literal(v)}`);
    await client.query(`CREATE SERVER ${ident(server)} FOREIGN DATA WRAPPER postgres_fdw OPTIONS (${list.join(', ')})`);
  } else {
    serverBefore = rows[0].srvoptions ?? [];
    const changes = optionChanges(parseOptions(rows[0].srvoptions), wanted, CONNECTION_PARAM_NAMES);
    if (changes.length) await client.query(`ALTER SERVER ${ident(server)} OPTIONS (${changes.join(', ')})`);
  }
  const mapping: Record<string, string> = { user: segment.user, ...(password !== undefined ? { password } : {}) };
  const { rows: mappings } = await client.query<{ umoptions: string[] | null }>(
    'SELECT umoptions FROM pg_user_mappings WHERE srvname = $1 AND usename = current_user',
    [server],
  );
  let mappingBefore: string[] | null = null;
  if (mappings.length === 0) {
    const list = Object.entries(mapping).map(([k, v]) => `${k} ${literal(v)}`);
    await client.query(`CREATE USER MAPPING FOR CURRENT_USER SERVER ${ident(server)} OPTIONS (${list.join(', ')})`);
  } else {
    mappingBefore = mappings[0].umoptions ?? [];
    const changes = optionChanges(parseOptions(mappings[0].umoptions), mapping, ['password']);
    if (changes.length)
      await client.query(`ALTER USER MAPPING FOR CURRENT_USER SERVER ${ident(server)} OPTIONS (${changes.join(', ')})`);
  }
  return { server, serverBefore, mappingBefore };
}

/** Put a foreign server's options back as they were before attach changed them (for detach). */
export async function restoreServerOptions(client: pg.Client, server: string, before: string[]): Promise<void> {
  const { rows } = await client.query<{ options: string[] | null }>(
    'SELECT srvoptions AS options FROM pg_foreign_server WHERE srvname = $1',
    [server],
  );
  if (rows.length === 0) return;
  const current = parseOptions(rows[0].options);
  const changes = optionChanges(current, parseOptions(before), Object.keys(current));
  if (changes.length) await client.query(`ALTER SERVER ${ident(server)} OPTIONS (${changes.join(', ')})`);
}

/** Put the current user's mapping to `server` back as it was before attach changed it (for detach). */
export async function restoreMappingOptions(client: pg.Client, server: string, before: string[]): Promise<void> {
  const { rows } = await client.query<{ options: string[] | null }>(
    'SELECT umoptions AS options FROM pg_user_mappings WHERE srvname = $1 AND usename = current_user',
    [server],
  );
  if (rows.length === 0) return;
  const current = parseOptions(rows[0].options);
  const changes = optionChanges(current, parseOptions(before), Object.keys(current));
  if (changes.length)
    await client.query(`ALTER USER MAPPING FOR CURRENT_USER SERVER ${ident(server)} OPTIONS (${changes.join(', ')})`);
}
