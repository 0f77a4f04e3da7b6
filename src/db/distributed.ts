// Distributed tables: a local table on every segment instance, and on the coordinator a parent
// LIST-partitioned on `seg` whose partition i is a postgres_fdw foreign table on segment i.
// Distributed views: the same shape over a view defined on every segment, so that a coordinator
// statement reading them is an Append of (async) Foreign Scans and nothing else: all the work is in
// the segments' views, none is left for the coordinator's planner to place (docs/indb.md).
import pg from 'pg';
import { withClient, ident, literal } from './connect.js';
import type { Instance, Topology } from './topology.js';
import { resolvePassword } from './credentials.js';

export function partitionName(table: string, segment: number): string {
  return `${table}_s${segment}`;
}

export async function createDistributedTable(
  topology: Topology,
  name: string,
  columnsSql: string,
  options: { replicated?: boolean } = {},
): Promise<void> {
  const columns = `seg int NOT NULL, ${columnsSql}`;
  const kind = options.replicated ? 'replicated' : 'distributed';
  await Promise.all(
    topology.segments.map((segment) =>
      withClient(segment, async (client) => {
        await client.query(`DROP TABLE IF EXISTS ${ident(name)} CASCADE`);
        await client.query(`CREATE TABLE ${ident(name)} (${columns})`);
      }),
    ),
  );
  await withClient(topology.coordinator, async (client) => {
    await client.query(`DROP TABLE IF EXISTS ${ident(name)} CASCADE`);
    await client.query(`CREATE TABLE ${ident(name)} (${columns}) PARTITION BY LIST (seg)`);
    await client.query(`COMMENT ON TABLE ${ident(name)} IS ${literal(`bench:${kind}`)}`);
    for (let i = 0; i < topology.segments.length; i++) {
      await client.query(
        `CREATE FOREIGN TABLE ${ident(partitionName(name, i))} PARTITION OF ${ident(name)} FOR VALUES IN (${i}) ` +
          `SERVER ${ident(`seg${i}`)} OPTIONS (table_name ${literal(name)})`,
      );
    }
  });
}

/**
 * A view defined on every segment (`viewSql(i)` on segment i, whose first column is `seg`) and, on
 * the coordinator, a parent LIST-partitioned on `seg` over foreign tables of those views. Reading it
 * from the coordinator ships only the statement's WHERE quals; remote estimates are off for these
 * foreign tables (there is nothing to plan but a scan).
 */
export async function createDistributedView(
  topology: Topology,
  name: string,
  columnsSql: string,
  viewSql: (segment: number) => string,
): Promise<void> {
  await Promise.all(
    topology.segments.map((segment, i) =>
      withClient(segment, async (client) => {
        await client.query(`DROP VIEW IF EXISTS ${ident(name)}`);
        await client.query(`CREATE VIEW ${ident(name)} AS ${viewSql(i)}`);
      }),
    ),
  );
  await withClient(topology.coordinator, async (client) => {
    await client.query(`DROP TABLE IF EXISTS ${ident(name)} CASCADE`);
    await client.query(`CREATE TABLE ${ident(name)} (seg int NOT NULL, ${columnsSql}) PARTITION BY LIST (seg)`);
    await client.query(`COMMENT ON TABLE ${ident(name)} IS 'bench:view'`);
    for (let i = 0; i < topology.segments.length; i++) {
      await client.query(
        `CREATE FOREIGN TABLE ${ident(partitionName(name, i))} PARTITION OF ${ident(name)} FOR VALUES IN (${i}) ` +
          `SERVER ${ident(`seg${i}`)} OPTIONS (table_name ${literal(name)}, use_remote_estimate 'false')`,
      );
    }
  });
}

export async function dropDistributedView(topology: Topology, name: string): Promise<void> {
  await withClient(topology.coordinator, (client) => client.query(`DROP TABLE IF EXISTS ${ident(name)} CASCADE`));
  await Promise.all(
    topology.segments.map((s) => withClient(s, (client) => client.query(`DROP VIEW IF EXISTS ${ident(name)}`))),
  );
}

/** Run `work` on every segment instance at once, each over its own connection. */
export async function onEverySegment<T>(
  topology: Topology,
  work: (client: pg.Client, segment: number) => Promise<T>,
): Promise<T[]> {
  return Promise.all(topology.segments.map((instance, i) => withClient(instance, (client) => work(client, i))));
}

/**
 * Undefined when the instance serves a query now, else why not (ECONNREFUSED, "the database system
 * is shutting down", ...). A server that refuses our credentials is up.
 */
export async function probeInstance(instance: Instance, timeoutMs = 3000): Promise<string | undefined> {
  let password: string | undefined;
  try {
    password = resolvePassword(instance);
  } catch {
    // A password file that cannot be used does not make the server down; connecting says the rest.
  }
  const client = new pg.Client({
    host: instance.host,
    port: instance.port,
    user: instance.user,
    database: instance.database,
    password,
    connectionTimeoutMillis: timeoutMs,
    application_name: 'bench-probe',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (e.code === '28P01' || e.code === '28000') return undefined;
    return e.code && !/^[0-9A-Z]{5}$/.test(e.code) ? e.code : (e.message ?? String(error));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * An error from a statement that spans instances, with the instances that are down named: a dead
 * segment surfaces on the coordinator as "server closed the connection unexpectedly", a dead
 * coordinator as "Connection terminated unexpectedly", neither saying which instance it was. A
 * connection lost while no instance looks down yet is looked at again a moment later (an instance
 * being stopped still accepts connections for a moment).
 */
export async function nameDeadInstances(topology: Topology, error: unknown): Promise<Error> {
  const original = error instanceof Error ? error : new Error(String(error));
  const instances = [topology.coordinator, ...topology.segments];
  const probe = async () =>
    (await Promise.all(instances.map(async (instance) => ({ instance, why: await probeInstance(instance) })))).filter(
      (d) => d.why !== undefined,
    );
  let down = await probe();
  if (down.length === 0 && /connection|terminated|closed|ECONN/i.test(original.message)) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    down = await probe();
  }
  if (down.length === 0) return original;
  const named = down
    .map((d) => `${d.instance.name} (${d.instance.host}:${d.instance.port}) is down: ${d.why}`)
    .join('; ');
  const hint = topology.embedded ? 'Start it again with `npx bench db up`' : 'Start it again';
  return new Error(`${named}. The statement failed with: ${original.message.trim()}. ${hint}.`, { cause: original });
}

export async function dropDistributedTable(topology: Topology, name: string): Promise<void> {
  await withClient(topology.coordinator, (client) => client.query(`DROP TABLE IF EXISTS ${ident(name)} CASCADE`));
  await Promise.all(
    topology.segments.map((s) =>
      withClient(s, (client) => client.query(`DROP TABLE IF EXISTS ${ident(name)} CASCADE`)),
    ),
  );
}

/**
 * Statistics for the planner: ANALYZE the local table on every segment, then give the coordinator's
 * foreign partitions the segments' page and row counts. (ANALYZE of a postgres_fdw table in
 * PostgreSQL 15 fetches every remote row through the coordinator, which at scale costs more than
 * the work it plans; the counts are what pushdown and join planning need.)
 */
export async function analyzeDistributed(topology: Topology, name: string): Promise<void> {
  const counts = await Promise.all(
    topology.segments.map((s) =>
      withClient(s, async (client) => {
        await client.query(`ANALYZE ${ident(name)}`);
        const { rows } = await client.query<{ reltuples: number; relpages: number }>(
          'SELECT reltuples, relpages FROM pg_class WHERE oid = $1::regclass',
          [name],
        );
        return rows[0];
      }),
    ),
  );
  await withClient(topology.coordinator, async (client) => {
    for (const [i, count] of counts.entries()) {
      await client.query('UPDATE pg_class SET reltuples = $1, relpages = $2 WHERE oid = $3::regclass', [
        Math.max(count.reltuples, 0),
        count.relpages,
        partitionName(name, i),
      ]);
    }
  });
}

/** Total on-disk size (heap + TOAST + indexes) of the table summed over the segments. */
export async function distributedTableBytes(topology: Topology, name: string): Promise<number> {
  const sizes = await Promise.all(
    topology.segments.map((s) =>
      withClient(s, async (client) => {
        const { rows } = await client.query<{ bytes: string }>('SELECT pg_total_relation_size($1::regclass) AS bytes', [
          name,
        ]);
        return Number(rows[0].bytes);
      }),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

export async function tableExists(topology: Topology, name: string): Promise<boolean> {
  return withClient(topology.coordinator, async (client) => {
    const { rows } = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [name]);
    return rows[0].ok;
  });
}
