// The contract every registered approach must pass on the tiny workloads (docs/architecture.md, "Adding an approach"):
// it runs to completion, every config gets epochs x segments sub-epochs (each (config, segment)
// exactly once per epoch), the four-part breakdown sums to the epoch time within 10%, and the
// validation loss falls on the learnable data.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { approachIds } from '../../approaches/index.js';
import { runSpec } from '../../approaches/resolve.js';
import { runEventSchema, type RunEvent } from '../../src/core/events.js';
import { resolveWorkload } from '../../workloads/index.js';
import { testTopology } from '../helpers/cluster.js';

const runsDir = mkdtempSync(join(tmpdir(), 'bench-contract-'));

function readEvents(runDir: string): RunEvent[] {
  return readFileSync(join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => runEventSchema.parse(JSON.parse(line)));
}

/** Every registered approach, plus the variants that change where models live. */
const VARIANTS: [string, Record<string, string>][] = [
  ...approachIds().map((id): [string, Record<string, string>] => [id, {}]),
  ['ctq', { modelsIn: 'db' }],
];
const finalValidLoss = new Map<string, number>();

describe.each(VARIANTS)('approach %s %j', (approach, options) => {
  it.each(['criteo', 'imagenet'])('completes %s/tiny and honours the contract', async (workloadId) => {
    const topology = await testTopology();
    const segments = topology.segments.length;
    const workload = resolveWorkload(workloadId, 'tiny', 1);
    const { runDir, summary } = await runSpec({
      approach,
      workload: workloadId,
      scale: 'tiny',
      topology,
      runsDir,
      options,
      sampleIntervalMs: 250,
    });

    expect(summary.status).toBe('complete');
    const units = readEvents(runDir).filter((e): e is Extract<RunEvent, { type: 'unit' }> => e.type === 'unit');
    expect(units).toHaveLength(workload.configs.length * segments * workload.epochs);
    const keys = new Set(units.map((u) => `${u.config}/${u.segment}/${u.epoch}`));
    expect(keys.size).toBe(units.length);
    for (const config of workload.configs) {
      for (let epoch = 0; epoch < workload.epochs; epoch++) {
        const visited = units
          .filter((u) => u.config === config.id && u.epoch === epoch)
          .map((u) => u.segment)
          .sort();
        expect(visited).toEqual(Array.from({ length: segments }, (_, i) => i));
      }
    }

    expect(summary.epochSeconds).toHaveLength(workload.epochs);
    summary.breakdown.forEach((parts, epoch) => {
      const sum = parts.trainValid + parts.dataTransmission + parts.modelTransmission + parts.approachSpecific;
      expect(Math.abs(sum - summary.epochSeconds[epoch])).toBeLessThanOrEqual(0.1 * summary.epochSeconds[epoch]);
      expect(parts.trainValid).toBeGreaterThan(0);
    });

    const meanValidLoss = (epoch: number): number => {
      const losses = summary.metrics.filter((m) => m.epoch === epoch).map((m) => m.validLoss);
      expect(losses).toHaveLength(workload.configs.length);
      return losses.reduce((a, b) => a + b, 0) / losses.length;
    };
    expect(meanValidLoss(workload.epochs - 1)).toBeLessThan(meanValidLoss(0));
    if (Object.keys(options).length === 0)
      finalValidLoss.set(`${approach}/${workloadId}`, meanValidLoss(workload.epochs - 1));
  });
});

describe('convergence (paper Figure 9A)', () => {
  it('model averaging learns slower than model hopper parallelism on the same data and epochs', () => {
    for (const workload of ['criteo', 'imagenet']) {
      const ma = finalValidLoss.get(`ma/${workload}`);
      const mop = ['export', 'udaf', 'ctq'].map((a) => finalValidLoss.get(`${a}/${workload}`));
      expect(ma).toBeDefined();
      for (const loss of mop) expect(loss).toBeLessThan(ma as number);
    }
  });
});
