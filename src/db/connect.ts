// Connections to one instance of the topology.
import pg from 'pg';
import { instanceUrl, type Instance } from './topology.js';

export class DatabaseUnreachableError extends Error {
  constructor(instance: Instance, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      `could not connect to ${instance.name} at ${instanceUrl(instance)}: ${why}. ` +
        `Start the embedded cluster with \`npx bench db up\`, or point --db / PGHOST, PGPORT, PGUSER, PGDATABASE at a running coordinator.`,
    );
    this.name = 'DatabaseUnreachableError';
  }
}

export async function connect(instance: Instance, applicationName = 'bench'): Promise<pg.Client> {
  const client = new pg.Client({
    host: instance.host,
    port: instance.port,
    user: instance.user,
    database: instance.database,
    password: instance.password,
    application_name: applicationName,
  });
  try {
    await client.connect();
  } catch (error) {
    throw new DatabaseUnreachableError(instance, error);
  }
  // A client error after connect (e.g. the server went away) must not crash the process.
  client.on('error', () => undefined);
  return client;
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
