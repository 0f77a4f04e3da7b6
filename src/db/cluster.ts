// The embedded cluster (docs/architecture.md, "Cluster"): a coordinator and N segment PostgreSQL 15 instances,
// each its own data directory and loopback port under .bench/pg, wired with postgres_fdw so that
// one statement runs on all segments concurrently (Async Foreign Scans) and a `WHERE seg = i`
// statement is pruned to one segment. Only the holder of the cluster's password file gets in
// (src/db/embedded-auth.ts).
import { existsSync } from 'node:fs';
import { chown, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withClient, ident, literal } from './connect.js';
import type { Instance, Topology } from './topology.js';
import { repoRoot } from '../core/paths.js';
import { freePort, isRoot, pgBinary, postgresOwner } from './postgres-os.js';
import { clusterDir, clusterPassfile, clusterSocketDir } from './cluster-dir.js';
import {
  SUPERUSER,
  ensureClusterSecret,
  hbaIsCurrent,
  migrateToPassword,
  readClusterSecret,
  withInitdbPasswordFile,
  writeHbaConf,
} from './embedded-auth.js';
import { extensionBuild, installExtensionLocally } from './extension.js';
import { portHolder, portIsFree } from './ports.js';
import { runLockHolder } from './run-lock.js';
import { segmentServerName, wireSegment } from './wiring.js';

export { postgresOwner };

export const DATABASE = 'bench';
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
    passfile: clusterPassfile(),
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

async function initInstance(instance: Instance, secret: string): Promise<void> {
  const dataDir = instance.dataDir as string;
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  await mkdir(dataDir, { recursive: true, mode: 0o750 });
  if (isRoot()) await chownToPostgres(dataDir);
  // Group access: the direct reader runs as a member of the postgres group, never as root.
  await withInitdbPasswordFile(clusterDir(), secret, (pwfile) =>
    pgBinary('initdb', [
      '-D',
      dataDir,
      '-U',
      SUPERUSER,
      '--auth=scram-sha-256',
      `--pwfile=${pwfile}`,
      '--encoding=UTF8',
      '--locale=C',
      '--allow-group-access',
    ]),
  );
  await writeHbaConf(dataDir);
  const settings = {
    ...INSTANCE_SETTINGS,
    port: String(instance.port),
    unix_socket_directories: `'${clusterSocketDir()}'`,
  };
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

function logFile(instance: Instance): string {
  return join(clusterDir(), `${instance.name}.log`);
}

async function startInstance(instance: Instance): Promise<void> {
  const dataDir = instance.dataDir as string;
  // The servers import the engine package through PL/Python.
  try {
    await pgBinary('pg_ctl', ['-D', dataDir, '-l', logFile(instance), '-w', '-t', '60', 'start'], {
      PYTHONPATH: join(clusterDir(), 'engine'),
      OMP_NUM_THREADS: '1',
    });
  } catch (error) {
    const log = existsSync(logFile(instance))
      ? (await readFile(logFile(instance), 'utf8')).trim().split('\n').slice(-3).join(' | ')
      : '';
    throw new Error(
      `${instance.name} (port ${instance.port}) did not start: ` +
        `${(error as Error).message}${log ? `; its log ends: ${log}` : ''}`,
    );
  }
}

async function stopInstance(instance: Instance): Promise<void> {
  await pgBinary('pg_ctl', ['-D', instance.dataDir as string, '-m', 'fast', '-w', 'stop']);
}

/** Instances whose port another program holds: refused before anything starts. */
async function takenPorts(instances: Instance[]): Promise<string[]> {
  const taken: string[] = [];
  for (const instance of instances) {
    if (await portIsFree(instance.port)) continue;
    const holder = portHolder(instance.port);
    taken.push(`${instance.name}'s port ${instance.port} on 127.0.0.1 is taken by ${holder ?? 'another program'}`);
  }
  return taken;
}

/**
 * Start the instances that are not running. Nothing starts when a port is taken; when one fails
 * to start, the ones this call started are stopped again, and the error says which.
 */
async function startInstances(all: Instance[]): Promise<void> {
  const stopped: Instance[] = [];
  for (const instance of all) if (!(await isRunning(instance))) stopped.push(instance);
  const taken = await takenPorts(stopped);
  if (taken.length) {
    const running = all.filter((i) => !stopped.includes(i)).map((i) => i.name);
    throw new Error(
      `the embedded cluster cannot start: ${taken.join('; ')}. Nothing was started` +
        `${running.length ? ` (already running, left as they were: ${running.join(', ')})` : ''}. ` +
        `Stop that program, or give the cluster new ports with \`npx bench db up --new-ports\`.`,
    );
  }
  const results = await Promise.allSettled(stopped.map((instance) => startInstance(instance)));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failures.length === 0) return;
  const started = stopped.filter((_, i) => results[i].status === 'fulfilled');
  const stopErrors: string[] = [];
  for (const instance of started)
    await stopInstance(instance).catch((e: Error) => stopErrors.push(`${instance.name}: ${e.message}`));
  const left = stopErrors.length ? ` Could not stop again: ${stopErrors.join('; ')}.` : '';
  throw new Error(
    `the embedded cluster did not start: ${failures.join('; ')}. ` +
      (started.length
        ? `Stopped ${started.map((i) => i.name).join(', ')} again (started by this command).`
        : 'No other instance was started.') +
      left,
  );
}

/** Give every (stopped) instance a new free port: `bench db up --new-ports`. */
async function assignNewPorts(stored: StoredTopology, topology: Topology): Promise<StoredTopology> {
  const all = [topology.coordinator, ...topology.segments];
  const running = [];
  for (const instance of all) if (await isRunning(instance)) running.push(instance.name);
  if (running.length)
    throw new Error(
      `--new-ports needs the cluster stopped, but ${running.join(', ')} run: \`npx bench db down\` first`,
    );
  const ports: number[] = [];
  for (let i = 0; i < all.length; i++) {
    let port = await freePort();
    while (ports.includes(port)) port = await freePort();
    ports.push(port);
  }
  for (const [i, instance] of all.entries()) {
    const file = join(instance.dataDir as string, 'postgresql.auto.conf');
    if (!existsSync(file)) continue;
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace(/^port = \d+$/m, `port = ${ports[i]}`));
  }
  const next = { ...stored, ports };
  await writeFile(join(clusterDir(), 'topology.json'), JSON.stringify(next, null, 2));
  return next;
}

/** Create the database, extensions and (on the coordinator) the foreign servers. Idempotent. */
async function configureInstance(
  instance: Instance,
  topology: Topology,
  version: string,
  coordinator: boolean,
  secret: string,
): Promise<void> {
  const maintenance: Instance = { ...instance, database: 'postgres' };
  await withClient(maintenance, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${ident(DATABASE)}`);
  });
  await withClient(instance, async (client) => {
    await client.query('CREATE EXTENSION IF NOT EXISTS plpython3u');
    const { rows } = await client.query<{ version: string }>(
      "SELECT extversion AS version FROM pg_extension WHERE extname = 'bench'",
    );
    if (rows[0]?.version !== version) {
      await client.query('DROP EXTENSION IF EXISTS bench CASCADE');
      await client.query(`CREATE EXTENSION bench VERSION ${literal(version)}`);
    }
    if (!coordinator) return;
    await client.query('CREATE EXTENSION IF NOT EXISTS postgres_fdw');
    for (const [i, segment] of topology.segments.entries())
      await wireSegment(client, segmentServerName(i), segment, secret);
  });
}

export async function ensureExtensionCurrent(topology: Topology): Promise<void> {
  const build = await extensionBuild();
  await installExtensionLocally(build);
  const secret = await ensureClusterSecret();
  await Promise.all([
    configureInstance(topology.coordinator, topology, build.version, true, secret),
    ...topology.segments.map((s) => configureInstance(s, topology, build.version, false, secret)),
  ]);
}

/** An instance created before the cluster had a password: its pg_hba.conf still says `trust`. */
async function secureInstances(all: Instance[]): Promise<void> {
  const secret = await ensureClusterSecret();
  for (const instance of all) {
    if (!(await hbaIsCurrent(instance.dataDir as string))) await migrateToPassword(instance, secret);
  }
}

/**
 * Start (creating on first use) the embedded cluster; reuse it when it is there. With a different
 * segment count than the existing cluster, the cluster is rebuilt. `newPorts` moves a stopped
 * cluster to free ports (when another program took one of its ports).
 */
export async function ensureCluster(options: { segments?: number; newPorts?: boolean } = {}): Promise<Topology> {
  const wanted = options.segments ?? (await readStored())?.segments ?? DEFAULT_SEGMENTS;
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > 64)
    throw new Error(`--segments must be an integer from 1 to 64, got ${wanted}`);
  let stored = await readStored();
  if (stored && stored.segments !== wanted) {
    await refuseWhileRunHolds(`be rebuilt from ${stored.segments} to ${wanted} segments`);
    await stopCluster();
    await rm(clusterDir(), { recursive: true, force: true });
    stored = undefined;
  }
  await mkdir(clusterSocketDir(), { recursive: true });
  if (isRoot()) {
    await chownToPostgres(clusterDir());
    await chownToPostgres(clusterSocketDir());
  }
  const initialized =
    stored !== undefined && existsSync(join(toTopology(stored).coordinator.dataDir as string, 'PG_VERSION'));
  if (
    initialized &&
    !readClusterSecret() &&
    (await hbaIsCurrent(toTopology(stored as StoredTopology).coordinator.dataDir as string))
  ) {
    throw new Error(
      `the embedded cluster's password file ${clusterPassfile()} is missing, and the cluster admits no one without ` +
        `it. ` +
        `Restore the file, or rebuild the cluster: \`npx bench db down && rm -rf ${clusterDir()} && npx bench db ` +
        `up\` (its data is lost).`,
    );
  }
  const secret = await ensureClusterSecret();
  if (!stored) {
    const ports: number[] = [];
    for (let i = 0; i <= wanted; i++) {
      let port = await freePort();
      while (ports.includes(port)) port = await freePort();
      ports.push(port);
    }
    stored = { segments: wanted, ports };
    await writeFile(join(clusterDir(), 'topology.json'), JSON.stringify(stored, null, 2));
  } else if (options.newPorts) {
    stored = await assignNewPorts(stored, toTopology(stored));
  }
  const topology = toTopology(stored);
  const all = [topology.coordinator, ...topology.segments];
  // New backends import the current engine; backends that already run keep the one they imported.
  await installEnginePackage();
  for (const instance of all) await initInstance(instance, secret);
  await startInstances(all);
  await secureInstances(all);
  await ensureExtensionCurrent(topology);
  return topology;
}

/**
 * Throws, changing nothing, when a run holds the embedded cluster (its lock on the coordinator):
 * `what` the cluster would otherwise undergo, e.g. "be rebuilt from 2 to 4 segments".
 */
export async function refuseWhileRunHolds(what: string): Promise<void> {
  const stored = await readStored();
  if (!stored) return;
  const { coordinator } = toTopology(stored);
  if (!(await isRunning(coordinator))) return;
  const holder = await withClient(coordinator, runLockHolder);
  if (!holder) return;
  const by = holder.applicationName ? `, ${holder.applicationName}` : '';
  throw new Error(
    `a bench run is using the embedded cluster (coordinator backend pid ${holder.pid}${by}), so it cannot ${what} ` +
      `now; nothing was changed. Wait for that run to end, or give this command a cluster of its own with ` +
      `BENCH_HOME=<dir>`,
  );
}

export async function stopCluster(): Promise<void> {
  const stored = await readStored();
  if (!stored) return;
  const topology = toTopology(stored);
  await Promise.all(
    [topology.coordinator, ...topology.segments].map(async (instance) => {
      if (await isRunning(instance)) await stopInstance(instance);
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
  return Promise.all(
    [topology.coordinator, ...topology.segments].map(async (instance) => ({
      instance,
      running: await isRunning(instance),
    })),
  );
}

/** The embedded cluster's topology as stored, without starting anything; undefined when none was created. */
export async function storedTopology(): Promise<Topology | undefined> {
  const stored = await readStored();
  return stored ? toTopology(stored) : undefined;
}
