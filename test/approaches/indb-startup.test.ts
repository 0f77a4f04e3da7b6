// The in-DBMS approaches open the direct connections that execution writes models through in the
// start-up phase (docs/indb.md, "Start-up"): a hop's or a broadcast's first use must not pay for a
// connection inside execution. Watched from outside: the segment's pg_stat_activity, polled while
// the run goes on, against the run's own execution phase.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSpec } from '../../approaches/resolve.js';
import { connect } from '../../src/db/connect.js';
import { testTopology } from '../helpers/cluster.js';
import { readEvents } from '../resume/helpers.js';

const runsDir = mkdtempSync(join(tmpdir(), 'bench-indb-startup-'));

const CASES: { approach: string; options: Record<string, string>; names: string[] }[] = [
  { approach: 'udaf', options: {}, names: ['bench-indb-in', 'bench-indb-out'] },
  { approach: 'ctq', options: { modelsIn: 'db' }, names: ['bench-indb-in', 'bench-indb-out'] },
  { approach: 'ma', options: {}, names: ['bench-indb-out'] },
];

describe('in-DBMS start-up', () => {
  it.each(CASES)('$approach $options opens its direct connections before execution', async (c) => {
    const topology = await testTopology();
    const watcher = await connect(topology.segments[0], 'bench-test-watcher');
    /** Per application name, the earliest backend start seen on seg0 (ms since the epoch). */
    const firstSeen = new Map<string, number>();
    let running = true;
    const run = runSpec({
      approach: c.approach,
      workload: 'criteo',
      scale: 'tiny',
      topology,
      runsDir,
      options: c.options,
    }).finally(() => {
      running = false;
    });
    try {
      while (running) {
        const { rows } = await watcher.query<{ name: string; started: number }>(
          `SELECT application_name AS name, extract(epoch FROM backend_start) * 1000 AS started
           FROM pg_stat_activity WHERE application_name LIKE 'bench-indb-%'`,
        );
        for (const row of rows)
          firstSeen.set(row.name, Math.min(firstSeen.get(row.name) ?? Infinity, Number(row.started)));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await watcher.end();
    }
    const { runDir, summary } = await run;
    expect(summary.status).toBe('complete');

    const execution = readEvents(runDir).find(
      (e) => e.type === 'phase' && e.phase === 'execution' && e.edge === 'start',
    );
    if (execution?.type !== 'phase') throw new Error('the run recorded no execution phase');
    expect([...firstSeen.keys()].sort()).toEqual(c.names);
    for (const name of c.names) expect(firstSeen.get(name)).toBeLessThan(execution.at);
  });
});
