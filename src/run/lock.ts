// One run at a time per cluster (docs/architecture.md, "A run"): runs share the packed tables and
// the segments' cores, so a second run would corrupt the first one's data and its timings. Held as
// a session advisory lock on the coordinator.
import { connect } from '../db/connect.js';
import { RUN_LOCK_KEY, runLockHolder } from '../db/run-lock.js';
import type { Topology } from '../core/topology.js';

export interface ClusterLock {
  release(): Promise<void>;
}

export async function lockCluster(topology: Topology): Promise<ClusterLock> {
  const client = await connect(topology.coordinator, 'bench-run-lock');
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [RUN_LOCK_KEY]);
  if (!rows[0].ok) {
    const holder = await runLockHolder(client);
    await client.end();
    const pid = holder?.pid ?? 'unknown';
    throw new Error(`another bench run is using this cluster (coordinator backend pid ${pid}); wait for it to finish`);
  }
  return { release: () => client.end().catch(() => undefined) };
}
