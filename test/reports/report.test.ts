// Builds a report from synthetic but schema-valid run folders, then checks every artifact: the
// tables, that every emitted Vega-Lite spec compiles and renders, that PNGs are PNGs, that the
// output is reproducible, and that index.html renders every figure in headless Chromium.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { chromium } from 'playwright-core';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, type BuildResult } from '../../reports/build.js';
import { simulateSweep } from '../../src/cli/commands/simulate.js';
import { NO_GPU } from '../../reports/table6.js';
import { APPROACH_STYLES, COLUMN_INCHES, MIN_FONT_PT, minFontPoints, svgFontSizes } from '../../reports/style.js';
import { syntheticRun, writeRunFolder } from '../metrics/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'bench-report-'));
const runsDir = join(root, 'runs');
const outDir = join(root, 'report');
const simulationPath = join(root, 'simulation.json');
let result: BuildResult;

const CHROMIUM = '/usr/bin/chromium';

beforeAll(async () => {
  const t0 = 1_700_000_000_000;
  for (const [approach, slow] of [
    ['ma', 1],
    ['udaf', 1.3],
    ['ctq', 1.1],
    ['export', 0.7],
  ] as const) {
    writeRunFolder(runsDir, syntheticRun({ runId: `criteo-${approach}`, approach, slow, t0, epochs: 3, segments: 2 }));
    writeRunFolder(
      runsDir,
      syntheticRun({
        runId: `imagenet-${approach}`,
        approach,
        workload: 'imagenet',
        slow,
        t0,
        epochs: 2,
        segments: 2,
        gpu: true,
      }),
    );
  }
  // A second ctq run (averaged) and two runs that did not finish: one with an incomplete
  // summary, one whose process died before writing summary.json.
  writeRunFolder(
    runsDir,
    syntheticRun({ runId: 'criteo-ctq-2', approach: 'ctq', slow: 1.2, t0, epochs: 3, segments: 2 }),
  );
  writeRunFolder(
    runsDir,
    syntheticRun({ runId: 'criteo-da-dead', approach: 'da', t0, epochs: 3, segments: 2, complete: false }),
    { status: 'incomplete' },
  );
  writeRunFolder(
    runsDir,
    syntheticRun({ runId: 'criteo-ddp-killed', approach: 'ddp', slow: 2, t0, epochs: 3, segments: 2, complete: false }),
    { summary: false },
  );
  // The simulation file exactly as `bench simulate` writes it.
  const sim = simulateSweep(
    { configs: 16, workers: [2, 4, 8], p: [0.5, 0.9], ls: 1, lm: 8, epochs: 1, seed: 1, repeats: 2 },
    new Date('2025-01-01T00:00:00.000Z'),
  );
  writeFileSync(simulationPath, JSON.stringify(sim, null, 2));
  result = await buildReport([runsDir], outDir, {
    simulation: simulationPath,
    generatedAt: '2025-01-01T00:00:00.000Z',
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function figureNames(): string[] {
  return readdirSync(outDir)
    .filter((f) => f.endsWith('.vl.json'))
    .map((f) => f.slice(0, -'.vl.json'.length))
    .sort();
}

describe('buildReport', () => {
  it('writes the tables, index.html and every figure as .vl.json, .svg and .png', () => {
    for (const f of ['table6.md', 'table6.csv', 'breakdown.md', 'breakdown.csv', 'index.html']) {
      expect(existsSync(join(outDir, f))).toBe(true);
    }
    const names = figureNames();
    expect(names).toEqual(
      expect.arrayContaining([
        'convergence-criteo-tiny-2seg',
        'figure9c-criteo-tiny-2seg',
        'figure9a-imagenet-tiny-2seg',
        'figure9b-imagenet-tiny-2seg',
        'gantt-criteo-ctq',
        'gantt-criteo-ddp-killed',
        'simulation-speedup',
        'simulation-makespan',
      ]),
    );
    expect(names.filter((n) => n.startsWith('gantt-'))).toHaveLength(11);
    for (const n of names) for (const ext of ['.svg', '.png']) expect(existsSync(join(outDir, n + ext))).toBe(true);
    expect(result.files.length).toBe(5 + names.length * 3);
  });

  it('writes Table 6 with the paper columns, N/A without a GPU, and incomplete rows marked', () => {
    const md = readFileSync(join(outDir, 'table6.md'), 'utf8');
    expect(md).toContain(
      '| Approach | n | ETL time | Start-up time | Exec. time | Epoch time | GPU util. | GPU RAM util. | ' +
        'CPU util. machine / run | DRAM util. machine / run | Network (counted) | Net tx (sampled) | ' +
        'Disk (counted) | Local IPC | ETL / start-up bytes | Per w. disk R/W | Storage blowup logical / stored |',
    );
    expect(md).toContain('Cells: mean ± 95% CI half-width over n runs.');
    const criteo = md.slice(md.indexOf('## criteo'), md.indexOf('## imagenet'));
    const imagenet = md.slice(md.indexOf('## imagenet'));
    expect(criteo).toContain(NO_GPU);
    expect(imagenet).not.toContain(NO_GPU);
    expect(criteo).toMatch(/\| DA-Cerebro \(incomplete\) \|/);
    expect(criteo).toMatch(/\| PytorchDDP \(incomplete\) \|/);
    expect(criteo).toMatch(/\| CTQ \| 2 \| [0-9.]+ s ± [0-9.]+ s \|/); // two ctq runs: mean ± 95% CI
    expect(criteo).toMatch(/\| Cerebro-Spark \|.*\| 2\.00x \/ 3\.00x \|/);
    expect(md).toMatch(/counted exactly/);

    const csv = readFileSync(join(outDir, 'table6.csv'), 'utf8').trim().split('\n');
    const header = csv[0].split(',');
    const expectedColumns = ['network_bytes_counted', 'net_tx_bytes_sampled', 'etl_bytes_counted'];
    expectedColumns.push('startup_bytes_counted', 'storage_blowup_logical', 'execution_seconds_ci95');
    expectedColumns.push('startup_seconds', 'calibration_seconds');
    expect(header).toEqual(expect.arrayContaining(expectedColumns));
    const rows = csv.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
    expect(rows).toHaveLength(10);
    const ddp = rows.find((r) => r.approach === 'ddp')!;
    expect(ddp.status).toBe('incomplete');
    expect(ddp.gpu_util_pct).toBe(NO_GPU);
    const ma = rows.find((r) => r.workload === 'criteo' && r.approach === 'ma')!;
    expect(Number(ma.execution_seconds)).toBeCloseTo(6, 6); // 3 epochs x 2 rounds x 1 s
    expect(Number(ma.epoch_seconds)).toBeCloseTo(Number(ma.execution_seconds) / 3, 6);
    const imagenetMa = rows.find((r) => r.workload === 'imagenet' && r.approach === 'ma')!;
    expect(Number(imagenetMa.gpu_util_pct)).toBe(60);
  });

  it('emits Vega-Lite specs that compile and render to SVG with marks', async () => {
    for (const name of figureNames()) {
      const spec = JSON.parse(readFileSync(join(outDir, `${name}.vl.json`), 'utf8')) as TopLevelSpec;
      expect(spec.config?.font).toBe('DejaVu Sans');
      const view = new View(parse(compile(spec).spec), { renderer: 'none' });
      const svg = await view.toSVG();
      view.finalize();
      expect(svg, name).toMatch(/class="mark-[a-z]+ role-mark/);
      expect(readFileSync(join(outDir, `${name}.svg`), 'utf8')).toBe(svg);
    }
  });

  it('marks incomplete runs in the figures', () => {
    const fig9 = JSON.parse(readFileSync(join(outDir, 'figure9c-criteo-tiny-2seg.vl.json'), 'utf8'));
    const approaches = new Set((fig9.layer[0].data.values as { approach: string }[]).map((v) => v.approach));
    expect([...approaches]).toEqual([
      'MADlib MA',
      'UDAF',
      'CTQ',
      'DA-Cerebro (incomplete)',
      'Cerebro-Spark',
      'PytorchDDP (incomplete)',
    ]);
    const gantt = JSON.parse(readFileSync(join(outDir, 'gantt-criteo-ddp-killed.vl.json'), 'utf8'));
    expect(gantt.title.text).toMatch(/\(incomplete\)$/);
  });

  it('gives every figure text of at least 7 pt at a 3.33 in column width', () => {
    for (const name of figureNames()) {
      const svg = readFileSync(join(outDir, `${name}.svg`), 'utf8');
      expect(svgFontSizes(svg).length, name).toBeGreaterThan(0);
      expect(minFontPoints(svg, COLUMN_INCHES), name).toBeGreaterThanOrEqual(MIN_FONT_PT);
    }
  });

  it('draws each approach in its one colour and under its paper name in every figure', () => {
    const colours = new Map<string, string>();
    for (const name of figureNames()) {
      const spec = JSON.parse(readFileSync(join(outDir, `${name}.vl.json`), 'utf8'));
      const scale = spec.encoding?.color?.scale as { domain: string[]; range: string[] } | undefined;
      if (!scale || spec.encoding.color.field !== 'approach') continue;
      scale.domain.forEach((label, i) => {
        const id = Object.keys(APPROACH_STYLES).find((a) => label.startsWith(APPROACH_STYLES[a].name))!;
        expect(scale.range[i], `${name}: ${label}`).toBe(APPROACH_STYLES[id].colour);
        colours.set(label, scale.range[i]);
      });
    }
    expect(colours.get('UDAF')).toBe(APPROACH_STYLES.udaf.colour);
    expect(colours.get('CTQ')).toBe(APPROACH_STYLES.ctq.colour);
    const makespan = JSON.parse(readFileSync(join(outDir, 'simulation-makespan.vl.json'), 'utf8'));
    expect(makespan.spec.encoding.color.scale.range).toEqual([APPROACH_STYLES.udaf.colour, APPROACH_STYLES.ctq.colour]);
  });

  it('titles Figure 9 as the paper does: 9A and 9B ImageNet, 9C Criteo', () => {
    const titleOf = (n: string): string => JSON.parse(readFileSync(join(outDir, `${n}.vl.json`), 'utf8')).title.text;
    expect(titleOf('figure9a-imagenet-tiny-2seg')).toMatch(/^Figure 9A:/);
    expect(titleOf('figure9b-imagenet-tiny-2seg')).toMatch(/^Figure 9B:/);
    expect(titleOf('figure9c-criteo-tiny-2seg')).toMatch(/^Figure 9C:/);
    expect(titleOf('convergence-criteo-tiny-2seg')).not.toMatch(/Figure 9/);
    // Run events count epochs from 0; the x axis counts them from 1, as the paper and Figure 12 do.
    const spec = JSON.parse(readFileSync(join(outDir, 'figure9a-imagenet-tiny-2seg.vl.json'), 'utf8'));
    const epochs = (spec.data.values as { epoch: number }[]).map((v) => v.epoch);
    expect([Math.min(...epochs), Math.max(...epochs)]).toEqual([1, 2]);
  });

  it('keeps Gantt legends no taller than their charts, and their SVGs under 1 MB', async () => {
    interface SceneNode {
      marktype?: string;
      role?: string;
      items?: SceneNode[];
      bounds?: { y1: number; y2: number };
    }
    const legendHeights = (node: SceneNode, out: number[]): number[] => {
      if (node.role === 'legend')
        for (const item of node.items ?? []) if (item.bounds) out.push(item.bounds.y2 - item.bounds.y1);
      for (const child of node.items ?? []) legendHeights(child, out);
      return out;
    };
    for (const name of figureNames().filter((n) => n.startsWith('gantt-'))) {
      const spec = JSON.parse(readFileSync(join(outDir, `${name}.vl.json`), 'utf8')) as TopLevelSpec;
      const view = new View(parse(compile(spec).spec), { renderer: 'none' });
      await view.runAsync();
      const heights = legendHeights((view.scenegraph() as unknown as { root: SceneNode }).root, []);
      const chart = view.signal('height') as number;
      view.finalize();
      expect(heights.length, name).toBeGreaterThan(0);
      for (const h of heights) expect(h, name).toBeLessThanOrEqual(chart);
      expect(Buffer.byteLength(readFileSync(join(outDir, `${name}.svg`))), name).toBeLessThan(1_000_000);
    }
  });

  it('writes real PNGs', () => {
    for (const name of figureNames()) {
      const png = PNG.sync.read(readFileSync(join(outDir, `${name}.png`)));
      expect(png.width, name).toBeGreaterThan(100);
      expect(png.height, name).toBeGreaterThan(50);
    }
  });

  it('is reproducible: the same runs give the same files', async () => {
    const again = join(root, 'again');
    await buildReport([runsDir], again, { simulation: simulationPath, generatedAt: '2025-01-01T00:00:00.000Z' });
    for (const file of readdirSync(outDir)) {
      expect(readFileSync(join(again, file)).equals(readFileSync(join(outDir, file))), file).toBe(true);
    }
  });

  it('renders every figure of index.html in headless Chromium, offline', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the chromium package (npm run setup)`);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('pageerror', (e) => errors.push(String(e)));
      const url = pathToFileURL(join(outDir, 'index.html')).href;
      await page.goto(url);
      const figures = await page.$$eval('figure', (nodes) =>
        nodes.map((figure) => {
          const svgs = figure.querySelectorAll('svg');
          const svg = svgs[0];
          const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
          const marks = svg
            ? [...svg.querySelectorAll('g.role-mark > *')].filter((m) => {
                const b = (m as SVGGraphicsElement).getBBox();
                return b.width > 0 || b.height > 0;
              }).length
            : 0;
          return { id: figure.id, svgs: svgs.length, width: box.width, height: box.height, marks };
        }),
      );
      expect(figures.map((f) => f.id).sort()).toEqual(figureNames());
      for (const f of figures) {
        expect(f.svgs, f.id).toBe(1);
        expect(f.width, f.id).toBeGreaterThan(0);
        expect(f.height, f.id).toBeGreaterThan(0);
        expect(f.marks, f.id).toBeGreaterThan(0);
      }
      const text = await page.textContent('body');
      expect(text).toContain('2 incomplete');
      expect(requests).toEqual([url]); // self-contained: nothing else is fetched
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
