// Writing a figure: its Vega-Lite spec (.vl.json), SVG, and a PNG at 300 dpi one column (3.33 in)
// wide. Text under 7 pt at that width is said as a warning (docs/studies.md, "Paper-ready figures").
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Figure } from './figure9.js';
import { renderPng, renderSvg, withReportConfig } from './render.js';
import { COLUMN_INCHES, MIN_FONT_PT, minFontPoints, svgWidth } from './style.js';

export interface WrittenFigure {
  name: string;
  title: string;
  svg: string;
  /** Absolute paths: the .vl.json, .svg and .png. */
  files: string[];
  warnings: string[];
}

export async function writeFigure(figure: Figure, outDir: string): Promise<WrittenFigure> {
  const spec = withReportConfig(figure.spec);
  const { svg, warnings: rendering } = await renderSvg(spec);
  const warnings = rendering.map((x) => `${figure.name}: ${x}`);
  const files = [
    join(outDir, `${figure.name}.vl.json`),
    join(outDir, `${figure.name}.svg`),
    join(outDir, `${figure.name}.png`),
  ];
  await writeFile(files[0], `${JSON.stringify(spec, null, 2)}\n`);
  await writeFile(files[1], svg);
  await writeFile(files[2], renderPng(svg, (COLUMN_INCHES * 300) / svgWidth(svg)));
  const smallest = minFontPoints(svg);
  if (smallest < MIN_FONT_PT)
    warnings.push(`${figure.name}: text of ${smallest.toFixed(1)} pt at ${COLUMN_INCHES} in wide`);
  return { name: figure.name, title: figure.title, svg, files, warnings };
}
