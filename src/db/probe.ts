// What an instance is, as its server sees it (docs/attach.md): PostgreSQL version, whether we are
// superuser, where its files are, and - through a PL/Python function that lives only inside a
// rolled-back transaction, so probing changes nothing - its Python, the engine it imports, torch
// and CUDA, its host name. Used by `bench db attach`, `check` and `detach`.
import type pg from 'pg';
import { PYTHON_PACKAGE_VERSION } from './engine-package.js';

export interface ServerFacts {
  versionNum: number;
  major: number;
  version: string;
  superuser: boolean;
  user: string;
  /** PostgreSQL's share directory (holds extension/); undefined when this role may not read pg_config. */
  sharedir?: string;
  dataDirectory?: string;
  systemIdentifier?: string;
  available: { plpython3u: boolean; postgres_fdw: boolean; benchVersions: string[] };
}

export interface PythonFacts {
  python: string;
  sitePackages: string[];
  hostname: string;
  osUser: string;
  engine: { path: string; version: string } | { error: string };
  torch?: { version: string; cuda: boolean; devices: string[] } | { error: string };
}

export async function serverFacts(client: pg.Client): Promise<ServerFacts> {
  const { rows } = await client.query<{
    num: string;
    version: string;
    superuser: boolean;
    user: string;
    data_directory: string | null;
    plpython: boolean;
    fdw: boolean;
    bench_versions: string[] | null;
  }>(`SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser, current_user::text AS user,
            current_setting('data_directory', true) AS data_directory,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'plpython3u') AS plpython,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgres_fdw') AS fdw,
            (SELECT array_agg(version ORDER BY version) FROM pg_available_extension_versions
              WHERE name = 'bench') AS bench_versions`);
  const row = rows[0];
  const facts: ServerFacts = {
    versionNum: Number(row.num),
    major: Math.floor(Number(row.num) / 10000),
    version: row.version,
    superuser: row.superuser,
    user: row.user,
    dataDirectory: row.data_directory ?? undefined,
    available: { plpython3u: row.plpython, postgres_fdw: row.fdw, benchVersions: row.bench_versions ?? [] },
  };
  if (row.superuser) {
    const shared = await client.query<{ setting: string }>("SELECT setting FROM pg_config WHERE name = 'SHAREDIR'");
    facts.sharedir = shared.rows[0]?.setting;
    const control = await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
    facts.systemIdentifier = control.rows[0]?.id;
  }
  return facts;
}

const PYTHON_PROBE = `
import json, os, pwd, site, socket, sys
${PYTHON_PACKAGE_VERSION}
out = {
    'python': sys.version.split()[0],
    'sitePackages': [d for d in site.getsitepackages() if os.path.isdir(d)],
    'hostname': socket.gethostname(),
    'osUser': pwd.getpwuid(os.getuid()).pw_name,
}
try:
    import importlib
    importlib.invalidate_caches()
    import bench_engine
    package_dir = os.path.dirname(os.path.abspath(bench_engine.__file__))
    out['engine'] = {'path': package_dir, 'version': _bench_engine_version(package_dir)}
except Exception as error:
    out['engine'] = {'error': '%s: %s' % (type(error).__name__, error)}
if with_torch:
    try:
        import torch
        cuda = bool(torch.cuda.is_available())
        devices = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []
        out['torch'] = {'version': torch.__version__, 'cuda': cuda, 'devices': devices}
    except Exception as error:
        out['torch'] = {'error': '%s: %s' % (type(error).__name__, error)}
return json.dumps(out)
`;

/**
 * Python facts from inside the server, as a superuser (PL/Python is untrusted). The probe function
 * (and plpython3u, when the database lacks it) exist only inside a transaction that is rolled back.
 * Run it on a fresh connection: a backend that imported the engine before keeps that copy.
 */
export async function pythonFacts(client: pg.Client, withTorch: boolean): Promise<PythonFacts> {
  await client.query('BEGIN');
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS plpython3u');
    await client.query(
      `CREATE FUNCTION pg_temp.bench_probe(with_torch boolean) RETURNS text LANGUAGE plpython3u AS ` +
        `$probe$${PYTHON_PROBE}$probe$`,
    );
    const { rows } = await client.query<{ facts: string }>('SELECT pg_temp.bench_probe($1) AS facts', [withTorch]);
    return JSON.parse(rows[0].facts) as PythonFacts;
  } finally {
    await client.query('ROLLBACK');
  }
}

/** Whether the server sees a file at `path` (superuser: pg_stat_file reads the server's file system). */
export async function serverSeesFile(client: pg.Client, path: string): Promise<boolean> {
  const { rows } = await client.query<{ found: boolean }>(
    'SELECT (pg_stat_file($1, true)).modification IS NOT NULL AS found',
    [path],
  );
  return rows[0].found;
}

/** A text file on the server's host, or undefined when it is not there. */
export async function serverFile(client: pg.Client, path: string): Promise<string | undefined> {
  if (!(await serverSeesFile(client, path))) return undefined;
  const { rows } = await client.query<{ text: string }>('SELECT pg_read_file($1) AS text', [path]);
  return rows[0].text;
}
