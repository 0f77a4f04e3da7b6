// Time no span covers is reported as "unattributed", never hidden in a component: a run through the
// real harness whose approach sleeps without a span in the middle of an epoch shows that sleep there,
// in the summary and in the report's breakdown table.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../reports/build.js';
import { NO_COPIES, defineApproach } from '../../src/core/approach.js';
import { everySegment, withSpan } from '../../src/core/spans.js';
import { runApproach } from '../../src/run/harness.js';
import { resolveWorkload } from '../../workloads/index.js';
import { testTopology } from '../helpers/cluster.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const UNSPANNED_MS = 600;

/** Two epochs of spanned work on every segment; in epoch 1 an un-spanned sleep between two rounds. */
const sleepy = defineApproach({
  id: 'sleepy',
  title: 'test approach: spanned work with one un-spanned sleep',
  layers: { scheduling: 'none', execution: 'this process', dataAccess: 'none', modelsLive: 'nowhere' },
  options: {},
  check: async () => [],
  prepare: async () => ({ data: { storedBytes: 1, logicalBytes: 1 }, copies: NO_COPIES }),
  async train(ctx) {
    const segments = ctx.topology.segments.length;
    const work = (segment: number, epoch: number): Promise<void> =>
      withSpan(ctx.emit, 'train', { segment, config: 0, epoch }, () => sleep(200));
    const round = (epoch: number): Promise<void> => everySegment(ctx.emit, segments, (segment) => work(segment, epoch));
    for (let epoch = 0; epoch < 2; epoch++) {
      await round(epoch);
      if (epoch === 1) await sleep(UNSPANNED_MS);
      await round(epoch);
    }
  },
  cleanup: async () => undefined,
});

describe('unattributed time', () => {
  it('shows an injected un-spanned sleep as unattributed, in the summary and the breakdown table', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'bench-unattributed-'));
    const workload = resolveWorkload('criteo', 'tiny', 1);
    const topology = await testTopology();
    const request = { approach: sleepy, workload, topology, runsDir, sampleIntervalMs: 0 };
    const { runDir, summary } = await runApproach(request);
    expect(summary.breakdown).toHaveLength(2);
    const [first, second] = summary.breakdown;
    expect(first.unattributed).toBeLessThan(0.05);
    expect(second.unattributed).toBeGreaterThan((UNSPANNED_MS - 50) / 1000);
    expect(second.unattributed).toBeLessThan((UNSPANNED_MS + 150) / 1000);
    // Nothing of it went to a component.
    expect(second.approachSpecific).toBeLessThan(0.05);

    const out = join(runsDir, 'report');
    await buildReport([runDir], out, { generatedAt: '2025-01-01T00:00:00.000Z' });
    const table = readFileSync(join(out, 'breakdown.md'), 'utf8');
    expect(table).toContain('| Unattributed | Unattributed share |');
    const row = table.split('\n').find((line) => line.startsWith('| sleepy |'));
    expect(row).toBeDefined();
    const share = Number(/\| ([0-9.]+)% \|/.exec(row!)?.[1]);
    // About 0.6 s of two epochs of ~0.4 s and ~1.0 s.
    expect(share).toBeGreaterThan(15);
  });
});
