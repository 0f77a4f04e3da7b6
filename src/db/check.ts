// `bench db check`: every instance of a layout, what is ok, what is missing and the fix
// (docs/attach.md, "Check"). Read-only: probes run in transactions that are rolled back.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type pg from 'pg';
import { repoRoot } from '../core/paths.js';
import { redact } from '../core/secrets.js';
import { DatabaseUnreachableError, connect } from './connect.js';
import { readRecord } from './attach-record.js';
import { enginePackage } from './engine-package.js';
import { extensionBuild } from './extension.js';
import { dataDirectoryReadable } from './host-access.js';
import { pythonFacts, serverFacts, type PythonFacts, type ServerFacts } from './probe.js';
import { instanceUrl, type Instance, type Topology } from './topology.js';
import { FDW_SERVER_OPTIONS, parseOptions, segmentServerName } from './wiring.js';

const run = promisify(execFile);

export type CheckStatus = 'ok' | 'warn' | 'FAIL';

export interface CheckRow {
  instance: string;
  item: string;
  status: CheckStatus;
  detail: string;
  /** What to do; `REPAIR` when the repair command (attach again, or `db up`) fixes it. */
  fix?: string;
}

export const REPAIR = 'run the repair command below';

/** Settings the approaches need in every session (set per role and database by attach). */
export const SESSION_SETTINGS: Readonly<Record<string, string>> = {
  jit: 'off',
  synchronous_commit: 'off',
  max_parallel_workers_per_gather: '0',
  enable_partitionwise_join: 'on',
  enable_partitionwise_aggregate: 'on',
};

/** Clock differences larger than this distort the spans the segments time (Gantt charts, breakdowns). */
export const MAX_CLOCK_SKEW_MS = 100;

interface Probed {
  instance: Instance;
  client?: pg.Client;
  error?: string;
  server?: ServerFacts;
  python?: PythonFacts;
  skewMs?: number;
}

async function measureSkew(client: pg.Client): Promise<number> {
  const before = Date.now();
  const { rows } = await client.query<{ ms: string }>(
    'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::text AS ms',
  );
  const after = Date.now();
  return Number(rows[0].ms) - (before + after) / 2;
}

export interface CheckOptions {
  /** Probe the engine and torch inside each server (a PL/Python import of torch, ~2 s per instance); default true. */
  engine?: boolean;
  /** torch as each instance (by name) imported it moments ago: not imported again. */
  torchKnown?: Record<string, PythonFacts['torch']>;
}

async function probe(instance: Instance, options: CheckOptions): Promise<Probed> {
  let client: pg.Client;
  try {
    client = await connect(instance, 'bench-check');
  } catch (error) {
    return {
      instance,
      error: error instanceof DatabaseUnreachableError ? error.reason : redact((error as Error).message),
    };
  }
  const probed: Probed = { instance, client };
  try {
    probed.server = await serverFacts(client);
    probed.skewMs = await measureSkew(client);
    if (probed.server.superuser && options.engine !== false) {
      const known = options.torchKnown?.[instance.name];
      probed.python = await pythonFacts(client, known === undefined);
      if (known !== undefined) probed.python.torch = known;
    }
  } catch (error) {
    probed.error = redact((error as Error).message);
  }
  return probed;
}

/** 'older' / 'newer' when git knows both commits; undefined otherwise. */
async function ancestry(installedSha: string | undefined): Promise<string | undefined> {
  if (!installedSha || installedSha === 'unknown') return undefined;
  const head = (await run('git', ['rev-parse', 'HEAD'], { cwd: repoRoot() }).catch(() => undefined))?.stdout.trim();
  if (!head || head === installedSha) return undefined;
  const isAncestor = async (a: string, b: string): Promise<boolean> =>
    run('git', ['merge-base', '--is-ancestor', a, b], { cwd: repoRoot() }).then(
      () => true,
      () => false,
    );
  if (await isAncestor(installedSha, head))
    return `older: installed by bench ${installedSha.slice(0, 10)}, an ancestor of this checkout`;
  if (await isAncestor(head, installedSha))
    return `newer: installed by bench ${installedSha.slice(0, 10)}, a descendant of this checkout`;
  return `installed by bench ${installedSha.slice(0, 10)}, unrelated to this checkout's ${head.slice(0, 10)}`;
}

async function instanceRows(
  p: Probed,
  reference: Probed,
  versions: { extension: string; engine: string },
  isCoordinator: boolean,
  options: CheckOptions,
): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  const name = p.instance.name;
  const add = (item: string, status: CheckStatus, detail: string, fix?: string): void => {
    rows.push({ instance: name, item, status, detail, ...(fix ? { fix } : {}) });
  };
  if (!p.client || !p.server) {
    add(
      'connection',
      'FAIL',
      `${instanceUrl(p.instance)}: ${p.error ?? 'no connection'}`,
      'start the server, or fix the URL / the password (~/.pgpass, PGPASSFILE, PGPASSWORD, --password-file)',
    );
    return rows;
  }
  const client = p.client;
  const server = p.server;
  add('connection', 'ok', `${instanceUrl(p.instance)} as ${server.user}${server.superuser ? ' (superuser)' : ''}`);
  const refMajor = reference.server?.major ?? server.major;
  if (server.major !== refMajor)
    add(
      'postgres',
      'FAIL',
      `PostgreSQL ${server.version}; the coordinator runs ${refMajor}`,
      'every instance must run the same major version',
    );
  else if (server.major < 14)
    add(
      'postgres',
      'FAIL',
      `PostgreSQL ${server.version}`,
      'postgres_fdw async execution needs PostgreSQL 14 or later (bench is tested on 15)',
    );
  else add('postgres', 'ok', `PostgreSQL ${server.version}`);

  const extensions = new Map(
    (
      await client.query<{ extname: string; extversion: string }>('SELECT extname, extversion FROM pg_extension')
    ).rows.map((r) => [r.extname, r.extversion]),
  );
  const python = p.python;
  if (!extensions.has('plpython3u')) add('plpython', 'FAIL', 'plpython3u is not installed in this database', REPAIR);
  else
    add(
      'plpython',
      'ok',
      `plpython3u${python ? `, Python ${python.python} as OS user ${python.osUser} on host ${python.hostname}` : ''}`,
    );

  const installed = extensions.get('bench');
  const record = await readRecord(client).catch(() => []);
  const lastInstall = [...record].reverse().find((r) => r.kind === 'installed')?.detail as
    | { gitSha?: string; at?: string }
    | undefined;
  if (!installed) add('extension', 'FAIL', `bench is not installed (this checkout's is ${versions.extension})`, REPAIR);
  else if (installed !== versions.extension) {
    const relation = (await ancestry(lastInstall?.gitSha)) ?? 'a different build of infra/sql';
    add(
      'extension',
      'FAIL',
      `bench ${installed} is installed, this checkout's is ${versions.extension} (${relation})`,
      REPAIR,
    );
  } else
    add(
      'extension',
      'ok',
      `bench ${installed}, this ` +
        `checkout's${lastInstall?.gitSha ? ` (attached by bench ${lastInstall.gitSha.slice(0, 10)})` : ''}`,
    );

  if (!python && options.engine === false) {
    add('engine', 'warn', 'not probed (asked not to)');
  } else if (!python) {
    const fallback = installed
      ? await client.query<{ v: string }>('SELECT bench_engine_versions() AS v').then(
          (r) => r.rows[0].v,
          (e: Error) => e.message,
        )
      : undefined;
    add(
      'engine',
      'warn',
      `not probed: PL/Python probes need a superuser${fallback ? `; bench_engine_versions() says ${fallback}` : ''}`,
    );
  } else if ('error' in python.engine) {
    add('engine', 'FAIL', `the server's PL/Python cannot import bench_engine: ${python.engine.error}`, REPAIR);
  } else if (python.engine.version !== versions.engine) {
    add(
      'engine',
      'FAIL',
      `imports bench_engine ${python.engine.version} from ${python.engine.path}; this checkout's is ${versions.engine}`,
      REPAIR,
    );
  } else add('engine', 'ok', `bench_engine ${python.engine.version} from ${python.engine.path}`);

  if (python?.torch) {
    const torch = python.torch;
    if ('error' in torch)
      add(
        'torch',
        'FAIL',
        `the server's PL/Python cannot import torch: ${torch.error}`,
        'on that host: apt-get install python3-torch python3-numpy libopenblas0-openmp',
      );
    else {
      const refTorch =
        reference.python?.torch && 'version' in reference.python.torch ? reference.python.torch.version : torch.version;
      const cuda = torch.cuda ? `CUDA: ${torch.devices.join(', ')}` : 'no CUDA device';
      if (torch.version !== refTorch)
        add(
          'torch',
          'FAIL',
          `torch ${torch.version} (${cuda}); the coordinator has ${refTorch}`,
          'install the same torch on every host',
        );
      else add('torch', 'ok', `torch ${torch.version}, ${cuda}`);
    }
  }

  const { rows: settingRows } = await client.query<{ name: string; setting: string }>(
    'SELECT name, setting FROM pg_settings WHERE name = ANY($1)',
    [Object.keys(SESSION_SETTINGS)],
  );
  const actual = new Map(settingRows.map((r) => [r.name, r.setting]));
  const wrong = Object.entries(SESSION_SETTINGS).filter(([k, v]) => actual.get(k) !== v);
  if (wrong.length)
    add('settings', 'FAIL', wrong.map(([k, v]) => `${k} = ${actual.get(k)} (needs ${v})`).join(', '), REPAIR);
  else
    add(
      'settings',
      'ok',
      Object.entries(SESSION_SETTINGS)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    );

  const skew = p.skewMs ?? 0;
  if (Math.abs(skew) > MAX_CLOCK_SKEW_MS)
    add(
      'clock',
      'warn',
      `${skew.toFixed(0)} ms from this machine's clock`,
      'synchronise the clocks (chrony / systemd-timesyncd): spans timed on different hosts are compared',
    );
  else add('clock', 'ok', `${skew >= 0 ? '+' : ''}${skew.toFixed(0)} ms from this machine's clock`);

  if (!isCoordinator) {
    if (p.instance.dataDir) add('data directory', 'ok', `${p.instance.dataDir} (embedded): da and da-ddp can read it`);
    else {
      const access = await dataDirectoryReadable(server.dataDirectory, server.systemIdentifier);
      if (access.local) add('data directory', 'ok', `${server.dataDirectory} is readable here: da and da-ddp can run`);
      else add('data directory', 'warn', `${access.reason}: da and da-ddp cannot run on this layout`);
    }
  }
  return rows;
}

/** The coordinator's wiring to segment i: server options, user mapping, a query through it, a pushed-down aggregate. */
async function fdwRows(client: pg.Client, segments: Instance[]): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  for (const [i, segment] of segments.entries()) {
    const server = segmentServerName(i);
    const add = (status: CheckStatus, detail: string, fix?: string): void => {
      rows.push({ instance: 'coordinator', item: `fdw ${server}`, status, detail, ...(fix ? { fix } : {}) });
    };
    const { rows: found } = await client.query<{ srvoptions: string[] | null }>(
      'SELECT srvoptions FROM pg_foreign_server WHERE srvname = $1',
      [server],
    );
    if (found.length === 0) {
      add('FAIL', `no foreign server ${server}`, REPAIR);
      continue;
    }
    const current = parseOptions(found[0].srvoptions);
    const missing = Object.entries(FDW_SERVER_OPTIONS).filter(([k, v]) =>
      k === 'extensions' ? !(current[k] ?? '').split(',').includes(v) : current[k] !== v,
    );
    if (missing.length) {
      add(
        'FAIL',
        `server options differ: ${missing.map(([k, v]) => `${k} is ${current[k] ?? 'unset'} (needs ${v})`).join(', ')}`,
        REPAIR,
      );
      continue;
    }
    const { rowCount } = await client.query(
      "SELECT 1 FROM pg_user_mappings WHERE srvname = $1 AND (usename = current_user OR usename = 'public')",
      [server],
    );
    if (!rowCount) {
      add('FAIL', `no user mapping for the current user on ${server}`, REPAIR);
      continue;
    }
    await client.query('BEGIN');
    try {
      await client.query(
        `CREATE FOREIGN TABLE bench_check_connection (setting text) SERVER ${server} OPTIONS (schema_name ` +
          `'pg_catalog', table_name 'pg_settings')`,
      );
      const started = Date.now();
      await client.query('SELECT count(*) FROM bench_check_connection');
      const ms = Date.now() - started;
      await client.query(
        `CREATE FOREIGN TABLE bench_check_plan (x bytea, y bytea, n int) SERVER ${server}
           OPTIONS (schema_name 'pg_catalog', table_name 'pg_class', use_remote_estimate 'false')`,
      );
      const { rows: plan } = await client.query<{ 'QUERY PLAN': string }>(
        "EXPLAIN VERBOSE SELECT bench_step('{}'::json, 0, x, y, n) FROM bench_check_plan",
      );
      const text = plan.map((r) => r['QUERY PLAN']).join('\n');
      if (/Relations: Aggregate on/.test(text))
        add('ok', `reaches ${instanceUrl(segment)} (${ms} ms); the bench_step aggregate is pushed down`);
      else
        add(
          'FAIL',
          `reaches ${instanceUrl(segment)}, but the bench_step aggregate would run on the coordinator ` +
            `(not pushed down)`,
          REPAIR,
        );
    } catch (error) {
      const detail = (error as { detail?: string }).detail;
      add(
        'FAIL',
        redact(
          `through ${server}: ${(error as Error).message}${detail ? ` (${detail.replace(/\s+/g, ' ').trim()})` : ''}`,
        ),
        `see ${segment.name} below; when it is up, ${REPAIR}`,
      );
    } finally {
      await client.query('ROLLBACK');
    }
  }
  return rows;
}

export async function checkLayout(topology: Topology, options: CheckOptions = {}): Promise<CheckRow[]> {
  const [extension, engine] = await Promise.all([extensionBuild(), enginePackage()]);
  const versions = { extension: extension.version, engine: engine.version };
  const all = [topology.coordinator, ...topology.segments];
  const probed = await Promise.all(all.map((instance) => probe(instance, options)));
  try {
    const rows: CheckRow[] = [];
    const reference = probed[0];
    for (const [i, p] of probed.entries()) {
      rows.push(...(await instanceRows(p, reference, versions, i === 0, options)));
      if (i === 0 && reference.client && reference.server)
        rows.push(...(await fdwRows(reference.client, topology.segments)));
    }
    const seen = new Map<string, string>();
    for (const p of probed) {
      const key = p.server?.systemIdentifier ? `${p.server.systemIdentifier}/${p.instance.database}` : undefined;
      if (!key) continue;
      const other = seen.get(key);
      if (other)
        rows.push({
          instance: p.instance.name,
          item: 'identity',
          status: 'FAIL',
          detail: `the same database as ${other}`,
          fix: 'every segment needs its own database',
        });
      seen.set(key, p.instance.name);
    }
    return rows;
  } finally {
    await Promise.all(probed.map((p) => p.client?.end().catch(() => undefined)));
  }
}

export function checkPassed(rows: CheckRow[]): boolean {
  return rows.every((r) => r.status !== 'FAIL');
}
