// Running PostgreSQL's own programs on this machine: as the postgres OS user when we are root
// (initdb and the server refuse root), on free loopback ports. Shared by the embedded cluster and
// the direct reader's scratch instances.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PG_BIN = process.env.BENCH_PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const POSTGRES_OS_USER = 'postgres';

export const isRoot = (): boolean => process.getuid?.() === 0;

let postgresIds: { uid: number; gid: number } | undefined;

/** The postgres OS user's ids when we are root (files the servers must own are handed to it). */
export function postgresOwner(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  if (!postgresIds) {
    const uid = spawnSync('id', ['-u', POSTGRES_OS_USER], { encoding: 'utf8' }).stdout.trim();
    const gid = spawnSync('id', ['-g', POSTGRES_OS_USER], { encoding: 'utf8' }).stdout.trim();
    postgresIds = { uid: Number(uid), gid: Number(gid) };
  }
  return postgresIds;
}

/** Run a PostgreSQL binary (as the postgres OS user when we are root), with extra environment. */
export async function pgBinary(binary: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const path = join(PG_BIN, binary);
  if (!existsSync(path)) {
    throw new Error(
      `${path} not found: PostgreSQL 15 is not installed. Run \`bash infra/setup.sh\` (as root) to install it.`,
    );
  }
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const [command, commandArgs] = isRoot()
    ? ['runuser', ['-u', POSTGRES_OS_USER, '--', 'env', ...envArgs, path, ...args]]
    : ['env', [...envArgs, path, ...args]];
  try {
    const { stdout } = await run(command, commandArgs, { maxBuffer: 16 << 20 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${binary} ${args.join(' ')} failed: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
}

/** A loopback TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free loopback port')),
      );
    });
  });
}
