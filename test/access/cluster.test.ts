// On the embedded cluster: a distributed table named on the coordinator is read segment by
// segment, each partition from the files of the segment instance that stores it; `bench inspect`
// gives byte-identical output through both paths, as JSON lines and as Arrow.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import yargs from 'yargs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPackedBuffers } from '../../src/access/direct/packed.js';
import { openDirectRead } from '../../src/access/direct/reader.js';
import { inspectCommand, topologyResolver } from '../../src/cli/commands/inspect.js';
import { withClient } from '../../src/db/connect.js';
import { createDistributedTable, dropDistributedTable } from '../../src/db/distributed.js';
import type { Topology } from '../../src/db/topology.js';
import { testTopology } from '../helpers/cluster.js';
import { dumpSql } from './helpers.js';

let topology: Topology;
let dir: string;

beforeAll(async () => {
  topology = await testTopology();
  dir = await mkdtemp(join(tmpdir(), 'inspect-'));
  await createDistributedTable(
    topology,
    'direct_dist',
    'buffer_id int NOT NULL, n int NOT NULL, x bytea, y bytea, note text',
  );
  await withClient(topology.coordinator, (c) =>
    c.query(
      `INSERT INTO direct_dist SELECT g % ${topology.segments.length}, g, 10,
              decode((SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 200) i), 'hex'),
              decode(repeat('01000000', 10), 'hex'), CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || g END
         FROM generate_series(1, 60) g`,
    ),
  );
  await withClient(topology.coordinator, (c) => c.query('DELETE FROM direct_dist WHERE buffer_id % 11 = 0'));
});

afterAll(async () => {
  await dropDistributedTable(topology, 'direct_dist').catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function inspect(args: string[]): Promise<void> {
  await yargs()
    .command(inspectCommand)
    .strict()
    .parseAsync(['inspect', ...args]);
}

describe('the direct reader on the embedded cluster', () => {
  it('reads every segment partition of a distributed table from its own instance', async () => {
    const read = await openDirectRead(topology.coordinator, 'direct_dist', {
      resolveInstance: topologyResolver(topology),
    });
    expect(read.leaves.map((l) => l.instance.name)).toEqual(topology.segments.map((s) => s.name));
    const rows = [];
    for await (const row of read.rows()) rows.push(row);
    expect(rows).toHaveLength(60 - 5);
    expect(new Set(rows.map((r) => r[0]))).toEqual(new Set(topology.segments.map((_, i) => i)));
  });

  it('readPackedBuffers through the coordinator returns every segment’s buffers', async () => {
    const got = await readPackedBuffers(topology.coordinator, 'direct_dist', {
      resolveInstance: topologyResolver(topology),
    });
    const expected = await withClient(
      topology.coordinator,
      async (c) => (await c.query('SELECT buffer_id, x FROM direct_dist ORDER BY buffer_id')).rows,
    );
    got.sort((a, b) => a.bufferId - b.bufferId);
    expect(got.map((r) => r.bufferId)).toEqual(expected.map((r) => r.buffer_id));
    got.forEach((r, i) => {
      expect(r.x.equals(expected[i].x)).toBe(true);
    });
  });

  it('bench inspect: --via direct and --via sql write the same bytes, for the coordinator and a segment', async () => {
    for (const instance of ['coordinator', '1']) {
      const a = join(dir, `direct-${instance}.jsonl`);
      const b = join(dir, `sql-${instance}.jsonl`);
      await inspect(['direct_dist', '--via', 'direct', '--instance', instance, '--out', a]);
      await inspect(['direct_dist', '--via', 'sql', '--instance', instance, '--out', b]);
      const direct = await readFile(a, 'utf8');
      expect(direct.length).toBeGreaterThan(1000);
      expect(direct).toBe(await readFile(b, 'utf8'));
      const lines = direct.trimEnd().split('\n');
      if (instance === '1') expect(lines.every((l) => JSON.parse(l).seg === 1)).toBe(true);
      else expect(lines).toHaveLength(55);
    }
    const sql = await dumpSql(topology.segments[1], 'direct_dist');
    expect(`${sql.lines.join('\n')}\n`).toBe(await readFile(join(dir, 'direct-1.jsonl'), 'utf8'));
  });

  it('bench inspect --format arrow writes an Arrow file with typed columns', async () => {
    const file = join(dir, 'dist.arrow');
    await inspect([
      'direct_dist',
      '--via',
      'direct',
      '--format',
      'arrow',
      '--out',
      file,
      '--columns',
      'seg,buffer_id,x,note',
    ]);
    const table = tableFromIPC(await readFile(file));
    expect(table.numRows).toBe(55);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['seg', 'buffer_id', 'x', 'note']);
    expect((table.getChild('x')!.get(0) as Uint8Array).length).toBe(3200);
  });
});
