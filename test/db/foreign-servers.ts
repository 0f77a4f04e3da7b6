// PostgreSQL 15 servers that bench did not start, for the attach tests: run by another OS user
// (`benchtest`), on other loopback addresses, with scram-sha-256 passwords (and, optionally, SSL
// only). An "isolated" server runs in a private mount namespace whose data directory, extension
// directory and Python site directory this machine cannot see or write: as a server on another host
// would be, while it stays reachable over loopback. (PostgreSQL's share directory there is a copy
// without bench's files.)
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PG_BIN, freePort } from '../../src/db/postgres-os.js';

const run = promisify(execFile);

export const TEST_OS_USER = 'benchtest';
export const SUPERUSER = 'admin';
const SHAREDIR = '/usr/share/postgresql/15';

/** The first site directory of the Python that PL/Python embeds (Debian's). */
export function pythonSiteDir(): string {
  const out = spawnSync('/usr/bin/python3', ['-c', 'import site; print(site.getsitepackages()[0])'], {
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`/usr/bin/python3 cannot say its site directory: ${out.stderr}`);
  return out.stdout.trim();
}

export function ensureOsUser(): void {
  if (spawnSync('id', ['-u', TEST_OS_USER]).status === 0) return;
  const made = spawnSync(
    'useradd',
    ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', TEST_OS_USER],
    {
      encoding: 'utf8',
    },
  );
  if (made.status !== 0) throw new Error(`useradd ${TEST_OS_USER} failed: ${made.stderr}`);
}

/** Whether this machine lets root make a private mount namespace (unshare + mount). */
export function namespacesWork(): boolean {
  const result = spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /mnt && umount /mnt'],
    { encoding: 'utf8' },
  );
  return result.status === 0;
}

export interface ForeignServer {
  name: string;
  host: string;
  port: number;
  password: string;
  /** A process that keeps the private mount namespace alive (an isolated server only). */
  namespacePid?: number;
  /** Run a shell command where the server's files are (inside its namespace when isolated), as root. */
  shell(command: string, input?: string): Promise<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stop the server and end its namespace. */
  dispose(): Promise<void>;
  url(database: string, options?: { password?: boolean; sslmode?: string }): string;
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

async function sh(command: string, input?: string, namespacePid?: number): Promise<string> {
  const args = namespacePid
    ? ['nsenter', '-t', String(namespacePid), '-m', '--', 'sh', '-c', command]
    : ['sh', '-c', command];
  return new Promise((resolve, reject) => {
    const child = execFile(args[0], args.slice(1), { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command.slice(0, 200)}: ${stderr || error.message}`));
      else resolve(stdout);
    });
    child.stdin?.end(input ?? '');
  });
}

export async function startForeignServer(options: {
  base: string;
  name: string;
  host: string;
  ssl?: boolean;
  isolated?: boolean;
}): Promise<ForeignServer> {
  const dir = join(options.base, options.name);
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  const port = await freePort();
  const password = `pw-${options.name}-${randomBytes(9).toString('base64url')}`;
  const data = join(dir, options.isolated ? 'private/data' : 'data');
  const hba = [
    `local all all scram-sha-256`,
    `${options.ssl ? 'hostssl' : 'host'} all all 127.0.0.0/8 scram-sha-256`,
  ].join('\n');
  const conf = [
    `listen_addresses = '${options.host}'`,
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    'max_connections = 40',
    "shared_buffers = '32MB'",
    ...(options.ssl ? ['ssl = on', "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"] : []),
  ].join('\n');
  const cleanEnv = 'env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8';
  const log = quote(join(dir, 'server.log'));
  const pgCtl = `${cleanEnv} runuser -u ${TEST_OS_USER} -- ${PG_BIN}/pg_ctl -D ${quote(data)} -l ${log} -w -t 60`;
  const script = [
    'set -eu',
    ...(options.isolated
      ? [
          // The data directory, PostgreSQL's share directory and Python's site directory: private.
          `mkdir -p ${quote(join(dir, 'private'))}`,
          `mount -t tmpfs -o mode=0755 tmpfs ${quote(join(dir, 'private'))}`,
          `mkdir -p ${quote(join(dir, 'private/share'))} ${quote(join(dir, 'private/site'))}`,
          `cp -a ${SHAREDIR}/. ${quote(join(dir, 'private/share'))}/`,
          `rm -rf ${quote(join(dir, 'private/share'))}/bench ` +
            `${quote(join(dir, 'private/share/extension'))}/bench.control ` +
            `${quote(join(dir, 'private/share/extension'))}/bench--*`,
          `mount --bind ${quote(join(dir, 'private/share'))} ${SHAREDIR}`,
          `mkdir -p ${quote(pythonSiteDir())}`,
          `mount --bind ${quote(join(dir, 'private/site'))} ${quote(pythonSiteDir())}`,
          // Keeps the namespace (and its mounts) alive while the server is stopped and started again.
          `sleep 86400 </dev/null >/dev/null 2>&1 &`,
          `echo $! > ${quote(join(dir, 'namespace.pid'))}`,
        ]
      : []),
    `mkdir -p ${quote(data)} && chown ${TEST_OS_USER} ${quote(data)} && chmod 700 ${quote(data)}`,
    `printf '%s\\n' ${quote(password)} > ${quote(join(dir, 'pwfile'))} && chown ${TEST_OS_USER} ` +
      `${quote(join(dir, 'pwfile'))} && chmod 600 ${quote(join(dir, 'pwfile'))}`,
    `runuser -u ${TEST_OS_USER} -- ${PG_BIN}/initdb -D ${quote(data)} -U ${SUPERUSER} --auth=scram-sha-256 ` +
      `--pwfile=${quote(join(dir, 'pwfile'))} --encoding=UTF8 --locale=C --no-sync >/dev/null`,
    `rm -f ${quote(join(dir, 'pwfile'))}`,
    `printf '%s\\n' ${quote(hba)} > ${quote(join(data, 'pg_hba.conf'))}`,
    `printf '%s\\n' ${quote(conf)} >> ${quote(join(data, 'postgresql.auto.conf'))}`,
    ...(options.ssl
      ? [
          `openssl req -x509 -newkey rsa:2048 -nodes -keyout ${quote(join(data, 'server.key'))} -out ` +
            `${quote(join(data, 'server.crt'))} -days 2 -subj /CN=${options.host} 2>/dev/null`,
          `chown ${TEST_OS_USER} ${quote(join(data, 'server.key'))} ${quote(join(data, 'server.crt'))} && chmod 600 ` +
            `${quote(join(data, 'server.key'))}`,
        ]
      : []),
    `chown -R ${TEST_OS_USER} ${quote(dir)}`,
    `${pgCtl} start >/dev/null`,
  ].join('\n');
  if (options.isolated)
    await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { maxBuffer: 16 << 20 });
  else await run('sh', ['-c', script], { maxBuffer: 16 << 20 });
  const namespacePid = options.isolated ? Number(readFileSync(join(dir, 'namespace.pid'), 'utf8').trim()) : undefined;
  const server: ForeignServer = {
    name: options.name,
    host: options.host,
    port,
    password,
    namespacePid,
    shell: (command, input) => sh(command, input, server.namespacePid),
    stop: async () => {
      await sh(`${pgCtl} -m fast stop >/dev/null`, undefined, server.namespacePid);
    },
    start: async () => {
      await sh(`${pgCtl} start >/dev/null`, undefined, server.namespacePid);
    },
    dispose: async () => {
      await server.stop().catch(() => undefined);
      if (server.namespacePid) process.kill(server.namespacePid);
    },
    url: (database, urlOptions = {}) => {
      const auth = urlOptions.password ? `${SUPERUSER}:${encodeURIComponent(password)}` : SUPERUSER;
      const query = urlOptions.sslmode ? `?sslmode=${urlOptions.sslmode}` : '';
      return `postgresql://${auth}@${options.host}:${port}/${database}${query}`;
    },
  };
  return server;
}

/** A password file for the given servers (mode 0600), as a user would keep in ~/.pgpass. */
export async function writePassfile(path: string, servers: ForeignServer[]): Promise<void> {
  await writeFile(path, servers.map((s) => `${s.host}:${s.port}:*:${SUPERUSER}:${s.password}`).join('\n') + '\n', {
    mode: 0o600,
  });
  await chmod(path, 0o600);
}

export function serverLog(base: string, name: string): string {
  const file = join(base, name, 'server.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}
