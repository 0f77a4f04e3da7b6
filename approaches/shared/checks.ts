// What an approach needs from the machine, checked before a run starts (Approach.check), before
// the lock, the run folder and any ETL: a run that cannot train never starts.
import { withClient } from '../../src/db/connect.js';
import type { Topology } from '../../src/db/topology.js';
import type { Problem } from '../../src/core/approach.js';
import { checkEngine } from '../../src/engine/engine-python.js';

/** The engine must import inside a segment backend (PL/Python + torch on the server). */
export async function checkInDbms(topology: Topology): Promise<Problem[]> {
  if (topology.segments.length === 0) return [{ message: 'the topology has no segments' }];
  return withClient(topology.segments[0], async (client) => {
    const { rows } = await client.query<{ ok: boolean }>(
      "SELECT count(*) > 0 AS ok FROM pg_extension WHERE extname = 'bench'",
    );
    if (!rows[0].ok)
      return [
        {
          message: `the bench extension is not installed on ${topology.segments[0].name}`,
          fix: 'npx bench db up (or install infra/sql as extension "bench" on every instance)',
        },
      ];
    const versions = await client.query<{ v: string }>('SELECT bench_engine_versions() AS v');
    const { torch } = JSON.parse(versions.rows[0].v) as { torch: string };
    if (torch.startsWith('unavailable'))
      return [
        {
          message: `torch cannot be imported inside PostgreSQL on ${topology.segments[0].name}: ${torch}`,
          fix: 'apt-get install python3-torch (bash infra/setup.sh)',
        },
      ];
    return [];
  });
}

/** Out-of-DBMS workers: the engine's interpreter (BENCH_PYTHON, else /usr/bin/python3) imports torch and the engine. */
export async function checkWorkers(): Promise<Problem[]> {
  return checkEngine();
}
