// Figure 15 on real runs, one model size (the whole study is 6 runs, about 3 min on 2 loaded cores;
// every size is rendered from synthetic runs in render.test.ts): udaf and ctq on modelsize at tiny
// scale with size=small, on the test cluster. The points are the stored runs' breakdowns, the model
// size is what the runs recorded (the engine's checkpoint: weights and Adam's two moments, about 3x
// the float32 weights), and the figures keep their text >= 7 pt at a column.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { meanBreakdownOf } from '../../reports/figure9.js';
import type { ModelSizePoint } from '../../reports/figure15.js';
import { COLUMN_INCHES, MIN_FONT_PT, minFontPoints } from '../../reports/style.js';
import { parameterCounts } from '../../src/engine/model-info.js';
import { executeStudy, writeStudy } from '../../studies/execute.js';
import { getStudy } from '../../studies/index.js';
import type { Study, StudyContext } from '../../studies/types.js';
import { resolveWorkload } from '../../workloads/index.js';

const root = mkdtempSync(join(tmpdir(), 'bench-fig15-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ctx: StudyContext = { scale: 'tiny', repeats: 1 };

describe('fig15 on real tiny runs of one size', () => {
  it('renders the stored runs of size=small: their breakdown, their recorded checkpoint bytes', async () => {
    const fig15 = getStudy('fig15');
    const small: Study = { ...fig15, runs: (c) => fig15.runs(c).filter((r) => r.options.size === 'small') };
    const result = await executeStudy(small, ctx, { runsDir: join(root, 'runs'), sampleIntervalMs: 0 });
    expect(result.answered.map((a) => [a.request.approach, a.origin])).toEqual([
      ['udaf', 'ran'],
      ['ctq', 'ran'],
    ]);
    for (const a of result.answered) expect(a.run!.info.workloadOptions?.size).toBe('small');

    const points = JSON.parse(
      result.artifacts.files.find((f) => f.name === 'figure15.json')!.content,
    ) as ModelSizePoint[];
    expect(points.map((p) => [p.size, p.approachId, p.model])).toEqual([
      ['small', 'udaf', 'MobileNetV2'],
      ['small', 'ctq', 'MobileNetV2'],
    ]);
    const [params] = [...(await parameterCounts(resolveWorkload('modelsize', 'tiny', 1, { size: 'small' }))).values()];
    for (const p of points) {
      const run = result.answered.find((a) => a.run!.info.runId === p.runId)!.run!;
      expect(p.trainValid).toBe(meanBreakdownOf(run, 'trainValid'));
      expect(p.modelTransmission).toBe(meanBreakdownOf(run, 'modelTransmission'));
      expect(p.trainValid).toBeGreaterThan(0);
      // Weights and the optimizer's two moments, float32, with the checkpoint's framing.
      expect(p.modelBytes! / (4 * params)).toBeGreaterThan(2.9);
      expect(p.modelBytes! / (4 * params)).toBeLessThan(3.2);
    }
    expect(result.artifacts.notes.join('\n')).not.toMatch(/no complete run/);

    const written = await writeStudy(result, join(root, 'out'));
    expect(written.figures.map((f) => f.name)).toEqual(['figure15a', 'figure15b']);
    for (const f of written.figures) {
      expect(minFontPoints(f.svg, COLUMN_INCHES), f.name).toBeGreaterThanOrEqual(MIN_FONT_PT);
    }
  });
});
