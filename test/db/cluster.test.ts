// The embedded cluster's shape: without pushdown and async execution the in-DBMS approaches would
// silently run serially on the coordinator, so the plans are asserted here.
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connect.js';
import { analyzeDistributed, createDistributedTable, distributedTableBytes, dropDistributedTable } from '../../src/db/distributed.js';
import { resolveTopology } from '../../src/db/resolve.js';
import { instanceUrl } from '../../src/db/topology.js';
import { assertPushedDown, explain } from '../../src/engine/indb.js';
import { batchStatement, hopStatement, validationStatement } from '../../approaches/udaf.js';
import { targetedStatement } from '../../approaches/ctq.js';
import { testTopology, TEST_SEGMENTS } from '../helpers/cluster.js';

describe('embedded cluster', () => {
  it('runs a coordinator and the segment instances, each with the bench extension', async () => {
    const topology = await testTopology();
    expect(topology.segments).toHaveLength(TEST_SEGMENTS);
    for (const instance of [topology.coordinator, ...topology.segments]) {
      const installed = await withClient(instance, async (c) => (await c.query("SELECT extname FROM pg_extension WHERE extname IN ('bench', 'plpython3u') ORDER BY 1")).rows.map((r) => r.extname));
      expect(installed).toEqual(['bench', 'plpython3u']);
    }
  });

  it('pushes the training join and aggregate down to every segment as Async Foreign Scans', async () => {
    const topology = await testTopology();
    await createDistributedTable(topology, 'plan_data', 'buffer_id int, n int, x bytea, y bytea');
    await createDistributedTable(topology, 'plan_models', 'config int NOT NULL, spec json NOT NULL, state bytea');
    await withClient(topology.coordinator, async (c) => {
      await c.query("INSERT INTO plan_data SELECT g % 2, g, 1, '\\x00', '\\x00' FROM generate_series(1, 200) g");
      await c.query("INSERT INTO plan_models VALUES (0, 0, '{}', '\\x00'), (1, 1, '{}', '\\x00')");
    });
    await analyzeDistributed(topology, 'plan_data');
    await analyzeDistributed(topology, 'plan_models');
    const plans = await withClient(topology.coordinator, async (c) => ({
      train: await explain(c, batchStatement('plan_data', 'plan_models', [0, 1], '{}')),
      valid: await explain(c, validationStatement('plan_data', 'plan_models', '{}')),
      targeted: await explain(c, targetedStatement('plan_data', 1, "bench_train('{}'::json, 0, '{}'::json, '{}'::json, x, y, n)")),
    }));
    for (const plan of [plans.train, plans.valid]) {
      expect(plan.match(/Async Foreign Scan/g)).toHaveLength(TEST_SEGMENTS);
      expect(plan.match(/Relations: Aggregate on \(\(public\.plan_data_s\d+ \w+\) INNER JOIN \(public\.plan_models_s\d+ \w+\)\)/g)).toHaveLength(TEST_SEGMENTS);
      expect(plan).toContain('bench_');
    }
    // A CTQ targeted query touches only its segment's partition, with the aggregate pushed there.
    expect(plans.targeted).toMatch(/Relations: Aggregate on \(public\.plan_data_s1 plan_data\)/);
    expect(plans.targeted).not.toContain('plan_data_s0');
    expect(plans.targeted).not.toContain('Append');
    expect(await distributedTableBytes(topology, 'plan_data')).toBeGreaterThan(0);
    await dropDistributedTable(topology, 'plan_data');
    await dropDistributedTable(topology, 'plan_models');
  });

  it('refuses a statement the planner would run on the coordinator (no statistics, no pushdown)', async () => {
    const topology = await testTopology();
    await createDistributedTable(topology, 'guard_data', 'buffer_id int, n int, x bytea, y bytea');
    await createDistributedTable(topology, 'guard_models', 'config int NOT NULL, spec json NOT NULL, state bytea');
    await withClient(topology.coordinator, async (c) => {
      await c.query("INSERT INTO guard_data SELECT g % 2, g, 1, '\\x00', '\\x00' FROM generate_series(1, 200) g");
      await c.query("INSERT INTO guard_models SELECT g % 2, g, '{}', '\\x00' FROM generate_series(0, 15) g");
    });
    await analyzeDistributed(topology, 'guard_data');
    const statement = batchStatement('guard_data', 'guard_models', [0, 1], '{}');
    await withClient(topology.coordinator, (c) => expect(assertPushedDown(c, statement, TEST_SEGMENTS)).rejects.toThrow(/would train on the coordinator, serially/));
    await analyzeDistributed(topology, 'guard_models');
    await withClient(topology.coordinator, (c) => assertPushedDown(c, statement, TEST_SEGMENTS));
    await dropDistributedTable(topology, 'guard_data');
    await dropDistributedTable(topology, 'guard_models');
  });

  it('moves model rows to other segment instances with the UDAF hop (a split update of seg)', async () => {
    const topology = await testTopology();
    await createDistributedTable(topology, 'hop_models', 'config int NOT NULL, spec json NOT NULL, state bytea');
    await withClient(topology.coordinator, (c) => c.query("INSERT INTO hop_models VALUES (0, 0, '{}', '\\x01'), (1, 1, '{}', '\\x0203'), (0, 2, '{}', '\\x04')"));
    const moved = await withClient(topology.coordinator, async (c) => (await c.query(hopStatement('hop_models', new Map([[1, 0], [2, 1]])))).rows[0]);
    expect(moved).toEqual({ bytes: '3', moved: 2 });
    const placement = await Promise.all(topology.segments.map((s) => withClient(s, async (c) => (await c.query('SELECT seg, config FROM hop_models ORDER BY config')).rows)));
    // Physically on the instance its seg names, not just relabelled in place.
    expect(placement).toEqual([[{ seg: 0, config: 0 }, { seg: 0, config: 1 }], [{ seg: 1, config: 2 }]]);
    await dropDistributedTable(topology, 'hop_models');
  });

  it('uses an existing coordinator given by URL, discovering its segments, and says where it looked when unreachable', async () => {
    const topology = await testTopology();
    const external = await resolveTopology({ db: instanceUrl(topology.coordinator) });
    expect(external.embedded).toBe(false);
    expect(external.segments.map((s) => s.port)).toEqual(topology.segments.map((s) => s.port));
    await expect(resolveTopology({ db: 'postgresql://postgres@127.0.0.1:1/bench' })).rejects.toThrow(/127\.0\.0\.1:1.*bench db up/s);
  });
});
