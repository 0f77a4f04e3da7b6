// The embedded cluster (docs/architecture.md, "Cluster"): a coordinator and N segment PostgreSQL 15 instances,
// each its own data directory and loopback port under .bench/pg, wired with postgres_fdw so that
// one statement runs on all segments concurrently (Async Foreign Scans) and a `WHERE seg = i`
// statement is pruned to one segment.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { withClient, ident, literal } from './connect.js';
import type { Instance, Topology } from './topology.js';
import { repoRoot, benchHome } from '../core/paths.js';
import { PG_BIN, POSTGRES_OS_USER, freePort, isRoot, pgBinary, postgresOwner } from './postgres-os.js';

export { postgresOwner };

const run = promisify(execFile);

export const DATABASE = 'bench';
const SUPERUSER = POSTGRES_OS_USER;
export const DEFAULT_SEGMENTS = 4;

/** Settings every instance runs with; recorded in each run's environment fingerprint. */
export const INSTANCE_SETTINGS: Record<string, string> = {
  listen_addresses: "'127.0.0.1'",
  jit: 'off',
  synchronous_commit: 'off',
  max_connections: '64',
  shared_buffers: "'128MB'",
  // One backend per segment does the work; parallel workers would re-import the engine per query.
  max_parallel_workers_per_gather: '0',
  enable_partitionwise_join: 'on',
  enable_partitionwise_aggregate: 'on',
  logging_collector: 'off',
  log_min_messages: 'warning',
};

interface StoredTopology {
  segments: number;
  ports: number[]; // coordinator first
}

let resolvedClusterDir: string | undefined;

/**
 * .bench/pg in the repository, unless the postgres OS user cannot reach it (a checkout under a
 * private home directory): then a directory under /var/lib/bench keyed by the checkout's path.
 */
function clusterDir(): string {
  if (resolvedClusterDir) return resolvedClusterDir;
  const preferred = join(benchHome(), 'pg');
  resolvedClusterDir = preferred;
  if (isRoot() && !postgresCanReach(benchHome())) {
    const key = createHash('sha1').update(repoRoot()).digest('hex').slice(0, 12);
    resolvedClusterDir = join('/var/lib/bench', key, 'pg');
  }
  return resolvedClusterDir;
}

/** Whether every directory above `dir` lets the postgres user through. */
function postgresCanReach(dir: string): boolean {
  const result = spawnSync('runuser', ['-u', SUPERUSER, '--', 'test', '-x', dirname(dir)]);
  return result.status === 0;
}

/**
 * The engine package as the servers import it: copied next to the cluster so the postgres user can
 * read it wherever the checkout lives.
 */
async function installEnginePackage(): Promise<string> {
  const target = join(clusterDir(), 'engine');
  // Overwrite in place (no removal): backends of a running server import from here at any time.
  await cp(join(repoRoot(), 'infra', 'engine', 'bench_engine'), join(target, 'bench_engine'), {
    recursive: true,
    filter: (source) => !source.includes('__pycache__'),
  });
  return target;
}

function instanceNames(segments: number): string[] {
  return ['coordinator', ...Array.from({ length: segments }, (_, i) => `seg${i}`)];
}

async function readStored(): Promise<StoredTopology | undefined> {
  const file = join(clusterDir(), 'topology.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(await readFile(file, 'utf8')) as StoredTopology;
}

function toTopology(stored: StoredTopology): Topology {
  const instances: Instance[] = instanceNames(stored.segments).map((name, i) => ({
    name,
    host: '127.0.0.1',
    port: stored.ports[i],
    user: SUPERUSER,
    database: DATABASE,
    dataDir: join(clusterDir(), name),
  }));
  return { coordinator: instances[0], segments: instances.slice(1), embedded: true };
}

async function isRunning(instance: Instance): Promise<boolean> {
  if (!instance.dataDir || !existsSync(join(instance.dataDir, 'PG_VERSION'))) return false;
  try {
    await pgBinary('pg_ctl', ['-D', instance.dataDir, 'status']);
    return true;
  } catch {
    return false;
  }
}

async function initInstance(instance: Instance): Promise<void> {
  const dataDir = instance.dataDir as string;
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  await mkdir(dataDir, { recursive: true, mode: 0o750 });
  if (isRoot()) await chownToPostgres(dataDir);
  // Group access: the direct reader runs as a member of the postgres group, never as root.
  await pgBinary('initdb', ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--allow-group-access']);
  const settings = { ...INSTANCE_SETTINGS, port: String(instance.port), unix_socket_directories: `'${join(clusterDir(), 'run')}'` };
  const conf = Object.entries(settings)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n');
  await writeFile(join(dataDir, 'postgresql.auto.conf'), `# written by bench\n${conf}\n`);
  if (isRoot()) await chownToPostgres(join(dataDir, 'postgresql.auto.conf'));
}

/**
 * The model store the segment servers read and write (CTQ's "shared filesystem"): beside the
 * embedded cluster, where the postgres user can reach it.
 */
export function sharedModelDir(runId: string): string {
  return join(clusterDir(), 'models', runId);
}
async function chownToPostgres(path: string): Promise<void> {
  const owner = postgresOwner();
  if (owner) await chown(path, owner.uid, owner.gid);
}

async function startInstance(instance: Instance): Promise<void> {
  if (await isRunning(instance)) return;
  const dataDir = instance.dataDir as string;
  // The servers import the engine package through PL/Python.
  await pgBinary('pg_ctl', ['-D', dataDir, '-l', join(clusterDir(), `${instance.name}.log`), '-w', '-t', '60', 'start'], {
    PYTHONPATH: join(clusterDir(), 'engine'),
    OMP_NUM_THREADS: '1',
  });
}

/** The `bench` extension: every infra/sql/*.sql file, concatenated in name order. */
async function extensionScript(): Promise<string> {
  const dir = join(repoRoot(), 'infra', 'sql');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const parts = await Promise.all(files.map(async (f) => `-- ${f}\n${await readFile(join(dir, f), 'utf8')}`));
  return `-- generated by bench from infra/sql; do not edit\n\\echo Use "CREATE EXTENSION bench" to load this file. \\quit\n${parts.join('\n')}`;
}

/**
 * The extension's version is the hash of its script, and each version is its own file: checkouts
 * with different SQL share the server's extension directory without overwriting each other's
 * script, and a changed script is a new version the instances move to.
 */
async function installExtensionFiles(script: string, version: string): Promise<void> {
  const shareDir = (await run(join(PG_BIN, 'pg_config'), ['--sharedir'])).stdout.trim();
  const extDir = join(shareDir, 'extension');
  const control = [
    "comment = 'bench: deep learning training inside PostgreSQL (engine UDAFs, packing)'",
    `default_version = '${version}'`,
    "requires = 'plpython3u'",
    'relocatable = false',
    'superuser = true',
    '',
  ].join('\n');
  try {
    await writeFile(join(extDir, 'bench.control'), control);
    const file = join(extDir, `bench--${version}.sql`);
    if (!existsSync(file)) await writeFile(file, script);
  } catch (error) {
    throw new Error(
      `cannot install the bench extension into ${extDir} (${(error as Error).message}). Run \`bash infra/setup.sh\` as root, or run bench as root once.`,
    );
  }
}

/** Create the database, extensions and (on the coordinator) the foreign servers. Idempotent. */
async function configureInstance(instance: Instance, topology: Topology, scriptHash: string, coordinator: boolean): Promise<void> {
  const maintenance: Instance = { ...instance, database: 'postgres' };
  await withClient(maintenance, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${ident(DATABASE)}`);
  });
  await withClient(instance, async (client) => {
    await client.query('CREATE EXTENSION IF NOT EXISTS plpython3u');
    const { rows } = await client.query<{ version: string }>("SELECT extversion AS version FROM pg_extension WHERE extname = 'bench'");
    if (rows[0]?.version !== scriptHash) {
      await client.query('DROP EXTENSION IF EXISTS bench CASCADE');
      await client.query(`CREATE EXTENSION bench VERSION ${literal(scriptHash)}`);
    }
    if (!coordinator) return;
    await client.query('CREATE EXTENSION IF NOT EXISTS postgres_fdw');
    for (const [i, segment] of topology.segments.entries()) {
      const server = `seg${i}`;
      const options = {
        host: segment.host,
        port: String(segment.port),
        dbname: segment.database,
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
      const { rowCount } = await client.query('SELECT 1 FROM pg_foreign_server WHERE srvname = $1', [server]);
      const list = Object.entries(options).map(([k, v]) => `${k} ${literal(v)}`);
      if (!rowCount) {
        await client.query(`CREATE SERVER ${ident(server)} FOREIGN DATA WRAPPER postgres_fdw OPTIONS (${list.join(', ')})`);
        await client.query(`CREATE USER MAPPING FOR ${ident(SUPERUSER)} SERVER ${ident(server)} OPTIONS (user ${literal(SUPERUSER)})`);
      } else {
        const { rows: current } = await client.query<{ option: string }>('SELECT split_part(unnest(srvoptions), \'=\', 1) AS option FROM pg_foreign_server WHERE srvname = $1', [server]);
        const present = new Set(current.map((r) => r.option));
        const changes = Object.entries(options).map(([k, v]) => `${present.has(k) ? 'SET' : 'ADD'} ${k} ${literal(v)}`);
        await client.query(`ALTER SERVER ${ident(server)} OPTIONS (${changes.join(', ')})`);
      }
    }
  });
}

export async function ensureExtensionCurrent(topology: Topology): Promise<void> {
  const script = await extensionScript();
  const hash = createHash('sha256').update(script).digest('hex').slice(0, 16);
  await installExtensionFiles(script, hash);
  await Promise.all([
    configureInstance(topology.coordinator, topology, hash, true),
    ...topology.segments.map((s) => configureInstance(s, topology, hash, false)),
  ]);
}

/**
 * Start (creating on first use) the embedded cluster; reuse it when it is there. With a different
 * segment count than the existing cluster, the cluster is rebuilt.
 */
export async function ensureCluster(options: { segments?: number } = {}): Promise<Topology> {
  const wanted = options.segments ?? (await readStored())?.segments ?? DEFAULT_SEGMENTS;
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > 64) throw new Error(`--segments must be an integer from 1 to 64, got ${wanted}`);
  let stored = await readStored();
  if (stored && stored.segments !== wanted) {
    await stopCluster();
    await rm(clusterDir(), { recursive: true, force: true });
    stored = undefined;
  }
  await mkdir(join(clusterDir(), 'run'), { recursive: true });
  if (isRoot()) {
    await chownToPostgres(clusterDir());
    await chownToPostgres(join(clusterDir(), 'run'));
  }
  if (!stored) {
    const ports: number[] = [];
    for (let i = 0; i <= wanted; i++) {
      let port = await freePort();
      while (ports.includes(port)) port = await freePort();
      ports.push(port);
    }
    stored = { segments: wanted, ports };
    await writeFile(join(clusterDir(), 'topology.json'), JSON.stringify(stored, null, 2));
  }
  const topology = toTopology(stored);
  const all = [topology.coordinator, ...topology.segments];
  // New backends import the current engine; backends that already run keep the one they imported.
  await installEnginePackage();
  for (const instance of all) await initInstance(instance);
  await Promise.all(all.map((instance) => startInstance(instance)));
  await ensureExtensionCurrent(topology);
  return topology;
}

export async function stopCluster(): Promise<void> {
  const stored = await readStored();
  if (!stored) return;
  const topology = toTopology(stored);
  await Promise.all(
    [topology.coordinator, ...topology.segments].map(async (instance) => {
      if (await isRunning(instance)) await pgBinary('pg_ctl', ['-D', instance.dataDir as string, '-m', 'fast', '-w', 'stop']);
    }),
  );
}

export interface InstanceStatus {
  instance: Instance;
  running: boolean;
}

/** The embedded cluster's topology and whether each instance runs; undefined when none was created. */
export async function clusterStatus(): Promise<InstanceStatus[] | undefined> {
  const stored = await readStored();
  if (!stored) return undefined;
  const topology = toTopology(stored);
  return Promise.all([topology.coordinator, ...topology.segments].map(async (instance) => ({ instance, running: await isRunning(instance) })));
}
