// The studies' renders on synthetic but schema-valid run folders (no cluster): which files and
// figures each writes, that Figure 10's speedups and machine times are those of the runs'
// summaries, that Table 2 comes from the registry's declarations, and that every figure a study
// writes keeps its text >= 7 pt at a 3.33 in column.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { APPROACHES } from '../../approaches/index.js';
import { machineSeconds, scalingPoints } from '../../reports/figure10.js';
import { COLUMN_INCHES, MIN_FONT_PT, minFontPoints, PAGE_INCHES } from '../../reports/style.js';
import { writeStudy, type StudyResult } from '../../studies/execute.js';
import { getStudy } from '../../studies/index.js';
import { requestKey } from '../../studies/plan.js';
import type { Answered, StudyContext } from '../../studies/types.js';
import type { LoadedRun } from '../../src/core/records.js';
import { loadRun } from '../../src/store/read.js';
import { syntheticRun, writeRunFolder } from '../metrics/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'bench-study-render-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ctx: StudyContext = { scale: 'tiny', repeats: 1 };
// Rendering ~20 figures to SVG and PNG takes seconds on a loaded 2-core machine.
vi.setConfig({ testTimeout: 120_000 });

/** Answers every request of the study with a synthetic run of the same approach, workload and segments. */
async function answer(id: string, slowOf: (approach: string, segments: number) => number): Promise<Answered[]> {
  const study = getStudy(id);
  const out: Answered[] = [];
  for (const [i, request] of study.runs(ctx).entries()) {
    const run = syntheticRun({
      runId: `${id}-${i}`,
      approach: request.approach,
      workload: request.workload,
      segments: request.segments,
      slow: slowOf(request.approach, request.segments),
      epochs: request.workload === 'scalability' ? 1 : 2,
    });
    run.info.seed = request.seed;
    out.push({ request, run: await loadRun(writeRunFolder(join(root, id, 'runs'), run)) });
  }
  return out;
}

async function render(id: string, answered: Answered[]) {
  const study = getStudy(id);
  const artifacts = await study.render(answered, ctx);
  const result: StudyResult = {
    study,
    ctx,
    answered: answered.map((a) => ({ ...a, key: requestKey(a.request), origin: a.run ? 'reused' : 'failed' })),
    artifacts,
  };
  return { artifacts, written: await writeStudy(result, join(root, id, 'out')) };
}

/** Text >= 7 pt on a 3.33 in column, and in the page-wide version (`.page.svg`) at 7 in. */
function expectColumnReady(figures: { name: string; svg: string }[], dir: string): void {
  for (const f of figures) {
    expect(minFontPoints(f.svg, COLUMN_INCHES), f.name).toBeGreaterThanOrEqual(MIN_FONT_PT);
    const page = readFileSync(join(dir, `${f.name}.page.svg`), 'utf8');
    expect(minFontPoints(page, PAGE_INCHES), `${f.name}.page`).toBeGreaterThanOrEqual(MIN_FONT_PT);
  }
}

describe('study renders', () => {
  it('fig10: speedup over one segment and machine time from the runs, a table with times relative to UDAF', async () => {
    // Faster with more segments, ctq more so than udaf.
    const answered = await answer('fig10', (a, n) => (a === 'ctq' ? 1 / n : 1.5 / Math.sqrt(n)));
    const { artifacts, written } = await render('fig10', answered);
    expect(written.figures.map((f) => f.name)).toEqual(['figure10a', 'figure10b', 'figure10c', 'figure10d']);
    expectColumnReady(written.figures, written.dir);
    const runs = answered.map((a) => a.run!) as LoadedRun[];
    const points = scalingPoints(runs);
    const exec = (a: string, n: number): number =>
      runs.find((r) => r.info.approach === a && r.info.segments === n)!.summary.executionSeconds;
    for (const p of points) expect(p.speedup).toBeCloseTo(exec(p.approachId, 1) / exec(p.approachId, p.segments), 9);
    const ctq8 = runs.find((r) => r.info.approach === 'ctq' && r.info.segments === 8)!;
    expect(machineSeconds(ctq8).trainValid).toBeCloseTo(
      ctq8.summary.breakdown.reduce((s, b) => s + b.trainValid, 0) * 8,
      9,
    );
    const md = artifacts.files.find((f) => f.name === 'figure10.md')!.content;
    expect(md).toMatch(/\| CTQ \| .* of UDAF/);
    expect(md).toContain(`${(exec('ctq', 8) / exec('udaf', 8)).toFixed(2)} of UDAF`);
    const spec = JSON.parse(readFileSync(join(written.dir, 'figure10a.vl.json'), 'utf8'));
    expect(spec.title.text).toMatch(/^Figure 10A/);
  });

  it('fig10: says which approaches have no 1-segment run', async () => {
    const answered = (await answer('fig10', () => 1)).map((a) =>
      a.request.approach === 'udaf' && a.request.segments === 1
        ? { ...a, run: undefined, failure: 'planner would not push the aggregate down' }
        : a,
    );
    const { artifacts } = await render('fig10', answered);
    expect(artifacts.notes.join('\n')).toMatch(/no 1-segment run of udaf/);
    expect(artifacts.files[0].content).toMatch(/\| UDAF \| missing \|/);
  });

  it('table6-fig9: Table 6, Figures 9A/9B/9C and a Gantt chart per run', async () => {
    const { written } = await render('table6-fig9', await answer('table6-fig9', () => 1));
    const names = written.figures.map((f) => f.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'figure9a-imagenet-tiny-2seg',
        'figure9b-imagenet-tiny-2seg',
        'figure9c-criteo-tiny-2seg',
      ]),
    );
    expect(names.filter((n) => n.startsWith('gantt-'))).toHaveLength(16);
    expect(readFileSync(join(written.dir, 'table6.md'), 'utf8')).toMatch(/\| DA-Cerebro \|/);
    expectColumnReady(written.figures, written.dir);
  });

  it("table2-table3: Table 2 from every approach's layer declaration, Table 3 with the measured blowup", async () => {
    const { artifacts } = await render('table2-table3', await answer('table2-table3', () => 1));
    const table2 = artifacts.files.find((f) => f.name === 'table2.md')!.content;
    for (const approach of Object.values(APPROACHES))
      expect(table2).toContain(approach.layers.scheduling.replace(/\|/g, '\\|'));
    const table3 = artifacts.files.find((f) => f.name === 'table3.md')!.content;
    // The synthetic export run copies its data once (extra bytes = source bytes): 2x, as the paper says.
    expect(table3).toMatch(/\| Cerebro-Spark \| Highest \| Low \| 2x \|.*\| 2\.00x \|/);
    expect(table3).toMatch(/\| UDAF \| Medium \| Highest \| None \|.*\| 1\.00x \|/);
  });
});
