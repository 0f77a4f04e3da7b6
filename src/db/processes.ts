// Process ids of the embedded cluster's servers (the sampler follows their process trees).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Topology } from './topology.js';

export async function postmasterPids(topology: Topology): Promise<number[]> {
  return (await namedPostmasterPids(topology)).map((p) => p.pid);
}

/** Each local instance's postmaster, named 'coordinator' or by its segment name. */
export async function namedPostmasterPids(topology: Topology): Promise<{ name: string; pid: number }[]> {
  const out: { name: string; pid: number }[] = [];
  const instances = [
    { name: 'coordinator', instance: topology.coordinator },
    ...topology.segments.map((instance) => ({ name: instance.name, instance })),
  ];
  for (const { name, instance } of instances) {
    if (!instance.dataDir) continue;
    const file = join(instance.dataDir, 'postmaster.pid');
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) out.push({ name, pid });
  }
  return out;
}
