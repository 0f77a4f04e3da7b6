// Connections to one instance of the topology: the password from src/db/credentials.ts, SSL as the
// instance's sslmode says (libpq's meaning), and errors that never show a password.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { redact } from '../core/secrets.js';
import { resolvePassword } from './credentials.js';
import { instanceUrl, type Instance } from './topology.js';
import { errorMessage } from '../core/errors.js';

export class DatabaseUnreachableError extends Error {
  /** Why, as the client library said it (masked). */
  readonly reason: string;

  constructor(instance: Instance, cause: unknown) {
    const why = redact(errorMessage(cause));
    const hint = instance.dataDir
      ? 'Start the embedded cluster with `npx bench db up`.'
      : 'Start the embedded cluster with `npx bench db up`, or point --db / PGHOST, PGPORT, PGUSER, PGDATABASE at a ' +
        'running coordinator (`npx bench db check --db <URL>` says what is missing).';
    super(`could not connect to ${instance.name} at ${instanceUrl(instance)}: ${why}. ${hint}`);
    this.name = 'DatabaseUnreachableError';
    this.reason = why;
  }
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
type SslMode = (typeof SSL_MODES)[number];

function sslMode(instance: Instance): SslMode | undefined {
  const mode = instance.params?.sslmode ?? process.env.PGSSLMODE;
  if (mode === undefined) return undefined;
  if (!(SSL_MODES as readonly string[]).includes(mode))
    throw new Error(`${instance.name}: sslmode must be one of ${SSL_MODES.join(', ')}, got "${mode}"`);
  return mode as SslMode;
}

/** TLS options for an SSL connection under `mode`, with the instance's certificate files. */
function tlsOptions(instance: Instance, mode: SslMode): ConnectionOptions {
  const file = (path: string | undefined): string | undefined => (path ? readFileSync(path, 'utf8') : undefined);
  const ca = file(instance.params?.sslrootcert);
  const options: ConnectionOptions = { ca, cert: file(instance.params?.sslcert), key: file(instance.params?.sslkey) };
  if (mode === 'verify-full') return options;
  if (mode === 'verify-ca') {
    if (!ca) throw new Error(`${instance.name}: sslmode=verify-ca needs sslrootcert`);
    return { ...options, checkServerIdentity: () => undefined };
  }
  // require (and prefer/allow): encrypted; libpq verifies the CA only when a root certificate is given.
  return ca ? { ...options, checkServerIdentity: () => undefined } : { ...options, rejectUnauthorized: false };
}

/** The SSL settings to try, in libpq's order for the mode (allow and prefer fall back). */
function sslAttempts(instance: Instance): (false | ConnectionOptions)[] {
  const mode = sslMode(instance);
  if (mode === undefined || mode === 'disable') return [false];
  if (mode === 'allow') return [false, tlsOptions(instance, mode)];
  if (mode === 'prefer') return [tlsOptions(instance, mode), false];
  return [tlsOptions(instance, mode)];
}

export async function connect(instance: Instance, applicationName = 'bench'): Promise<pg.Client> {
  let attempts: (false | ConnectionOptions)[];
  let password: string | undefined;
  try {
    attempts = sslAttempts(instance);
    password = resolvePassword(instance);
  } catch (error) {
    throw new DatabaseUnreachableError(instance, error);
  }
  let lastError: unknown;
  for (const ssl of attempts) {
    const client = new pg.Client({
      host: instance.host,
      port: instance.port,
      user: instance.user,
      database: instance.database,
      password,
      ssl,
      application_name: applicationName,
    });
    try {
      await client.connect();
      // A client error after connect (e.g. the server went away) must not crash the process.
      client.on('error', () => undefined);
      return client;
    } catch (error) {
      lastError = error;
      await client.end().catch(() => undefined);
    }
  }
  throw new DatabaseUnreachableError(instance, lastError);
}

export async function withClient<T>(instance: Instance, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(instance);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Quote an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quote an SQL string literal. */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
