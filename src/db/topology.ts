// Where the coordinator and the segment instances listen (DESIGN section 5).

/** libpq connection parameters bench honours besides host/port/user/database (docs/attach.md). */
export interface ConnectionParams {
  sslmode?: string;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
}

export const CONNECTION_PARAM_NAMES = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey'] as const satisfies readonly (keyof ConnectionParams)[];

export interface Instance {
  /** 'coordinator' or 'seg0', 'seg1', ... */
  name: string;
  host: string;
  port: number;
  user: string;
  database: string;
  /** Given explicitly (a URL's password, a user mapping's); otherwise looked up when connecting (src/db/credentials.ts). */
  password?: string;
  /** A password file bench owns for this instance (the embedded cluster's), read before anything else. */
  passfile?: string;
  params?: ConnectionParams;
  /** Data directory, known only for instances this machine runs (the embedded cluster). */
  dataDir?: string;
}

export interface Topology {
  coordinator: Instance;
  segments: Instance[];
  /** True when `bench db up` made it (under .bench/pg); false for --db / PG* connections. */
  embedded: boolean;
}

/** The instance's URL for messages and records: never with its password. */
export function instanceUrl(instance: Instance): string {
  const query = new URLSearchParams();
  for (const name of CONNECTION_PARAM_NAMES) {
    const value = instance.params?.[name];
    if (value !== undefined) query.set(name, value);
  }
  const host = instance.host.includes(':') ? `[${instance.host}]` : instance.host;
  const search = query.size ? `?${query.toString()}` : '';
  return `postgresql://${encodeURIComponent(instance.user)}@${host}:${instance.port}/${encodeURIComponent(instance.database)}${search}`;
}
