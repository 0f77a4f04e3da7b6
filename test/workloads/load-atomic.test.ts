// `bench data load` of a malformed file leaves the loaded dataset as it was (docs/resume.md, "Data
// loads and reports"): it used to delete the dataset's record and drop its tables before it found
// the bad line. The new load goes into staging tables and replaces the old one only when complete.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResolvedWorkload } from '../../src/core/workload.js';
import { ident, withClient } from '../../src/db/connect.js';
import { dropDistributedTable, tableExists } from '../../src/db/distributed.js';
import { ensureRawData, rawTableNames } from '../../workloads/data/load.js';
import { deleteRecord, readRecord } from '../../workloads/data/registry.js';
import { formatCriteoLine } from '../../workloads/formats/criteo-tsv.js';
import { CriteoGenerator } from '../../workloads/generate/criteo.js';
import { resolveWorkload } from '../../workloads/index.js';
import { testTopology } from '../helpers/cluster.js';

const scratch = mkdtempSync(join(tmpdir(), 'bench-load-atomic-'));
const base = resolveWorkload('criteo', 'tiny', 1);
const workload: ResolvedWorkload = { ...base, datasetName: 'test_criteo_atomic' };
const tables = rawTableNames(workload);

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  const topology = await testTopology();
  for (const t of [...Object.values(tables), `${tables.train}_new`, `${tables.valid}_new`])
    await dropDistributedTable(topology, t);
  await deleteRecord(topology, workload.datasetName);
});

async function rowCount(table: string): Promise<number> {
  const topology = await testTopology();
  return withClient(topology.coordinator, async (c) =>
    Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${ident(table)}`)).rows[0].n),
  );
}

describe('a load that fails leaves the loaded dataset as it was', () => {
  it('a malformed Criteo TSV: the old record and tables stay, no staging table is left', async () => {
    const topology = await testTopology();
    const rows = [...new CriteoGenerator(workload.dataset as never, 3).rows('train', 0, 120)];
    const good = join(scratch, 'good.tsv');
    writeFileSync(good, rows.map(formatCriteoLine).join('\n') + '\n');
    await ensureRawData(topology, workload, { source: good });
    const before = await readRecord(topology, workload.datasetName);
    expect(before).toMatchObject({ trainRows: 96, validRows: 24 });

    const lines = rows.map(formatCriteoLine);
    lines[100] = lines[100].replace(/^(\d)\t[^\t]*/, '$1\tnot-an-int');
    const bad = join(scratch, 'bad.tsv');
    writeFileSync(bad, lines.join('\n') + '\n');
    await expect(ensureRawData(topology, workload, { source: bad })).rejects.toThrow(
      `test_criteo_atomic: the load failed and was undone (the ${before!.description} loaded before is still there): ` +
        `${bad}:101: integer feature I1 is not an integer: 'not-an-int'`,
    );
    expect(await readRecord(topology, workload.datasetName)).toEqual(before);
    expect(await rowCount(tables.train)).toBe(96);
    expect(await rowCount(tables.valid)).toBe(24);
    expect(await tableExists(topology, `${tables.train}_new`)).toBe(false);
    expect(await tableExists(topology, `${tables.valid}_new`)).toBe(false);
    // The dataset is still usable as it was: the next plain load reuses it.
    expect((await ensureRawData(topology, workload)).reused).toBe(true);

    // A good file replaces it; the swapped-in tables answer through their partitions.
    const fewer = join(scratch, 'fewer.tsv');
    writeFileSync(fewer, rows.slice(0, 60).map(formatCriteoLine).join('\n') + '\n');
    expect(await ensureRawData(topology, workload, { source: fewer })).toEqual({
      trainRows: 48,
      validRows: 12,
      reused: false,
    });
    expect(await rowCount(tables.train)).toBe(48);
    expect(await rowCount(tables.valid)).toBe(12);
    expect(await tableExists(topology, `${tables.train}_new`)).toBe(false);
  });
});
