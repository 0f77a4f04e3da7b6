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
import type { ModelSizePoint } from '../../reports/figure15.js';
import { COLUMN_INCHES, MIN_FONT_PT, minFontPoints, PAGE_INCHES } from '../../reports/style.js';
import { writeStudy, type StudyResult } from '../../studies/execute.js';
import { getStudy } from '../../studies/index.js';
import { requestKey } from '../../studies/plan.js';
import type { Answered, RunRequest, StudyContext } from '../../studies/types.js';
import type { LoadedRun } from '../../src/core/records.js';
import { proposition1, proposition2 } from '../../src/sched/simulator.js';
import { loadRun } from '../../src/store/read.js';
import { FIG16_PANELS, FIG16_WORKERS, type Fig16Point } from '../../studies/fig16.js';
import { syntheticRun, writeRunFolder } from '../metrics/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'bench-study-render-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ctx: StudyContext = { scale: 'tiny', repeats: 1 };
// Rendering ~20 figures to SVG and PNG takes seconds on a loaded 2-core machine.
vi.setConfig({ testTimeout: 120_000 });

/**
 * Answers every request of the study with a synthetic run of the same approach, workload, segments
 * and workload options; `edit` may change the run before it is written.
 */
async function answer(
  id: string,
  slowOf: (approach: string, segments: number) => number,
  edit?: (run: ReturnType<typeof syntheticRun>, request: RunRequest) => void,
): Promise<Answered[]> {
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
    if (Object.keys(request.options).length > 0) run.info.workloadOptions = { ...request.options };
    edit?.(run, request);
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
  it(
    'fig10: speedup over one segment and machine time from the runs, ' + 'a table with times relative to UDAF',
    async () => {
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
    },
  );

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

  it('fig16: five simulated panels with Proposition 1 and eta, no runs, text >= 7 pt at a column', async () => {
    expect(getStudy('fig16').runs(ctx)).toEqual([]);
    const { artifacts, written } = await render('fig16', []);
    expect(written.figures.map((f) => f.name)).toEqual(['figure16']);
    expectColumnReady(written.figures, written.dir);

    const { points } = JSON.parse(artifacts.files.find((f) => f.name === 'figure16.json')!.content) as {
      points: Fig16Point[];
    };
    expect([...new Set(points.map((p) => p.panel))]).toEqual(['A', 'B', 'C', 'D', 'E']);
    for (const panel of FIG16_PANELS) {
      const of = points.filter((p) => p.panel === panel.letter);
      expect(of.map((p) => p.workers)).toEqual(FIG16_WORKERS);
      for (const p of of) {
        expect([p.p, p.configs, p.lm / p.ls]).toEqual([panel.p, panel.configs, 20]);
        expect(p.prop1).toBeCloseTo(proposition1(p.p, p.workers, p.ls, p.lm), 12);
        expect(p.prop2).toBeCloseTo(proposition2(p.p, p.ls, p.lm), 12);
        // Sync is at most W times async (each batch at most the sum of its W units), and at most lm/ls.
        expect(p.speedup).toBeLessThanOrEqual(Math.min(p.workers, p.lm / p.ls) + 1e-9);
        if (p.workers === 1) expect(p.speedup).toBeCloseTo(1, 12);
      }
    }
    // The paper's contrasts: A's M is too small for the bound, B follows Proposition 1; E gains more than C.
    const at = (panel: string, w: number): Fig16Point => points.find((p) => p.panel === panel && p.workers === w)!;
    expect(at('A', 32).speedup).toBeLessThan(0.5 * at('A', 32).prop1);
    expect(Math.abs(at('B', 32).speedup / at('B', 32).prop1 - 1)).toBeLessThan(0.05);
    expect(at('C', 32).prop2).toBeGreaterThan(at('B', 32).prop2);
    expect(at('E', 32).prop2).toBeGreaterThan(at('C', 32).prop2);
    expect(at('E', 32).speedup).toBeGreaterThan(at('C', 32).speedup);

    const md = artifacts.files.find((f) => f.name === 'figure16.md')!.content;
    for (const panel of FIG16_PANELS) expect(md).toContain(`## ${panel.letter}: p=${panel.p}, M=${panel.configs}`);
    expect(md).toContain(`| 32 | ${at('E', 32).speedup.toFixed(2)} | ${at('E', 32).prop1.toFixed(2)} |`);
    const spec = JSON.parse(readFileSync(join(written.dir, 'figure16.vl.json'), 'utf8'));
    expect(spec.title.text).toMatch(/^Figure 16/);
    expect(spec.facet.sort).toHaveLength(5);
    expect(spec.resolve.scale.y).toBe('independent');
  });

  it(
    'fig15: per-epoch Train+Valid and Model Transmission of each size run from its breakdown, ' +
      'the recorded model MB',
    async () => {
      const megabytes: Record<string, number> = { small: 1, medium: 4, large: 9 };
      // The model-hop spans carry the serialized model's bytes.
      const answered = await answer(
        'fig15',
        () => 1,
        (run, request) => {
          for (const e of run.events) {
            if (e.type !== 'span' || e.kind !== 'model-hop') continue;
            e.bytes = megabytes[request.options.size] * 1e6;
          }
        },
      );
      const { artifacts, written } = await render('fig15', answered);
      expect(written.figures.map((f) => f.name)).toEqual(['figure15a', 'figure15b']);
      expectColumnReady(written.figures, written.dir);
      expect(artifacts.notes).toEqual([]);

      const points = JSON.parse(artifacts.files.find((f) => f.name === 'figure15.json')!.content) as ModelSizePoint[];
      expect(points.map((p) => `${p.size}/${p.approachId}`)).toEqual(
        ['small', 'medium', 'large'].flatMap((size) => [`${size}/udaf`, `${size}/ctq`]),
      );
      for (const p of points) {
        const run = answered.find((a) => a.run!.info.runId === p.runId)!.run!;
        const perEpoch = (read: (b: LoadedRun['summary']['breakdown'][number]) => number): number =>
          run.summary.breakdown.reduce((sum, b) => sum + read(b), 0) / run.summary.breakdown.length;
        expect(p.trainValid).toBeCloseTo(
          perEpoch((b) => b.trainValid),
          9,
        );
        expect(p.modelTransmission).toBeCloseTo(
          perEpoch((b) => b.modelTransmission),
          9,
        );
        expect(p.modelBytes).toBe(megabytes[p.size] * 1e6);
      }
      const md = artifacts.files.find((f) => f.name === 'figure15.md')!.content;
      expect(md).toMatch(/\| large \| MLP \| 9\.00 \| UDAF \| [0-9.]+ \| [0-9.]+ \| 1 \|/);
      expect(md).toMatch(/\| small \| MLP \| 1\.00 \| CTQ \|/);
      const spec = JSON.parse(readFileSync(join(written.dir, 'figure15b.vl.json'), 'utf8'));
      expect(spec.title.text).toMatch(/^Figure 15B: Model Transmission/);
      expect(spec.encoding.x.axis.labelExpr).toContain('9.00 MB');
    },
  );

  it('fig15: says which size runs are missing, and leaves them out', async () => {
    const answered = (await answer('fig15', () => 1)).map((a) =>
      a.request.approach === 'ctq' && a.request.options.size === 'large'
        ? { ...a, run: undefined, failure: 'out of memory' }
        : a,
    );
    const { artifacts } = await render('fig15', answered);
    expect(artifacts.notes.join('\n')).toMatch(/ctq, size=large, seed 1: no complete run \(out of memory\)/);
    expect(artifacts.notes.join('\n')).toMatch(/record no model bytes/);
    const md = artifacts.files.find((f) => f.name === 'figure15.md')!.content;
    expect(md).toMatch(/\| large \| MLP \| n\/a \| UDAF \|/);
    expect(md).not.toMatch(/\| large \| [^|]+ \| [^|]+ \| CTQ \|/);
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
