// Which cluster a command talks to: --db <url> (or PG* variables) for a coordinator that already
// exists, otherwise the embedded cluster under .bench/pg.
import { withClient } from './connect.js';
import { ensureCluster } from './cluster.js';
import type { Instance, Topology } from './topology.js';

function coordinatorFromUrl(url: string): Instance {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--db must be a URL like postgresql://user@host:5432/dbname, got "${url}"`);
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) throw new Error(`--db must start with postgresql://, got "${url}"`);
  return {
    name: 'coordinator',
    host: parsed.hostname || 'localhost',
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username) || process.env.USER || 'postgres',
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres',
  };
}

function coordinatorFromEnv(): Instance | undefined {
  const env = process.env;
  if (!env.PGHOST && !env.PGPORT && !env.PGDATABASE) return undefined;
  return {
    name: 'coordinator',
    host: env.PGHOST ?? 'localhost',
    port: Number(env.PGPORT ?? 5432),
    user: env.PGUSER ?? env.USER ?? 'postgres',
    password: env.PGPASSWORD,
    database: env.PGDATABASE ?? 'postgres',
  };
}

/**
 * A coordinator that already exists must have the embedded layout: postgres_fdw servers named
 * seg0..segN-1, one per segment instance. Their options say where the segments listen.
 */
async function discoverSegments(coordinator: Instance): Promise<Instance[]> {
  return withClient(coordinator, async (client) => {
    const { rows } = await client.query<{ srvname: string; srvoptions: string[] | null }>(
      "SELECT srvname, srvoptions FROM pg_foreign_server WHERE srvname ~ '^seg[0-9]+$' ORDER BY substring(srvname from 4)::int",
    );
    return rows.map((row, i) => {
      if (row.srvname !== `seg${i}`) throw new Error(`foreign servers on ${coordinator.host}:${coordinator.port} skip seg${i}`);
      const options = Object.fromEntries((row.srvoptions ?? []).map((o) => o.split(/=(.*)/s).slice(0, 2)));
      return {
        name: row.srvname,
        host: options.host ?? coordinator.host,
        port: Number(options.port ?? 5432),
        user: coordinator.user,
        password: coordinator.password,
        database: options.dbname ?? coordinator.database,
      };
    });
  });
}

export async function resolveTopology(options: { db?: string; segments?: number } = {}): Promise<Topology> {
  const external = options.db ? coordinatorFromUrl(options.db) : coordinatorFromEnv();
  if (!external) return ensureCluster({ segments: options.segments });
  const segments = await discoverSegments(external);
  if (segments.length === 0) {
    throw new Error(
      `the coordinator at ${external.host}:${external.port}/${external.database} has no postgres_fdw servers named seg0, seg1, ...: ` +
        'bench needs the coordinator + segments layout (see README, "Using an existing server"), or drop --db/PG* to use the embedded cluster.',
    );
  }
  if (options.segments !== undefined && options.segments !== segments.length) {
    throw new Error(`--segments ${options.segments} asked, but the coordinator at ${external.host}:${external.port} has ${segments.length} segments`);
  }
  return { coordinator: external, segments, embedded: false };
}
