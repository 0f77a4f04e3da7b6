// The embedded cluster's shape: every in-DBMS statement must run on the segments, concurrently, with
// nothing left for the coordinator's planner to aggregate (else it would silently run serially on
// the coordinator), so the plans are asserted here; and a model hop must move rows between instances.
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connect.js';
import {
  analyzeDistributed,
  createDistributedTable,
  distributedTableBytes,
  dropDistributedTable,
  dropDistributedView,
  nameDeadInstances,
  probeInstance,
} from '../../src/db/distributed.js';
import { resolveTopology } from '../../src/db/resolve.js';
import { instanceUrl } from '../../src/db/topology.js';
import { assertPushedDown, createStepView, explain, stepStatement } from '../../src/engine/indb.js';
import { hopModels, MODEL_COLUMNS } from '../../approaches/shared/models-table.js';
import { testTopology, TEST_SEGMENTS } from '../helpers/cluster.js';

const DATA_COLUMNS = 'buffer_id int NOT NULL, n int NOT NULL, x bytea NOT NULL, y bytea NOT NULL';

async function planFixture(prefix: string): Promise<{ data: string; models: string }> {
  const topology = await testTopology();
  const data = `${prefix}_data`;
  const models = `${prefix}_models`;
  await createDistributedTable(topology, data, DATA_COLUMNS);
  await createDistributedTable(topology, models, MODEL_COLUMNS);
  await withClient(topology.coordinator, async (c) => {
    await c.query(
      `INSERT INTO ${data} SELECT g % ${TEST_SEGMENTS}, g, 1, '\\x00', '\\x00' FROM generate_series(1, 200) g`,
    );
    await c.query(
      `INSERT INTO ${models} (seg, config, seed, spec) SELECT g % ${TEST_SEGMENTS}, g, g, '{}' ` +
        `FROM generate_series(0, 7) g`,
    );
  });
  return { data, models };
}

describe('embedded cluster', () => {
  it('runs a coordinator and the segment instances, each with the bench extension', async () => {
    const topology = await testTopology();
    expect(topology.segments).toHaveLength(TEST_SEGMENTS);
    for (const instance of [topology.coordinator, ...topology.segments]) {
      const installed = await withClient(instance, async (c) =>
        (
          await c.query("SELECT extname FROM pg_extension WHERE extname IN ('bench', 'plpython3u') ORDER BY 1")
        ).rows.map((r) => r.extname),
      );
      expect(installed).toEqual(['bench', 'plpython3u']);
    }
  });

  it(
    "plans a step statement as Async Foreign Scans of the segments' views, every qual shipped, " +
      'whatever the statistics',
    async () => {
      const topology = await testTopology();
      const { data, models } = await planFixture('plan');
      // No ANALYZE anywhere: the plan does not depend on statistics or costs.
      await createStepView(topology, 'plan_train', {
        data,
        kind: 'train',
        source: { kind: 'table', table: models },
        meta: '{}',
        cache: false,
        writeBack: true,
        returnModel: false,
      });
      const everySegment = stepStatement(
        'plan_train',
        Array.from({ length: TEST_SEGMENTS }, (_, s) => ({ segment: s, config: s, version: 0 })),
      );
      const targeted = stepStatement('plan_train', [{ segment: 1, config: 3, version: 0 }]);
      const plans = await withClient(topology.coordinator, async (c) => {
        await assertPushedDown(c, everySegment, TEST_SEGMENTS);
        await assertPushedDown(c, targeted, 1);
        return { all: await explain(c, everySegment), one: await explain(c, targeted) };
      });
      expect(plans.all.match(/Async Foreign Scan on public\.plan_train_s\d/g)).toHaveLength(TEST_SEGMENTS);
      expect(plans.all).not.toMatch(/Aggregate|Filter:/);
      expect(
        plans.all.match(/Remote SQL: SELECT seg, config, version, result FROM public\.plan_train WHERE/g),
      ).toHaveLength(TEST_SEGMENTS);
      // A targeted statement (ctq) is pruned to its segment's partition, its quals shipped there.
      expect(plans.one).toMatch(/Foreign Scan on public\.plan_train_s1 /);
      expect(plans.one).not.toMatch(/plan_train_s0|Append|Filter:/);
      expect(plans.one).toMatch(/Remote SQL: .*\(seg = 1\).*\(config = 3\).*\(version = 0\)/);
      // On the segment, the quals reach the aggregate's input: only the selected group is formed.
      const remote = await withClient(topology.segments[1], async (c) =>
        explain(
          c,
          'SELECT seg, config, version, result FROM public.plan_train WHERE seg = 1 AND config = 3 AND version = 0',
        ),
      );
      expect(remote).toMatch(
        /Filter: \(\(m\.version = 0\) AND \(m\.config = 3\)\)|Filter: \(\(m\.config = 3\) AND \(m\.version = 0\)\)/,
      );
      expect(await distributedTableBytes(topology, data)).toBeGreaterThan(0);
      await dropDistributedView(topology, 'plan_train');
      await dropDistributedTable(topology, data);
      await dropDistributedTable(topology, models);
    },
  );

  it('refuses a statement the coordinator would aggregate or filter itself', async () => {
    const topology = await testTopology();
    const { data, models } = await planFixture('guard');
    await createStepView(topology, 'guard_train', {
      data,
      kind: 'train',
      source: { kind: 'table', table: models },
      meta: '{}',
      cache: true,
      writeBack: true,
      returnModel: false,
    });
    // An aggregate postgres_fdw cannot ship (a volatile argument) runs on the coordinator, after
    // fetching every row: what a join + aggregate over the tables themselves becomes whenever the
    // planner's costs say pushing it down saves nothing (the bug this design removes).
    const localAggregate = 'SELECT seg, sum(config * random()) FROM guard_train GROUP BY seg';
    await analyzeDistributed(topology, data);
    await withClient(topology.coordinator, async (c) => {
      await expect(assertPushedDown(c, localAggregate, TEST_SEGMENTS)).rejects.toThrow(
        /the coordinator would run .*Aggregate/,
      );
      // A qual postgres_fdw cannot ship would run every segment's view unfiltered.
      await expect(
        assertPushedDown(
          c,
          `${stepStatement('guard_train', [{ segment: 0, config: 0, version: 0 }])} AND random() < 2`,
          1,
        ),
      ).rejects.toThrow(/Filter:/);
      await expect(
        assertPushedDown(c, stepStatement('guard_train', [{ segment: 0, config: 0, version: 0 }]), TEST_SEGMENTS),
      ).rejects.toThrow(/1 foreign scans/);
    });
    await dropDistributedView(topology, 'guard_train');
    await dropDistributedTable(topology, data);
    await dropDistributedTable(topology, models);
  });

  it('hops a model between instances by copy, verify, delete, keeping its version and bytes', async () => {
    const topology = await testTopology();
    const table = 'hop_models';
    await createDistributedTable(topology, table, MODEL_COLUMNS);
    await Promise.all(
      topology.segments.map((s) => withClient(s, (c) => c.query(`ALTER TABLE ${table} ADD PRIMARY KEY (config)`))),
    );
    await withClient(topology.coordinator, (c) =>
      c.query(
        `INSERT INTO ${table} (seg, config, seed, spec, state, version) VALUES (0, 0, 1, '{}', '\\x01', 3), ` +
          `(1, 1, 1, '{}', '\\x0203', 5), (0, 2, 1, '{}', '\\x04', 0)`,
      ),
    );
    const points: string[] = [];
    const { connect } = await import('../../src/db/connect.js');
    const clients = new Map<string, import('pg').Client>();
    const segment = async (i: number, role: 'out' | 'in' = 'out') => {
      if (!clients.has(`${i}/${role}`)) clients.set(`${i}/${role}`, await connect(topology.segments[i]));
      return clients.get(`${i}/${role}`) as import('pg').Client;
    };
    const moves = [
      { config: 1, from: 1, to: 0, version: 5 },
      { config: 2, from: 0, to: 1, version: 0 },
    ];
    const bytes = await hopModels(
      table,
      segment,
      moves,
      async (point, move) => void points.push(`${point}/${move.config}`),
    );
    expect(bytes).toBeGreaterThan(3);
    // The two moves swap segments, so they run at once; each is copied, verified, then deleted.
    for (const config of [1, 2]) {
      const mine = points.filter((p) => p.endsWith(`/${config}`));
      expect(mine).toEqual([`hop:copied/${config}`, `hop:verified/${config}`, `hop:deleted/${config}`]);
    }
    const placement = await Promise.all(
      topology.segments.map((s) =>
        withClient(
          s,
          async (c) =>
            (await c.query(`SELECT seg, config, version, encode(state, 'hex') AS state FROM ${table} ORDER BY config`))
              .rows,
        ),
      ),
    );
    // Physically on the instance its seg names, not just relabelled in place.
    expect(placement).toEqual([
      [
        { seg: 0, config: 0, version: 3, state: '01' },
        { seg: 0, config: 1, version: 5, state: '0203' },
      ],
      [{ seg: 1, config: 2, version: 0, state: '04' }],
    ]);
    // A hop of a model that is not at the version asked for moves nothing.
    await expect(
      hopModels(table, segment, [{ config: 0, from: 0, to: 1, version: 2 }], async () => undefined),
    ).rejects.toThrow(/seg0 has 0 copies of it at version 2/);
    for (const client of clients.values()) await client.end();
    await dropDistributedTable(topology, table);
  });

  it('names the instance that is down when a statement fails', async () => {
    const topology = await testTopology();
    const dead = { ...topology.segments[1], port: 1 };
    expect(await probeInstance(dead)).toBe('ECONNREFUSED');
    expect(await probeInstance(topology.segments[1])).toBeUndefined();
    const named = await nameDeadInstances(
      { ...topology, segments: [topology.segments[0], dead] },
      new Error('server closed the connection unexpectedly'),
    );
    expect(named.message).toMatch(
      new RegExp(
        /^seg1 \(127\.0\.0\.1:1\) is down: ECONNREFUSED\. /.source +
          /The statement failed with: server closed the connection unexpectedly\. /.source +
          /Start it again with `npx bench db up`\.$/.source,
      ),
    );
    const untouched = new Error('syntax error');
    expect(await nameDeadInstances(topology, untouched)).toBe(untouched);
  });

  it(
    'uses an existing coordinator given by URL, discovering its segments, ' +
      'and says where it looked when unreachable',
    async () => {
      const topology = await testTopology();
      const external = await resolveTopology({ db: instanceUrl(topology.coordinator) });
      expect(external.embedded).toBe(false);
      expect(external.segments.map((s) => s.port)).toEqual(topology.segments.map((s) => s.port));
      await expect(resolveTopology({ db: 'postgresql://postgres@127.0.0.1:1/bench' })).rejects.toThrow(
        /127\.0\.0\.1:1.*bench db up/s,
      );
    },
  );
});
