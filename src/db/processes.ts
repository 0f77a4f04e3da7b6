// Process ids of the embedded cluster's servers (the sampler follows their process trees).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Topology } from './topology.js';

export async function postmasterPids(topology: Topology): Promise<number[]> {
  const pids: number[] = [];
  for (const instance of [topology.coordinator, ...topology.segments]) {
    if (!instance.dataDir) continue;
    const file = join(instance.dataDir, 'postmaster.pid');
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  return pids;
}
