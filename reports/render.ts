// Headless rendering of typed Vega-Lite specs (docs/architecture.md, "Layers": reports): vega-lite compile -> vega View
// with renderer 'none' -> toSVG(); PNG through @resvg/resvg-js with one known font file, so the
// output does not depend on the fonts a machine happens to have. No canvas, no browser.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { parse, View, Warn } from 'vega';
import opentype from 'opentype.js';
import { compile, type TopLevelSpec } from 'vega-lite';
import { FONT_PX } from './style.js';

export const FONT_FAMILY = 'DejaVu Sans';

const repoRoot = join(fileURLToPath(new URL('.', import.meta.url)), '..');

/** Where the font is looked for: a bundled copy first, then Debian's fonts-dejavu-core. */
export const FONT_CANDIDATES = [
  join(repoRoot, 'assets', 'fonts', 'DejaVuSans.ttf'),
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
];

export class RenderError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(fix ? `${message} (fix: ${fix})` : message);
    this.name = 'RenderError';
  }
}

export function fontFile(): string {
  const found = FONT_CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new RenderError(
      `no font to render PNG text with: looked for ${FONT_CANDIDATES.join(' and ')}`,
      'apt-get install fonts-dejavu-core (npm run setup does it)',
    );
  }
  return found;
}

let measuring: opentype.Font | undefined;

/**
 * Vega lays out text (legend columns, axis label room, titles) by its width. Without a canvas it
 * guesses 0.8 em per character, which leaves wide empty margins; measure with the font the PNG is
 * drawn with instead, so layouts are as tight as the text.
 */
function useFontMetrics(): void {
  if (measuring) return;
  const bytes = readFileSync(fontFile());
  measuring = opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const font = measuring;
  // Advance widths per character, without shaping (the report's text is plain Latin).
  const advance = new Map<string, number>();
  const emWidth = (line: string): number => {
    let w = 0;
    for (const ch of line) {
      let a = advance.get(ch);
      if (a === undefined) {
        a = font.charToGlyph(ch).advanceWidth ?? 0;
        advance.set(ch, a);
      }
      w += a;
    }
    return w;
  };
  // textMetrics is exported by vega at run time but missing from its type declarations.
  const metrics = (vega as unknown as { textMetrics: object }).textMetrics as {
    width: (item: { fontSize?: number }, text: unknown) => number;
  };
  metrics.width = (item, text) => {
    const size = item.fontSize ?? 11;
    const lines = Array.isArray(text) ? text.map(String) : [String(text ?? '')];
    return Math.max(0, ...lines.map((line) => (emWidth(line) * size) / font.unitsPerEm));
  };
}

/** The spec with the report's font and background set everywhere text is drawn. */
export function withReportConfig<T extends TopLevelSpec>(spec: T): T {
  const config = spec.config ?? {};
  return {
    ...spec,
    background: spec.background ?? 'white',
    config: {
      ...config,
      font: FONT_FAMILY,
      title: {
        font: FONT_FAMILY,
        fontSize: FONT_PX.title,
        // Regular weight everywhere: text is laid out with the regular face's widths (and the PNG has
        // only that face), so a bold title would overflow its room in a browser that has the bold one.
        fontWeight: 'normal',
        subtitleFont: FONT_FAMILY,
        subtitleFontSize: FONT_PX.subtitle,
        anchor: 'start',
        ...(config.title ?? {}),
      },
      axis: {
        labelFont: FONT_FAMILY,
        titleFont: FONT_FAMILY,
        labelFontSize: FONT_PX.label,
        titleFontSize: FONT_PX.axisTitle,
        titleFontWeight: 'normal',
        ...(config.axis ?? {}),
      },
      // Legends under the plot: beside it they would make the figure too wide for a column.
      legend: {
        labelFont: FONT_FAMILY,
        titleFont: FONT_FAMILY,
        labelFontSize: FONT_PX.label,
        titleFontSize: FONT_PX.axisTitle,
        titleFontWeight: 'normal',
        labelLimit: 400,
        orient: 'bottom',
        direction: 'horizontal',
        columns: 2,
        ...(config.legend ?? {}),
      },
      header: {
        labelFont: FONT_FAMILY,
        titleFont: FONT_FAMILY,
        labelFontSize: FONT_PX.label,
        titleFontSize: FONT_PX.axisTitle,
        titleFontWeight: 'normal',
        ...(config.header ?? {}),
      },
      text: { font: FONT_FAMILY, fontSize: FONT_PX.label, ...(config.text ?? {}) },
    },
  } as T;
}

export interface RenderedSvg {
  svg: string;
  /** Warnings vega-lite and vega raised while compiling and running the spec. */
  warnings: string[];
}

/** Compiles and runs a Vega-Lite spec headless and returns its SVG. */
export async function renderSvg(spec: TopLevelSpec): Promise<RenderedSvg> {
  const warnings: string[] = [];
  const logger = {
    level: () => logger,
    error: (...args: unknown[]) => {
      throw new RenderError(`vega-lite: ${args.map(String).join(' ')}`);
    },
    warn: (...args: unknown[]) => {
      warnings.push(args.map(String).join(' '));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  useFontMetrics();
  const vg = compile(withReportConfig(spec), { logger: logger as never }).spec;
  const view = new View(parse(vg), { renderer: 'none' });
  view.logLevel(Warn);
  view.logger({
    level: () => 0,
    error: (...args: unknown[]) => {
      throw new RenderError(`vega: ${args.map(String).join(' ')}`);
    },
    warn: (...args: unknown[]) => warnings.push(args.map(String).join(' ')),
    info: () => undefined,
    debug: () => undefined,
  } as never);
  try {
    const svg = await view.toSVG();
    return { svg, warnings };
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG at `scale` times its size with the report's font. */
export function renderPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: { fontFiles: [fontFile()], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY },
  });
  return resvg.render().asPng();
}
