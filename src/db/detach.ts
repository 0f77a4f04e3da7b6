// `bench db detach`: remove what `bench db attach` created, as each instance's record lists it, and
// put back what it changed (docs/attach.md, "Detach"). bench's distributed tables on the coordinator
// go with the foreign servers their partitions live on; anything else that depends on what attach
// created (a user's view over a bench function, a user's foreign table) stops detach, named.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { benchHome } from '../core/paths.js';
import { connect, ident, literal, withClient } from './connect.js';
import { RECORD_TABLE, readRecord, type RecordRow } from './attach-record.js';
import { runScript, sharedWritableDir } from './host-access.js';
import { manifestPath, shellQuote, uninstallScript } from './host-install.js';
import { serverFacts, serverFile } from './probe.js';
import { discoverTopology } from './resolve.js';
import { runLockHolder } from './run-lock.js';
import { instanceUrl, type Instance, type Topology } from './topology.js';
import { restoreMappingOptions, restoreServerOptions } from './wiring.js';

export interface DetachOutcome {
  actions: string[];
  /** What was left on purpose (not created by attach), one line each. */
  left: string[];
  /** Commands the user must run on hosts bench cannot write to. */
  commands: string[];
}

/** Detach waits for no run, it refuses. */
async function assertNoRun(client: pg.Client): Promise<void> {
  const holder = await runLockHolder(client);
  if (holder)
    throw new Error(`a bench run is using this layout (coordinator backend pid ${holder.pid}); detach after it ends`);
}

/** bench's distributed tables whose partitions live on `server`, and any other foreign table there. */
async function tablesOn(client: pg.Client, server: string): Promise<{ bench: string[]; others: string[] }> {
  const { rows } = await client.query<{ parent: string | null; parent_comment: string | null; name: string }>(
    `SELECT p.oid::regclass::text AS parent, obj_description(p.oid, 'pg_class') AS parent_comment,
            c.oid::regclass::text AS name
       FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver JOIN pg_class c ON c.oid = ft.ftrelid
       LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
      WHERE s.srvname = $1`,
    [server],
  );
  const bench = new Set<string>();
  const others: string[] = [];
  for (const row of rows) {
    if (row.parent && /^bench:/.test(row.parent_comment ?? '')) bench.add(row.parent);
    else others.push(row.name);
  }
  return { bench: [...bench], others };
}

async function detachCoordinatorWiring(client: pg.Client, record: RecordRow[], actions: string[]): Promise<void> {
  const created = (kind: string): string[] => record.filter((r) => r.kind === kind).map((r) => r.name);
  const servers = created('server');
  const problems: string[] = [];
  for (const server of servers) {
    const { others } = await tablesOn(client, server);
    if (others.length) problems.push(`foreign tables that are not bench's use ${server}: ${others.join(', ')}`);
  }
  if (problems.length)
    throw new Error(`coordinator: cannot detach: ${problems.join('; ')}. Drop them, or detach after moving them`);
  for (const server of servers) {
    const { bench } = await tablesOn(client, server);
    for (const table of bench) {
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      actions.push(
        `coordinator: dropped bench's distributed table ${table} (its partitions live on the attached segments)`,
      );
    }
  }
  for (const row of record.filter((r) => r.kind === 'mapping-options')) {
    await restoreMappingOptions(client, row.name, (row.detail.before as string[]) ?? []);
    actions.push(`coordinator: put back the user mapping to ${row.name} as it was`);
  }
  for (const row of record.filter((r) => r.kind === 'server-options')) {
    await restoreServerOptions(client, row.name, (row.detail.before as string[]) ?? []);
    actions.push(`coordinator: put back the options of foreign server ${row.name}`);
  }
  for (const server of created('mapping')) {
    await client.query(`DROP USER MAPPING IF EXISTS FOR CURRENT_USER SERVER ${ident(server)}`);
    actions.push(`coordinator: dropped the user mapping to ${server}`);
  }
  for (const server of servers) {
    await client.query(`DROP SERVER IF EXISTS ${ident(server)}`);
    actions.push(`coordinator: dropped foreign server ${server}`);
  }
}

/** Undo one instance's record; returns the database to drop when attach created it. */
async function detachInstance(
  instance: Instance,
  isCoordinator: boolean,
  actions: string[],
  left: string[],
): Promise<string | undefined> {
  return withClient(instance, async (client) => {
    const record = await readRecord(client);
    if (record.length === 0) {
      left.push(`${instance.name}: no record of bench db attach in ${instance.database}; nothing removed there`);
      return undefined;
    }
    if (isCoordinator) await assertNoRun(client);
    // A database attach created goes whole, with everything in it and its settings.
    const database = record.find((r) => r.kind === 'database')?.name;
    if (database) return database;
    if (isCoordinator) await detachCoordinatorWiring(client, record, actions);
    for (const row of record.filter((r) => r.kind === 'setting')) {
      const role = String(row.detail.role);
      const before = row.detail.before as string | null;
      const target = `ALTER ROLE ${ident(role)} IN DATABASE ${ident(instance.database)}`;
      await client.query(
        before === null ? `${target} RESET ${row.name}` : `${target} SET ${row.name} = ${literal(before)}`,
      );
      actions.push(
        `${instance.name}: ${before === null ? `reset ${row.name}` : `put back ${row.name} = ${before}`} for ${role} ` +
          `in ${instance.database}`,
      );
    }
    const extensions = record.filter((r) => r.kind === 'extension').map((r) => r.name);
    // bench first (it requires plpython3u), postgres_fdw after its servers.
    for (const name of ['bench', 'postgres_fdw', 'plpython3u'].filter((e) => extensions.includes(e))) {
      try {
        await client.query(`DROP EXTENSION IF EXISTS ${ident(name)} RESTRICT`);
      } catch (error) {
        const detail = (error as { detail?: string }).detail;
        throw new Error(
          `${instance.name}: cannot drop extension ${name}: ` +
            `${(error as Error).message}${detail ? ` (${detail.replace(/\n/g, '; ')})` : ''}`,
        );
      }
      actions.push(`${instance.name}: dropped extension ${name}`);
    }
    await client.query(`DROP TABLE public.${RECORD_TABLE}`);
    actions.push(`${instance.name}: dropped ${RECORD_TABLE} (attach's record)`);
    const { rows } = await client.query<{ name: string }>(
      `SELECT c.oid::regclass::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'f', 'v') ORDER BY 1`,
    );
    const bench = rows
      .map((r) => r.name)
      .filter((n) => /^(bench_|.*_(raw_train|raw_valid|train_packed|valid_packed)$)/.test(n));
    if (bench.length)
      left.push(
        `${instance.name}: tables bench runs made in ${instance.database} (not attach's, so kept): ${bench.join(', ')}`,
      );
    return undefined;
  });
}

/** Databases of the server that still have the bench extension (they keep the host's files in use). */
async function databasesUsingBench(instance: Instance): Promise<string[]> {
  const databases = await withClient({ ...instance, database: 'postgres' }, async (client) =>
    (
      await client.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate',
      )
    ).rows.map((r) => r.datname),
  );
  const using: string[] = [];
  for (const database of databases) {
    const client = await connect({ ...instance, database }, 'bench-detach').catch(() => undefined);
    if (!client) continue;
    try {
      const { rowCount } = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'bench'");
      if (rowCount) using.push(database);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return using;
}

interface HostFiles {
  /** 'local' for this machine's file system, else the server's host name as given. */
  key: string;
  sharedir: string;
  instances: Instance[];
  reason?: string;
}

/** Hosts whose servers have bench's manifest: this machine (whatever address its servers use), or each other host. */
async function hostsWithFiles(instances: Instance[]): Promise<HostFiles[]> {
  const hosts = new Map<string, HostFiles>();
  for (const instance of instances) {
    const found = await withClient({ ...instance, database: 'postgres' }, async (client) => {
      const { sharedir } = await serverFacts(client);
      if (!sharedir || (await serverFile(client, manifestPath(sharedir))) === undefined) return undefined;
      return { sharedir, access: await sharedWritableDir(client, `${sharedir}/extension`) };
    });
    if (!found) continue;
    const key = `${found.access.local ? 'local' : instance.host}|${found.sharedir}`;
    const host = hosts.get(key) ?? {
      key,
      sharedir: found.sharedir,
      instances: [],
      ...(found.access.local ? {} : { reason: found.access.reason }),
    };
    host.instances.push(instance);
    hosts.set(key, host);
  }
  return [...hosts.values()];
}

/** Remove the files bench installed on each host, when no database of these servers uses them any more. */
async function removeHostFiles(instances: Instance[], outcome: DetachOutcome): Promise<void> {
  for (const host of await hostsWithFiles(instances)) {
    const names = host.instances.map((i) => i.name).join(', ');
    const using = new Map<string, string[]>();
    for (const instance of host.instances) {
      const server = `${instance.host}:${instance.port}`;
      if (!using.has(server)) using.set(server, await databasesUsingBench(instance));
    }
    const users = [...using].filter(([, dbs]) => dbs.length).map(([server, dbs]) => `${dbs.join(', ')} on ${server}`);
    if (users.length) {
      outcome.left.push(
        `bench's files on the host of ${names}, still used by the bench extension in ${users.join('; ')}`,
      );
      continue;
    }
    const first = host.instances[0];
    const dir = join(benchHome(), 'attach');
    await mkdir(dir, { recursive: true });
    const id = createHash('sha1').update(host.key).digest('hex').slice(0, 8);
    const path = join(
      dir,
      `uninstall-${(host.reason ? first.host : 'local').replace(/[^A-Za-z0-9.-]/g, '_')}-${id}.sh`,
    );
    await writeFile(path, uninstallScript(host.sharedir), { mode: 0o644 });
    if (!host.reason) {
      await runScript(path);
      outcome.actions.push(
        `removed the files bench installed on the host of ${names} (as listed in ${manifestPath(host.sharedir)})`,
      );
    } else {
      outcome.commands.push(
        `bench's files on the host of ${names} (${first.host}) cannot be removed from here (${host.reason}); there, ` +
          `as root: sh ${path}` +
          `   (from here: ssh ${first.host} sudo sh < ${shellQuote(path)})`,
      );
    }
  }
}

export async function detach(coordinator: Instance): Promise<DetachOutcome> {
  const topology: Topology = await discoverTopology(coordinator).catch(async (error: Error) => {
    // A coordinator whose servers are gone can still have its own record.
    const record = await withClient(coordinator, (client) => readRecord(client));
    if (record.length === 0) throw error;
    return { coordinator, segments: [], embedded: false };
  });
  const outcome: DetachOutcome = { actions: [], left: [], commands: [] };
  const toDrop: { instance: Instance; database: string }[] = [];
  const coordinatorDb = await detachInstance(topology.coordinator, true, outcome.actions, outcome.left);
  if (coordinatorDb) toDrop.push({ instance: topology.coordinator, database: coordinatorDb });
  for (const segment of topology.segments) {
    const database = await detachInstance(segment, false, outcome.actions, outcome.left);
    if (database) toDrop.push({ instance: segment, database });
  }
  for (const { instance, database } of toDrop) {
    await withClient({ ...instance, database: 'postgres' }, (client) =>
      client.query(`DROP DATABASE ${ident(database)} WITH (FORCE)`),
    );
    outcome.actions.push(
      `${instance.name}: dropped database ${database} at ${instanceUrl({ ...instance, database })} (attach created ` +
        `it; everything bench put there went with it)`,
    );
  }
  await removeHostFiles([topology.coordinator, ...topology.segments], outcome);
  return outcome;
}
