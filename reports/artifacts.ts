// Writing a figure: its Vega-Lite spec (.vl.json), SVG, and a PNG at 300 dpi one column (3.33 in)
// wide; optionally a page-wide (7 in) version too, its plots widened. Text under 7 pt at the width a
// version is meant for is said as a warning (docs/studies.md, "Paper-ready figures").
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Figure } from './figure9.js';
import { renderPng, renderSvg, withReportConfig } from './render.js';
import { COLUMN_INCHES, MIN_FONT_PT, minFontPoints, PAGE_INCHES, svgWidth } from './style.js';
import type { TopLevelSpec } from 'vega-lite';

export interface WrittenFigure {
  name: string;
  title: string;
  svg: string;
  /** Absolute paths: the .vl.json, .svg and .png. */
  files: string[];
  warnings: string[];
}

/** The spec with its plot widths (top level, and a facet's inner spec) multiplied by `factor`. */
export function widened(spec: TopLevelSpec, factor: number): TopLevelSpec {
  const scale = (w: unknown): unknown => (typeof w === 'number' ? Math.round(w * factor) : w);
  const out = { ...spec } as Record<string, unknown>;
  if ('width' in out) out.width = scale(out.width);
  const inner = out.spec as Record<string, unknown> | undefined;
  if (inner && typeof inner === 'object' && 'width' in inner) out.spec = { ...inner, width: scale(inner.width) };
  return out as unknown as TopLevelSpec;
}

export interface WriteFigureOptions {
  /** Also write `<name>.page.svg` and `.page.png`, for a figure across the page (7 in). */
  pageWidth?: boolean;
}

export async function writeFigure(
  figure: Figure,
  outDir: string,
  options: WriteFigureOptions = {},
): Promise<WrittenFigure> {
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
  if (options.pageWidth) {
    const page = await renderSvg(widened(spec, PAGE_INCHES / COLUMN_INCHES));
    const pageFiles = [join(outDir, `${figure.name}.page.svg`), join(outDir, `${figure.name}.page.png`)];
    await writeFile(pageFiles[0], page.svg);
    await writeFile(pageFiles[1], renderPng(page.svg, (PAGE_INCHES * 300) / svgWidth(page.svg)));
    files.push(...pageFiles);
    const smallestOnPage = minFontPoints(page.svg, PAGE_INCHES);
    if (smallestOnPage < MIN_FONT_PT)
      warnings.push(`${figure.name}: text of ${smallestOnPage.toFixed(1)} pt at ${PAGE_INCHES} in wide`);
  }
  return { name: figure.name, title: figure.title, svg, files, warnings };
}
