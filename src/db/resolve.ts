// Which cluster a command talks to: --db <url> (or PG* variables) for a coordinator that already
// exists, otherwise the embedded cluster under .bench/pg.
import { withClient } from './connect.js';
import { ensureCluster } from './cluster.js';
import { registerSecret } from '../core/secrets.js';
import {
  CONNECTION_PARAM_NAMES,
  instanceUrl,
  type ConnectionParams,
  type Instance,
  type Topology,
} from './topology.js';
import { instanceFromUrl } from './urls.js';
import { parseOptions } from './wiring.js';

/** The database a layout URL without one names (attach creates it there). */
export const DEFAULT_LAYOUT_DATABASE = 'bench';

function coordinatorFromEnv(): Instance | undefined {
  const env = process.env;
  if (!env.PGHOST && !env.PGPORT && !env.PGDATABASE) return undefined;
  const user = env.PGUSER ?? env.USER ?? 'postgres';
  return {
    name: 'coordinator',
    host: env.PGHOST ?? 'localhost',
    port: Number(env.PGPORT ?? 5432),
    user,
    database: env.PGDATABASE ?? user,
  };
}

/**
 * A coordinator that already exists must have the embedded layout: postgres_fdw servers named
 * seg0..segN-1, one per segment instance. Their options say where the segments listen (and with
 * which sslmode); the current user's mapping says as whom, and with which password.
 */
async function discoverSegments(coordinator: Instance): Promise<Instance[]> {
  return withClient(coordinator, async (client) => {
    const { rows } = await client.query<{ srvname: string; srvoptions: string[] | null; umoptions: string[] | null }>(
      `SELECT s.srvname, s.srvoptions, um.umoptions FROM pg_foreign_server s
         LEFT JOIN pg_user_mappings um ON um.srvid = s.oid AND um.usename = current_user
        WHERE s.srvname ~ '^seg[0-9]+$' ORDER BY substring(s.srvname from 4)::int`,
    );
    return rows.map((row, i) => {
      if (row.srvname !== `seg${i}`) throw new Error(`foreign servers on ${instanceUrl(coordinator)} skip seg${i}`);
      const options = parseOptions(row.srvoptions);
      const mapping = parseOptions(row.umoptions);
      const params: ConnectionParams = {};
      for (const name of CONNECTION_PARAM_NAMES) if (options[name] !== undefined) params[name] = options[name];
      registerSecret(mapping.password);
      return {
        name: row.srvname,
        host: options.host ?? coordinator.host,
        port: Number(options.port ?? 5432),
        user: mapping.user ?? coordinator.user,
        password: mapping.password,
        database: options.dbname ?? coordinator.database,
        ...(Object.keys(params).length ? { params } : {}),
      };
    });
  });
}

/**
 * The coordinator a --db URL (or the PG* variables) names; undefined means the embedded cluster. A
 * URL without a database names `bench`, as attach does.
 */
export function externalCoordinator(db: string | undefined): Instance | undefined {
  return db ? instanceFromUrl(db, 'coordinator', { database: DEFAULT_LAYOUT_DATABASE }) : coordinatorFromEnv();
}

/** The layout of an existing coordinator, from its foreign servers. */
export async function discoverTopology(coordinator: Instance): Promise<Topology> {
  const segments = await discoverSegments(coordinator);
  if (segments.length === 0) {
    throw new Error(
      `the coordinator at ${instanceUrl(coordinator)} has no postgres_fdw servers named seg0, seg1, ...: ` +
        'build the layout with `npx bench db attach --coordinator <URL> --segment <URL> ...` ' +
        '(README, "Using servers bench did not start"), ' +
        'or drop --db/PG* to use the embedded cluster.',
    );
  }
  return { coordinator, segments, embedded: false };
}

export async function resolveTopology(options: { db?: string; segments?: number } = {}): Promise<Topology> {
  const external = externalCoordinator(options.db);
  if (!external) return ensureCluster({ segments: options.segments });
  const topology = await discoverTopology(external);
  if (options.segments !== undefined && options.segments !== topology.segments.length) {
    throw new Error(
      `--segments ${options.segments} asked, but the coordinator at ${instanceUrl(external)} has ` +
        `${topology.segments.length} segments`,
    );
  }
  return topology;
}
