// The lock a run holds on its cluster (src/run/lock.ts takes it): a session advisory lock on the
// coordinator. Here so that everything that would pull a cluster from under a run (a rebuild to
// another segment count, a detach) can ask who holds it, and refuse.
import type pg from 'pg';

export const RUN_LOCK_KEY = 0x62656e63; // 'benc'

export interface RunLockHolder {
  /** The coordinator backend that holds the lock. */
  pid: number;
  applicationName: string;
}

/** The run holding the lock on this coordinator, if one does. */
export async function runLockHolder(client: pg.Client): Promise<RunLockHolder | undefined> {
  const { rows } = await client.query<{ pid: number; application_name: string | null }>(
    'SELECT l.pid, a.application_name FROM pg_locks l LEFT JOIN pg_stat_activity a USING (pid) ' +
      "WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = $1 AND l.granted",
    [RUN_LOCK_KEY],
  );
  const row = rows[0];
  return row ? { pid: row.pid, applicationName: row.application_name ?? '' } : undefined;
}
