// `bench report`: loads run folders and writes every artifact of the report into one folder:
// table6.md, table6.csv, breakdown.md, breakdown.csv, index.html, and each figure as .vl.json, .svg and .png.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LoadedRun } from '../src/core/records.js';
import { expandRunPaths, loadReadableRuns } from '../src/store/read.js';
import { writeFigure } from './artifacts.js';
import { breakdownCsv, breakdownMarkdown, breakdownTable, figure9, type Figure } from './figure9.js';
import { ganttBars, ganttFigure } from './gantt.js';
import { renderHtml, type HtmlFigure } from './html.js';
import { searchFigures, searchMarkdown } from './search.js';
import { loadSimulation, simulationFigures } from './simulation.js';
import { table6, table6Csv, table6Markdown } from './table6.js';

export interface BuildOptions {
  /** A simulation.json written by `bench simulate`. */
  simulation?: string;
  /** Title of index.html. */
  title?: string;
  /** Timestamp written into index.html (default: now); fix it for reproducible output. */
  generatedAt?: string;
}

export interface BuildResult {
  /** Every file written, absolute paths. */
  files: string[];
  /** Things tolerated on the way (torn last lines, derived summaries, vega warnings). */
  warnings: string[];
  runs: LoadedRun[];
  /** Run folders that could not be read (each named in `warnings` too); the report leaves them out. */
  unreadable: string[];
}

/** Every figure the runs (and the simulation) give, in report order. */
export function reportFigures(
  runs: readonly LoadedRun[],
  simulation?: Parameters<typeof simulationFigures>[0],
): Figure[] {
  return [
    ...figure9(runs),
    ...searchFigures(runs),
    // A run with no spans (it died before execution) has no chart to draw.
    ...runs.filter((r) => ganttBars(r).length > 0).map(ganttFigure),
    ...(simulation ? simulationFigures(simulation) : []),
  ];
}

export async function buildReport(runDirs: string[], outDir: string, options: BuildOptions = {}): Promise<BuildResult> {
  const dirs = await expandRunPaths(runDirs);
  const { runs, unreadable } = await loadReadableRuns(dirs);
  const simulation = options.simulation ? await loadSimulation(options.simulation) : undefined;
  const warnings = [
    ...unreadable.map((u) => `left out ${u.dir}: ${u.error.message}`),
    ...runs.flatMap((r) => r.warnings),
  ];

  const out = resolve(outDir);
  await mkdir(out, { recursive: true });
  const files: string[] = [];
  const write = async (name: string, data: string | Buffer): Promise<void> => {
    const path = join(out, name);
    await writeFile(path, data);
    files.push(path);
  };

  const t6 = table6(runs);
  await write('table6.md', table6Markdown(t6));
  await write('table6.csv', table6Csv(t6));
  const breakdown = breakdownTable(runs);
  await write('breakdown.md', breakdownMarkdown(breakdown));
  await write('breakdown.csv', breakdownCsv(breakdown));
  const searches = searchMarkdown(runs);
  if (searches) await write('search.md', searches);

  const rendered: HtmlFigure[] = [];
  for (const figure of reportFigures(runs, simulation)) {
    const written = await writeFigure(figure, out);
    files.push(...written.files);
    warnings.push(...written.warnings);
    rendered.push({ name: written.name, title: written.title, svg: written.svg });
  }

  await write(
    'index.html',
    renderHtml({
      title: options.title ?? 'bench report',
      generatedAt: options.generatedAt ?? new Date().toISOString(),
      runs,
      table6: t6,
      breakdown,
      figures: rendered,
      warnings,
    }),
  );
  return { files, warnings, runs, unreadable: unreadable.map((u) => u.dir) };
}
