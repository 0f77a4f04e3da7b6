// `bench db attach`: build the coordinator + segments layout on PostgreSQL servers bench did not
// start (docs/attach.md). First everything is checked without changing anything (versions,
// superuser, PL/Python, torch, whether bench can write the server's files from here); then bench's
// files are installed on each server's host, and on each instance the database, the extensions,
// the settings and (on the coordinator) the postgres_fdw servers and user mappings are created.
// Everything created is recorded on the instance (src/db/attach-record.ts) for `bench db detach`.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { benchHome, repoRoot } from '../core/paths.js';
import { redact } from '../core/secrets.js';
import { DatabaseUnreachableError, connect, ident, literal, withClient } from './connect.js';
import { resolvePassword } from './credentials.js';
import { addRecord, ensureRecordTable, readRecord, recorded, type RecordRow } from './attach-record.js';
import { SESSION_SETTINGS, checkLayout, type CheckRow } from './check.js';
import { enginePackage, type EnginePackage } from './engine-package.js';
import { extensionBuild, type ExtensionBuild } from './extension.js';
import { runScript, sharedWritableDir, type HostAccess } from './host-access.js';
import { installScript, shellQuote, type HostLayout } from './host-install.js';
import { pythonFacts, serverFacts, type PythonFacts, type ServerFacts } from './probe.js';
import { instanceUrl, type Instance, type Topology } from './topology.js';
import { sameDatabase, instanceFromUrl } from './urls.js';
import { DEFAULT_LAYOUT_DATABASE } from './resolve.js';
import { segmentServerName, wireSegment } from './wiring.js';

const run = promisify(execFile);

/** Refused: nothing (or, for host files, only what is listed) was changed; each problem names its instance and fix. */
export class LayoutRefused extends Error {
  constructor(
    readonly problems: string[],
    readonly commands: string[] = [],
  ) {
    super(`bench db attach refused:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'LayoutRefused';
  }
}

export interface AttachOutcome {
  topology: Topology;
  /** What was done, one line each. */
  actions: string[];
  check: CheckRow[];
}

export function layoutFromUrls(coordinatorUrl: string, segmentUrls: string[]): Topology {
  if (segmentUrls.length === 0) throw new Error('bench db attach needs at least one --segment URL');
  const coordinator = instanceFromUrl(coordinatorUrl, 'coordinator', { database: DEFAULT_LAYOUT_DATABASE });
  const segments = segmentUrls.map((url, i) => instanceFromUrl(url, `seg${i}`, { database: DEFAULT_LAYOUT_DATABASE }));
  const all = [coordinator, ...segments];
  for (const [i, a] of all.entries()) {
    for (const b of all.slice(i + 1)) {
      if (sameDatabase(a, b))
        throw new Error(`${a.name} and ${b.name} are the same database (${instanceUrl(a)}): each needs its own`);
    }
  }
  return { coordinator, segments, embedded: false };
}

interface Probe {
  instance: Instance;
  server: ServerFacts;
  python: PythonFacts;
}

async function gitSha(): Promise<string> {
  return (
    (await run('git', ['rev-parse', 'HEAD'], { cwd: repoRoot() }).catch(() => undefined))?.stdout.trim() ?? 'unknown'
  );
}

/** Phase 1, read-only: connect to the maintenance database and probe the server and its Python. */
async function probeInstance(instance: Instance): Promise<Probe> {
  const client = await connect({ ...instance, database: 'postgres' }, 'bench-attach').catch((error: Error) => {
    const reason = error instanceof DatabaseUnreachableError ? error.reason : error.message;
    const ssl =
      /no encryption/.test(reason) && !instance.params?.sslmode
        ? ' (it accepts SSL connections only: add ?sslmode=require to its URL)'
        : '';
    throw new Error(`${instance.name}: cannot connect to ${instanceUrl(instance)}: ${reason}${ssl}`);
  });
  try {
    const server = await serverFacts(client);
    if (!server.superuser) {
      throw new Error(
        `${instance.name}: ${server.user} is not a superuser on ${instanceUrl(instance)}; attach creates ` +
          `untrusted-language functions and extensions, so it needs one (later runs do not)`,
      );
    }
    if (!server.available.plpython3u) {
      throw new Error(
        `${instance.name}: PL/Python is not installed for PostgreSQL ${server.major} on its host: there, apt-get ` +
          `install postgresql-plpython3-${server.major}`,
      );
    }
    return { instance, server, python: await pythonFacts(client, true) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function consistencyProblems(probes: Probe[], isCoordinator: (p: Probe) => boolean): string[] {
  const problems: string[] = [];
  const ref = probes[0];
  for (const p of probes) {
    const name = p.instance.name;
    if (p.server.major < 14)
      problems.push(
        `${name}: PostgreSQL ${p.server.version} is too old (postgres_fdw async execution needs 14 or later)`,
      );
    if (p.server.major !== ref.server.major)
      problems.push(`${name}: PostgreSQL ${p.server.major}, but the coordinator runs ${ref.server.major}`);
    const minor = (v: string): string => v.split('.').slice(0, 2).join('.');
    if (minor(p.python.python) !== minor(ref.python.python))
      problems.push(`${name}: PL/Python runs Python ${p.python.python}, the coordinator's ${ref.python.python}`);
    const torch = p.python.torch;
    if (!torch || 'error' in torch) {
      problems.push(
        `${name}: the server's PL/Python cannot import torch ` +
          `(${torch && 'error' in torch ? torch.error : 'not probed'}); on its host: apt-get install python3-torch ` +
          `python3-numpy libopenblas0-openmp`,
      );
    } else if (ref.python.torch && 'version' in ref.python.torch && torch.version !== ref.python.torch.version) {
      problems.push(
        `${name}: torch ${torch.version}, the coordinator's ${ref.python.torch.version}: every instance must train ` +
          `with the same engine`,
      );
    }
    if (isCoordinator(p) && !p.server.available.postgres_fdw)
      problems.push(`${name}: postgres_fdw is not installed on its host: apt-get install postgresql-contrib`);
    if (!p.server.sharedir) problems.push(`${name}: cannot read pg_config (not a superuser?)`);
    if (p.python.sitePackages.length === 0)
      problems.push(`${name}: the server's Python has no site-packages directory to put bench_engine.pth in`);
  }
  return problems;
}

function needsFiles(p: Probe, extension: ExtensionBuild, engine: EnginePackage): boolean {
  const hasExtension = p.server.available.benchVersions.includes(extension.version);
  const hasEngine = 'version' in p.python.engine && p.python.engine.version === engine.version;
  return !hasExtension || !hasEngine;
}

interface HostGroup {
  key: string;
  layout: HostLayout;
  probes: Probe[];
  /** Why bench cannot write this host's files from here; undefined when it can. */
  remote?: string;
}

/** Can this machine write the server's extension and site directories, and does the server see what it writes? */
async function hostAccess(p: Probe, layout: HostLayout): Promise<HostAccess> {
  return withClient({ ...p.instance, database: 'postgres' }, async (client) => {
    const share = await sharedWritableDir(client, `${layout.sharedir}/extension`);
    return share.local ? sharedWritableDir(client, layout.siteDir) : share;
  });
}

/** The instances that need bench's files, by host: this machine's file system, or each other host. */
async function hostGroups(probes: Probe[], extension: ExtensionBuild, engine: EnginePackage): Promise<HostGroup[]> {
  const groups = new Map<string, HostGroup>();
  for (const p of probes.filter((probe) => needsFiles(probe, extension, engine))) {
    const layout = { sharedir: p.server.sharedir as string, siteDir: p.python.sitePackages[0] };
    const access = await hostAccess(p, layout);
    const where = access.local ? 'local' : `${p.instance.host} (${p.python.hostname})`;
    const key = `${where}|${layout.sharedir}|${layout.siteDir}`;
    const group = groups.get(key) ?? { key, layout, probes: [], ...(access.local ? {} : { remote: access.reason }) };
    group.probes.push(p);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/**
 * Install bench's files where a host lacks them: run the script here when this machine shares the
 * server's file system and may write there; otherwise write it and say what to run on that host.
 */
async function installHostFiles(
  probes: Probe[],
  extension: ExtensionBuild,
  engine: EnginePackage,
  actions: string[],
): Promise<string[]> {
  const problems: string[] = [];
  const dir = join(benchHome(), 'attach');
  for (const group of await hostGroups(probes, extension, engine)) {
    const first = group.probes[0];
    const hostLabel = group.remote ? first.instance.host : 'local';
    const id = createHash('sha1').update(group.key).digest('hex').slice(0, 8);
    const path = join(dir, `install-${hostLabel.replace(/[^A-Za-z0-9.-]/g, '_')}-${id}.sh`);
    await mkdir(dir, { recursive: true });
    await writeFile(path, installScript(group.layout, extension, engine), { mode: 0o644 });
    const names = group.probes.map((p) => p.instance.name).join(', ');
    if (!group.remote) {
      await runScript(path);
      actions.push(
        `installed the bench extension ${extension.version} and bench_engine ${engine.version} for ${names} on this ` +
          `machine (${path})`,
      );
    } else {
      const host = first.instance.host;
      problems.push(
        `${names}: bench's files are missing on the server's host (${host}, which calls itself ` +
          `${first.python.hostname}) and cannot be ` +
          `installed from here: ${group.remote}. On that host run, as root: sh ${path}   (from here: ssh ${host} ` +
          `sudo sh < ${shellQuote(path)}); then attach again`,
      );
    }
  }
  return problems;
}

async function roleSetting(client: pg.Client, role: string, name: string): Promise<string | null> {
  const { rows } = await client.query<{ config: string[] | null }>(
    `SELECT s.setconfig AS config FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
       JOIN pg_roles r ON r.oid = s.setrole WHERE d.datname = current_database() AND r.rolname = $1`,
    [role],
  );
  for (const entry of rows[0]?.config ?? []) {
    const [key, value] = entry.split(/=(.*)/s);
    if (key === name) return value;
  }
  return null;
}

/** The bench extension at this checkout's version: created, or moved from another version (drop and create). */
async function ensureBenchExtension(
  client: pg.Client,
  instance: Instance,
  version: string,
  record: RecordRow[],
  actions: string[],
): Promise<void> {
  const { rows } = await client.query<{ version: string }>(
    "SELECT extversion AS version FROM pg_extension WHERE extname = 'bench'",
  );
  const current = rows[0]?.version;
  if (current === version) return;
  if (current === undefined) {
    await client.query(`CREATE EXTENSION bench VERSION ${literal(version)}`);
    if (!recorded(record, 'extension', 'bench')) await addRecord(client, 'extension', 'bench');
    actions.push(`${instance.name}: created extension bench ${version}`);
    return;
  }
  // Hash versions have no order and the extension holds no data: a new version replaces the old
  // one whole, in one transaction, and only when nothing outside the extension depends on it.
  await client.query('BEGIN');
  try {
    await client.query('DROP EXTENSION bench RESTRICT');
    await client.query(`CREATE EXTENSION bench VERSION ${literal(version)}`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    const detail = (error as { detail?: string }).detail;
    throw new Error(
      `${instance.name}: cannot move extension bench from ${current} to ${version}: ` +
        `${(error as Error).message}${detail ? ` (${detail.replace(/\n/g, '; ')})` : ''}. ` +
        'Drop those objects (they use bench functions) and attach again',
    );
  }
  actions.push(`${instance.name}: moved extension bench from ${current} to ${version}`);
}

/** Phase 2 on one instance: database, record, extensions, settings; on the coordinator, the wiring. */
async function configureInstance(
  instance: Instance,
  topology: Topology,
  extension: ExtensionBuild,
  engine: EnginePackage,
  sha: string,
  actions: string[],
): Promise<void> {
  const isCoordinator = instance === topology.coordinator;
  const createdDatabase = await withClient({ ...instance, database: 'postgres' }, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [instance.database]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE ${ident(instance.database)}`);
    return true;
  });
  await withClient(instance, async (client) => {
    await ensureRecordTable(client);
    if (createdDatabase) {
      await addRecord(client, 'database', instance.database);
      actions.push(`${instance.name}: created database ${instance.database}`);
    }
    const record = await readRecord(client);
    const createExtension = async (name: string): Promise<void> => {
      const { rowCount } = await client.query('SELECT 1 FROM pg_extension WHERE extname = $1', [name]);
      if (rowCount) return;
      await client.query(`CREATE EXTENSION ${ident(name)}`);
      if (!recorded(record, 'extension', name)) await addRecord(client, 'extension', name);
      actions.push(`${instance.name}: created extension ${name}`);
    };
    await createExtension('plpython3u');
    await ensureBenchExtension(client, instance, extension.version, record, actions);
    for (const [name, value] of Object.entries(SESSION_SETTINGS)) {
      const before = await roleSetting(client, instance.user, name);
      if (before === value) continue;
      await client.query(
        `ALTER ROLE ${ident(instance.user)} IN DATABASE ${ident(instance.database)} SET ${name} = ${literal(value)}`,
      );
      if (!recorded(record, 'setting', name)) await addRecord(client, 'setting', name, { role: instance.user, before });
      actions.push(
        `${instance.name}: set ${name} = ${value} for ${instance.user} in ` +
          `${instance.database}${before === null ? '' : ` (was ${before})`}`,
      );
    }
    if (isCoordinator) {
      await createExtension('postgres_fdw');
      await wireCoordinator(client, topology, record, actions);
      await addRecord(client, 'layout', 'segments', { segments: topology.segments.map((s) => instanceUrl(s)) });
    }
    await addRecord(client, 'installed', 'bench', {
      extension: extension.version,
      engine: engine.version,
      gitSha: sha,
    });
  });
}

async function wireCoordinator(
  client: pg.Client,
  topology: Topology,
  record: RecordRow[],
  actions: string[],
): Promise<void> {
  const { rows } = await client.query<{ srvname: string }>(
    "SELECT srvname FROM pg_foreign_server WHERE srvname ~ '^seg[0-9]+$'",
  );
  const extra = rows.map((r) => r.srvname).filter((name) => Number(name.slice(3)) >= topology.segments.length);
  if (extra.length) {
    throw new Error(
      `coordinator: it has foreign servers ${extra.join(', ')} beyond the ${topology.segments.length} segments ` +
        `given; ` +
        'a layout changes size only through `bench db detach` and a new attach ' +
        "(bench's tables there are partitioned by the old count)",
    );
  }
  for (const [i, segment] of topology.segments.entries()) {
    const server = segmentServerName(i);
    const wired = await wireSegment(client, server, segment, resolvePassword(segment));
    if (wired.serverBefore === null) {
      await addRecord(client, 'server', server);
      actions.push(`coordinator: created foreign server ${server} -> ${instanceUrl(segment)}`);
    } else if (!recorded(record, 'server', server) && !recorded(record, 'server-options', server)) {
      await addRecord(client, 'server-options', server, { before: wired.serverBefore });
      actions.push(`coordinator: updated the options of foreign server ${server} (it existed before)`);
    }
    if (wired.mappingBefore === null) {
      await addRecord(client, 'mapping', server);
      actions.push(`coordinator: created the user mapping to ${server} (user ${segment.user})`);
    } else if (!recorded(record, 'mapping', server) && !recorded(record, 'mapping-options', server)) {
      await addRecord(client, 'mapping-options', server, { before: wired.mappingBefore });
      actions.push(`coordinator: updated the user mapping to ${server} (it existed before)`);
    }
  }
}

/** Re-probe on fresh connections: every instance now imports this checkout's engine. */
async function engineProblems(topology: Topology, engine: EnginePackage): Promise<string[]> {
  const problems: string[] = [];
  for (const instance of [topology.coordinator, ...topology.segments]) {
    const python = await withClient({ ...instance, database: 'postgres' }, (client) => pythonFacts(client, false));
    if ('error' in python.engine)
      problems.push(
        `${instance.name}: the server's PL/Python still cannot import bench_engine: ${python.engine.error}`,
      );
    else if (python.engine.version !== engine.version) {
      problems.push(
        `${instance.name}: the server imports bench_engine ${python.engine.version} from ${python.engine.path}, not ` +
          `${engine.version}: ` +
          "something earlier on its sys.path (the server's PYTHONPATH?) shadows the copy bench installed",
      );
    }
  }
  return problems;
}

export async function attach(coordinatorUrl: string, segmentUrls: string[]): Promise<AttachOutcome> {
  const topology = layoutFromUrls(coordinatorUrl, segmentUrls);
  const all = [topology.coordinator, ...topology.segments];
  const [extension, engine, sha] = await Promise.all([extensionBuild(), enginePackage(), gitSha()]);
  const settled = await Promise.allSettled(all.map((instance) => probeInstance(instance)));
  const failed = settled.flatMap((s) => (s.status === 'rejected' ? [redact((s.reason as Error).message)] : []));
  if (failed.length) throw new LayoutRefused(failed);
  const probes = settled.map((s) => (s as PromiseFulfilledResult<Probe>).value);
  const inconsistent = consistencyProblems(probes, (p) => p.instance === topology.coordinator);
  if (inconsistent.length) throw new LayoutRefused(inconsistent);

  const actions: string[] = [];
  const fileProblems = await installHostFiles(probes, extension, engine, actions);
  if (fileProblems.length) throw new LayoutRefused([...actions.map((a) => `done: ${a}`), ...fileProblems]);
  const shadowed = await engineProblems(topology, engine);
  if (shadowed.length) throw new LayoutRefused(shadowed);

  // Segments first: the coordinator's pushdown needs the extension on the segments.
  for (const instance of [...topology.segments, topology.coordinator]) {
    await configureInstance(instance, topology, extension, engine, sha, actions);
  }
  const check = await checkLayout(topology, {
    torchKnown: Object.fromEntries(probes.map((p) => [p.instance.name, p.python.torch])),
  });
  return { topology, actions, check };
}

/** The attach command line for a layout (URLs without passwords). */
export function repairCommand(topology: Topology): string {
  const segments = topology.segments.map((s) => `--segment ${instanceUrl(s)}`).join(' ');
  return `npx bench db attach --coordinator ${instanceUrl(topology.coordinator)} ${segments}`;
}
