// Where the coordinator and the segment instances listen (docs/architecture.md, "Cluster").

import type { Instance } from '../core/topology.js';

export type { Instance, Topology } from '../core/topology.js';

export function instanceUrl(instance: Instance): string {
  const auth = instance.password ? `${encodeURIComponent(instance.user)}:${encodeURIComponent(instance.password)}` : encodeURIComponent(instance.user);
  return `postgresql://${auth}@${instance.host}:${instance.port}/${encodeURIComponent(instance.database)}`;
}
