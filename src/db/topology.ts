// Where the coordinator and the segment instances listen (docs/architecture.md, "Cluster"), and
// how bench names them in messages: never with a password (docs/attach.md, "Credentials").
import type { ConnectionParams, Instance } from '../core/topology.js';

export type { ConnectionParams, Instance, Topology } from '../core/topology.js';

/** The libpq connection parameters bench honours besides host/port/user/database. */
export const CONNECTION_PARAM_NAMES = [
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
] as const satisfies readonly (keyof ConnectionParams)[];

/** The instance's URL for messages and records: never with its password. */
export function instanceUrl(instance: Instance): string {
  const query = new URLSearchParams();
  for (const name of CONNECTION_PARAM_NAMES) {
    const value = instance.params?.[name];
    if (value !== undefined) query.set(name, value);
  }
  const host = instance.host.includes(':') ? `[${instance.host}]` : instance.host;
  const search = query.size ? `?${query.toString()}` : '';
  const user = encodeURIComponent(instance.user);
  return `postgresql://${user}@${host}:${instance.port}/${encodeURIComponent(instance.database)}${search}`;
}
