// postgresql:// URLs given on the command line, read as libpq reads them (the parameters bench
// honours: sslmode, sslrootcert, sslcert, sslkey). A password in the URL is registered for masking.
import { redact, registerSecret } from '../core/secrets.js';
import { CONNECTION_PARAM_NAMES, type ConnectionParams, type Instance } from './topology.js';

export function instanceFromUrl(url: string, name: string, defaults: { database?: string } = {}): Instance {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${name}: expected a URL like postgresql://user@host:5432/dbname, got "${redact(url)}"`);
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol))
    throw new Error(`${name}: the URL must start with postgresql://, got "${redact(url)}"`);
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  registerSecret(password);
  const params: ConnectionParams = {};
  for (const [key, value] of parsed.searchParams) {
    if (!(CONNECTION_PARAM_NAMES as readonly string[]).includes(key)) {
      throw new Error(
        `${name}: bench does not know the URL parameter "${key}" (it honours ${CONNECTION_PARAM_NAMES.join(', ')})`,
      );
    }
    params[key as keyof ConnectionParams] = value;
  }
  const user = decodeURIComponent(parsed.username) || process.env.PGUSER || process.env.USER || 'postgres';
  return {
    name,
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: Number(parsed.port || 5432),
    user,
    password,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || defaults.database || user,
    ...(Object.keys(params).length ? { params } : {}),
  };
}

/** Two instances are the same database when host, port and database name match. */
export function sameDatabase(a: Instance, b: Instance): boolean {
  return a.host === b.host && a.port === b.port && a.database === b.database;
}
