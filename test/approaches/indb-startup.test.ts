// The in-DBMS approaches open the direct connections that execution writes models through in the
// start-up phase (docs/indb.md, "Start-up"): a hop's or a broadcast's first use must not pay for a
// connection inside execution. Watched from outside: the segment's pg_stat_activity, polled while
// the run goes on, against the run's own execution phase; and from inside: every pg client this
// process connects, timed, so that none opens during execution (the recovery read included).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(CASES)('$approach $options opens its connections before execution, none during it', async (c) => {
    const topology = await testTopology();
    /** When each pg client of this process connected (ms since the epoch). */
    const connected: number[] = [];
    const clientConnect = pg.Client.prototype.connect;
    vi.spyOn(pg.Client.prototype, 'connect').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      connected.push(Date.now());
      return Reflect.apply(clientConnect, this, args);
    } as typeof clientConnect);
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

    const events = readEvents(runDir);
    const edge = (which: 'start' | 'end'): number => {
      const event = events.find((e) => e.type === 'phase' && e.phase === 'execution' && e.edge === which);
      if (event?.type !== 'phase') throw new Error(`the run recorded no execution ${which}`);
      return event.at;
    };
    const execution = { start: edge('start'), end: edge('end') };
    expect([...firstSeen.keys()].sort()).toEqual(c.names);
    for (const name of c.names) expect(firstSeen.get(name)).toBeLessThan(execution.start);
    expect(connected.length).toBeGreaterThan(0);
    expect(connected.filter((at) => at >= execution.start && at <= execution.end)).toEqual([]);
  });
});
