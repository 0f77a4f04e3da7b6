// Starts the embedded cluster once for the whole test run, and stops it afterwards if it was not
// already running before the tests (a developer's own cluster is left as it was).
import { clusterStatus, ensureCluster, stopCluster } from '../src/db/cluster.js';
import { TEST_SEGMENTS } from './helpers/cluster.js';

export async function setup(): Promise<() => Promise<void>> {
  const before = await clusterStatus();
  const wasRunning = before?.every((s) => s.running) && before.length === TEST_SEGMENTS + 1;
  await ensureCluster({ segments: TEST_SEGMENTS });
  return async () => {
    if (!wasRunning) await stopCluster();
  };
}
