// A throwaway PostgreSQL 15 instance for the direct reader's tests and benchmark: its own data
// directory under /tmp/direct-*, a free loopback port, a socket directory beside it, group-readable
// files (initdb --allow-group-access) so that a member of the postgres group can read them.
// Not the embedded cluster (src/db/cluster.ts): it isolates big test tables and odd settings.
import { appendFile, chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Instance } from '../../db/topology.js';
import { freePort, pgBinary, postgresOwner } from '../../db/postgres-os.js';

export interface ScratchInstance {
  instance: Instance;
  /** The directory holding data/, the socket and the log; removed by stop(). */
  root: string;
  /** Stop the server, run `whileDown` (e.g. damage a file), start it again. */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface ScratchOptions {
  /** initdb --data-checksums */
  checksums?: boolean;
  /** Extra postgresql.conf settings (name -> value as written in the file). */
  settings?: Record<string, string>;
}

const DEFAULT_SETTINGS: Record<string, string> = {
  listen_addresses: "'127.0.0.1'",
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  wal_level: 'minimal',
  max_wal_senders: '0',
  max_wal_size: "'4GB'",
  shared_buffers: "'128MB'",
  max_parallel_workers_per_gather: '0',
  jit: 'off',
  autovacuum: 'off',
  logging_collector: 'off',
};

/** Start a scratch instance; call stop() when done (it stops the server and removes its files). */
export async function startScratchInstance(options: ScratchOptions = {}): Promise<ScratchInstance> {
  const root = await mkdtemp('/tmp/direct-');
  const dataDir = join(root, 'data');
  // Traversable by the postgres group (the reader's group), owned by the server's OS user.
  await chmod(root, 0o750);
  const owner = postgresOwner();
  if (owner) await chown(root, owner.uid, owner.gid);
  const port = await freePort();
  const initArgs = [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '--encoding=UTF8',
    '--locale=C',
    '--allow-group-access',
    '--no-sync',
  ];
  if (options.checksums) initArgs.push('--data-checksums');
  await pgBinary('initdb', initArgs);
  const settings = {
    ...DEFAULT_SETTINGS,
    ...options.settings,
    port: String(port),
    unix_socket_directories: `'${root}'`,
  };
  const conf = Object.entries(settings)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n');
  // Appending keeps the file owned by the server's OS user.
  await appendConf(dataDir, `${conf}\n`);
  await pgBinary('pg_ctl', ['-D', dataDir, '-l', join(root, 'server.log'), '-w', '-t', '60', 'start']);
  const instance: Instance = {
    name: 'scratch',
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    dataDir,
  };
  let stopped = false;
  return {
    instance,
    root,
    async restart(whileDown) {
      await pgBinary('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
      await whileDown?.();
      await pgBinary('pg_ctl', ['-D', dataDir, '-l', join(root, 'server.log'), '-w', '-t', '60', 'start']);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await pgBinary('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
  };
}

async function appendConf(dataDir: string, text: string): Promise<void> {
  await appendFile(join(dataDir, 'postgresql.auto.conf'), text);
}
