// Distributed tables: a local table on every segment instance, and on the coordinator a parent
// LIST-partitioned on `seg` whose partition i is a postgres_fdw foreign table on segment i.
import { withClient, ident, literal } from './connect.js';
import type { Topology } from './topology.js';

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

export async function dropDistributedTable(topology: Topology, name: string): Promise<void> {
  await withClient(topology.coordinator, (client) => client.query(`DROP TABLE IF EXISTS ${ident(name)} CASCADE`));
  await Promise.all(topology.segments.map((s) => withClient(s, (client) => client.query(`DROP TABLE IF EXISTS ${ident(name)} CASCADE`))));
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
        const { rows } = await client.query<{ reltuples: number; relpages: number }>('SELECT reltuples, relpages FROM pg_class WHERE oid = $1::regclass', [name]);
        return rows[0];
      }),
    ),
  );
  await withClient(topology.coordinator, async (client) => {
    for (const [i, count] of counts.entries()) {
      await client.query('UPDATE pg_class SET reltuples = $1, relpages = $2 WHERE oid = $3::regclass', [Math.max(count.reltuples, 0), count.relpages, partitionName(name, i)]);
    }
  });
}

/** Total on-disk size (heap + TOAST + indexes) of the table summed over the segments. */
export async function distributedTableBytes(topology: Topology, name: string): Promise<number> {
  const sizes = await Promise.all(
    topology.segments.map((s) =>
      withClient(s, async (client) => {
        const { rows } = await client.query<{ bytes: string }>('SELECT pg_total_relation_size($1::regclass) AS bytes', [name]);
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
