// One look for every figure and table (docs/studies.md, "Paper-ready figures"): each approach has
// one fixed colour and the paper's name wherever it appears, breakdown components and Gantt span
// kinds have palettes of their own, and figures are sized so that no text is under 7 pt when the
// figure is printed at the width of one column of a two-column paper (3.33 in).

export interface ApproachStyle {
  /** The name the paper gives the approach (Tables 2, 6, 7; Figures 9-12). */
  name: string;
  colour: string;
}

/** Keyed by approach id (approaches/index.ts). */
export const APPROACH_STYLES: Readonly<Record<string, ApproachStyle>> = {
  ma: { name: 'MADlib MA', colour: '#9d755d' },
  udaf: { name: 'UDAF', colour: '#f58518' },
  ctq: { name: 'CTQ', colour: '#4c78a8' },
  da: { name: 'DA-Cerebro', colour: '#54a24b' },
  export: { name: 'Cerebro-Spark', colour: '#e45756' },
  ddp: { name: 'PytorchDDP', colour: '#b279a2' },
  'da-ddp': { name: 'DA-PytorchDDP', colour: '#72b7b2' },
  'task-parallel': { name: 'Hyperopt-Spark', colour: '#eeca3b' },
};

/** For approaches the table above does not know (a new module): grey, named by its id. */
const UNKNOWN_COLOUR = '#7f7f7f';

export function approachName(id: string): string {
  return Object.hasOwn(APPROACH_STYLES, id) ? APPROACH_STYLES[id].name : id;
}

export function approachColour(id: string): string {
  return Object.hasOwn(APPROACH_STYLES, id) ? APPROACH_STYLES[id].colour : UNKNOWN_COLOUR;
}

/** A Vega-Lite colour scale for figure labels of approaches (labels may carry "(incomplete)"). */
export function approachColourScale(entries: readonly { id: string; label: string }[]): {
  domain: string[];
  range: string[];
} {
  const seen = new Map<string, string>();
  for (const e of entries) if (!seen.has(e.label)) seen.set(e.label, approachColour(e.id));
  return { domain: [...seen.keys()], range: [...seen.values()] };
}

/** Breakdown components (Figure 9B/C, 10B-D): a palette distinct from the approaches'. */
export const COMPONENT_COLOURS = ['#1b9e77', '#d95f02', '#7570b3', '#bdbdbd'];

/** Series of model-based curves (simulation, Propositions): black and greys, never an approach colour. */
export const SERIES_COLOURS = ['#000000', '#636363', '#969696', '#bdbdbd'];

/** Width of one column of a two-column paper, and of the whole text block. */
export const COLUMN_INCHES = 3.33;
export const PAGE_INCHES = 7;
export const MIN_FONT_PT = 7;

/** Plot widths (px) that keep the report's 10-11 px text at >= 7 pt on a 3.33 in column. */
export const PLOT_WIDTH = 200;
export const PLOT_HEIGHT = 150;
/** Panel size of a faceted figure: two panels side by side fit a column. */
export const PANEL_WIDTH = 110;
export const PANEL_HEIGHT = 100;

/** Text sizes (px) every figure uses. */
export const FONT_PX = { title: 11, subtitle: 10, label: 10, axisTitle: 10 } as const;

/** Font sizes in an SVG (px), from `font-size` attributes and style properties. */
export function svgFontSizes(svg: string): number[] {
  const sizes: number[] = [];
  for (const m of svg.matchAll(/font-size(?:="|:\s*)([0-9.]+)(?:px)?/g)) sizes.push(Number(m[1]));
  return sizes;
}

/** The SVG's width in px (its width attribute). */
export function svgWidth(svg: string): number {
  const m = /<svg[^>]*\swidth="([0-9.]+)"/.exec(svg);
  if (!m) throw new Error('the SVG has no width attribute');
  return Number(m[1]);
}

/**
 * The smallest text of the SVG in points when the figure is printed `inches` wide: a px of the
 * SVG is then (inches x 72 / width) pt.
 */
export function minFontPoints(svg: string, inches = COLUMN_INCHES): number {
  const sizes = svgFontSizes(svg);
  if (sizes.length === 0) return Infinity;
  return (Math.min(...sizes) * inches * 72) / svgWidth(svg);
}
