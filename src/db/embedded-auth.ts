// The embedded cluster lets in only its owner (docs/attach.md, "The embedded cluster"): every
// instance asks for a SCRAM password on loopback and on its socket, and the password is a generated
// secret kept in the cluster's password file (mode 0600), which every client of bench reads
// (src/db/credentials.ts). A cluster made before this (pg_hba `trust`) is moved to it on `db up`.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withClient, literal, ident } from './connect.js';
import { parsePassfile, passfileLine, passfileLookup } from './credentials.js';
import { clusterPassfile, clusterSocketDir } from './cluster-dir.js';
import { POSTGRES_OS_USER, postgresOwner } from './postgres-os.js';
import type { Instance } from './topology.js';

export const SUPERUSER = POSTGRES_OS_USER;

export const HBA_CONF = [
  '# written by bench: only the holder of the cluster password file gets in (scram-sha-256, loopback)',
  `local  all  ${SUPERUSER}                 scram-sha-256`,
  `host   all  ${SUPERUSER}  127.0.0.1/32   scram-sha-256`,
  '',
].join('\n');

/**
 * A SCRAM-SHA-256 verifier as PostgreSQL stores it (RFC 5802/7677): sent instead of the password,
 * so the plaintext never reaches the server (nor its logs).
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  const keys = `${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${keys}`;
}

/** The secret from the password file, if there is one. */
export function readClusterSecret(): string | undefined {
  const file = clusterPassfile();
  if (!existsSync(file)) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `cannot read the embedded cluster's password file ${file} (${(error as Error).message}): the cluster belongs ` +
        `to the user who made it; use BENCH_HOME=<dir> for your own`,
    );
  }
  return passfileLookup(parsePassfile(text), { host: '127.0.0.1', port: 0, database: '*', user: SUPERUSER });
}

/** The cluster's secret, generated (and its password file written) on first use. */
export async function ensureClusterSecret(): Promise<string> {
  const existing = readClusterSecret();
  if (existing) return existing;
  const secret = randomBytes(24).toString('base64url');
  const lines = ['127.0.0.1', clusterSocketDir()].map((host) =>
    passfileLine({ host, port: '*', database: '*', user: SUPERUSER, password: secret }),
  );
  await writeFile(clusterPassfile(), `${lines.join('\n')}\n`, { mode: 0o600 });
  await chmod(clusterPassfile(), 0o600);
  return secret;
}

/** initdb's --pwfile: the secret in a file only the postgres user reads, removed right after. */
export async function withInitdbPasswordFile<T>(
  dir: string,
  secret: string,
  fn: (file: string) => Promise<T>,
): Promise<T> {
  const file = join(dir, `initdb-password-${process.pid}`);
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  const owner = postgresOwner();
  if (owner) await chown(file, owner.uid, owner.gid);
  try {
    return await fn(file);
  } finally {
    await rm(file, { force: true });
  }
}

export async function writeHbaConf(dataDir: string): Promise<void> {
  const file = join(dataDir, 'pg_hba.conf');
  await writeFile(file, HBA_CONF, { mode: 0o600 });
  const owner = postgresOwner();
  if (owner) await chown(file, owner.uid, owner.gid);
}

export async function hbaIsCurrent(dataDir: string): Promise<boolean> {
  const file = join(dataDir, 'pg_hba.conf');
  return existsSync(file) && (await readFile(file, 'utf8')) === HBA_CONF;
}

/**
 * Move a running instance that still lets everyone in (`trust`) to the password: set the role's
 * SCRAM verifier over the trusted connection, then rewrite pg_hba.conf and reload.
 */
export async function migrateToPassword(instance: Instance, secret: string): Promise<void> {
  const dataDir = instance.dataDir as string;
  await withClient({ ...instance, database: 'postgres' }, async (client) => {
    await client.query(`ALTER ROLE ${ident(SUPERUSER)} PASSWORD ${literal(scramVerifier(secret))}`);
    await writeHbaConf(dataDir);
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_reload_conf() AS ok');
    if (!rows[0].ok) throw new Error(`${instance.name}: pg_reload_conf() failed after pg_hba.conf was rewritten`);
  });
}
