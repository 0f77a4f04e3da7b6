// One run at a time per cluster (docs/architecture.md, "A run"): runs share the packed tables and
// the segments' cores, so a second run would corrupt the first one's data and its timings. Held as
// a session advisory lock on the coordinator.
import { connect } from '../db/connect.js';
import type { Topology } from '../core/topology.js';

const RUN_LOCK_KEY = 0x62656e63; // 'benc'

export interface ClusterLock {
  release(): Promise<void>;
}

export async function lockCluster(topology: Topology): Promise<ClusterLock> {
  const client = await connect(topology.coordinator, 'bench-run-lock');
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [RUN_LOCK_KEY]);
  if (!rows[0].ok) {
    const holder = await client.query<{ pid: number; application_name: string }>(
      'SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) ' +
        "WHERE l.locktype = 'advisory' AND l.objid = $1",
      [RUN_LOCK_KEY],
    );
    await client.end();
    const pid = holder.rows[0]?.pid ?? 'unknown';
    throw new Error(`another bench run is using this cluster (coordinator backend pid ${pid}); wait for it to finish`);
  }
  return { release: () => client.end().catch(() => undefined) };
}
