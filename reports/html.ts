// The report's index.html: one self-contained page (figures inline as SVG, tables as HTML, no
// scripts, no external resources; a Content-Security-Policy forbids any network access).
import type { LoadedRun } from '../src/core/records.js';
import { formatDuration } from './common.js';
import { BREAKDOWN_TABLE_HEAD, breakdownCells, type BreakdownSection } from './figure9.js';
import { formatRow, processGroupTable, TABLE6_COLUMNS, type Table6 } from './table6.js';

export interface HtmlFigure {
  name: string;
  title: string;
  svg: string;
}

export interface HtmlReport {
  title: string;
  generatedAt: string;
  runs: readonly LoadedRun[];
  table6: Table6;
  breakdown: readonly BreakdownSection[];
  figures: readonly HtmlFigure[];
  warnings: readonly string[];
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Makes an SVG's ids unique within the page (vega numbers its clip paths from 1 in every
 * document; two figures inline on one page would otherwise share "clip1").
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/^<\?xml[^>]*>\s*/, '')
    .replace(/\sid="([^"]+)"/g, (_, id: string) => ` id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${prefix}-${id}"`);
}

function runsTable(runs: readonly LoadedRun[]): string {
  const head = [
    'run',
    'approach',
    'workload',
    'scale',
    'segments',
    'status',
    'started',
    'finished',
    'execution',
    'git',
  ];
  const rows = runs.map((r) => {
    const s = r.summary;
    const status =
      s.status === 'complete'
        ? 'complete'
        : `<strong class="incomplete">incomplete</strong>${r.summarySource === 'derived' ? ' (no summary.json)' : ''}`;
    const env = r.info.environment;
    return (
      `<tr><td>${escapeHtml(r.info.runId)}</td><td>${escapeHtml(r.info.approach)}</td>` +
      `<td>${escapeHtml(r.info.workload)}</td><td>${escapeHtml(r.info.scale)}</td><td>${r.info.segments}</td>` +
      `<td>${status}</td><td>${escapeHtml(r.info.startedAt)}</td><td>${escapeHtml(s.finishedAt ?? '-')}</td>` +
      `<td>${escapeHtml(formatDuration(s.executionSeconds))}</td>` +
      `<td>${escapeHtml(env.gitSha.slice(0, 10))}${env.gitDirty ? ' (dirty)' : ''}</td></tr>`
    );
  });
  return (
    `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

interface HtmlRow {
  /** The first cell is the row's header. */
  cells: readonly string[];
  incomplete?: boolean;
}

/** A table of numbers: a header row, then rows whose first cell names them. */
function numericTable(head: readonly string[], rows: readonly HtmlRow[]): string {
  const headHtml = head.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const rowHtml = (row: HtmlRow): string => {
    const [name, ...values] = row.cells;
    const cells = `<th scope="row">${escapeHtml(name)}</th>${values.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}`;
    return `<tr${row.incomplete ? ' class="incomplete"' : ''}>${cells}</tr>`;
  };
  const body = rows.map(rowHtml).join('');
  return `<table class="numeric"><thead><tr>${headHtml}</tr></thead><tbody>${body}</tbody></table>`;
}

function table6Html(t: Table6): string {
  if (t.sections.length === 0) return '<p>No runs.</p>';
  const parts = t.sections.map((s) => {
    const rows = s.rows.map((r) => ({ cells: formatRow(r), incomplete: r.status !== 'complete' }));
    const main = numericTable(TABLE6_COLUMNS, rows);
    const groups = processGroupTable(s);
    const groupsHtml =
      groups === null
        ? ''
        : '<p class="notes">The run\'s processes during execution, per group: CPU (percent of the machine) / ' +
          'memory.</p>' +
          numericTable(
            groups.head,
            groups.rows.map((cells) => ({ cells })),
          );
    return `<h3>${escapeHtml(s.title)}</h3>${main}${groupsHtml}`;
  });
  return parts.join('\n') + `<ul class="notes">${t.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`;
}

function breakdownHtml(sections: readonly BreakdownSection[]): string {
  if (sections.length === 0) return '<p>No runs.</p>';
  return sections
    .map((s) => {
      const rows = s.rows.map((r) => ({ cells: [r.label, ...breakdownCells(r)], incomplete: r.status !== 'complete' }));
      return `<h3>${escapeHtml(s.title)}</h3>${numericTable(BREAKDOWN_TABLE_HEAD, rows)}`;
    })
    .join('\n');
}

/** What every page bench writes shares: fonts, headings, tables that scroll when wide, narrow screens. */
export const BASE_STYLE =
  `
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; } ` +
  `h3 { font-size: 1.05em; }
/* Wide tables (Table 6 has 17 columns) scroll inside the page instead of running off it. */
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.85em; display: block; ` +
  `overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; white-space: nowrap; }
@media (max-width: 480px) { body { margin: 0.5em; } }
`;

const STYLE = `
table.numeric td { text-align: right; }
tr.incomplete, .incomplete { color: #a33; }
figure { margin: 1em 0 2em; } figcaption { font-size: 0.9em; color: #555; margin-bottom: 0.4em; }
figure svg { max-width: 100%; height: auto; }
.notes { font-size: 0.8em; color: #555; } .warnings { color: #a33; font-size: 0.85em; overflow-wrap: anywhere; }
`;

/** A self-contained page: no script, no request (the CSP allows inline styles and data: images only). */
export function htmlDocument(title: string, style: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${BASE_STYLE}${style}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

export function renderHtml(report: HtmlReport): string {
  const figures = report.figures
    .map(
      (f, i) =>
        `<figure id="${escapeHtml(f.name)}"><figcaption>${escapeHtml(f.title)} — ` +
        `<code>${escapeHtml(f.name)}.svg</code>, <code>.png</code>, ` +
        `<code>.vl.json</code></figcaption>\n${scopeSvgIds(f.svg, `f${i}`)}\n</figure>`,
    )
    .join('\n');
  const incomplete = report.runs.filter((r) => r.summary.status !== 'complete').length;
  const runCount = `${report.runs.length} run${report.runs.length === 1 ? '' : 's'}`;
  const incompleteNote = incomplete > 0 ? `, <strong class="incomplete">${incomplete} incomplete</strong>` : '';
  const warnings =
    report.warnings.length > 0
      ? `<ul class="warnings">${report.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>`
      : '';
  return htmlDocument(
    report.title,
    STYLE,
    `<h1>${escapeHtml(report.title)}</h1>
<p>Generated ${escapeHtml(report.generatedAt)} from ${runCount}${incompleteNote}.</p>
${warnings}
<h2>Runs</h2>
${runsTable(report.runs)}
<h2>Table 6: runtimes and resource utilisation</h2>
${table6Html(report.table6)}
<h2>Per-epoch breakdown (Figures 9B and 9C as numbers)</h2>
<p class="notes">Machine seconds per worker per epoch, mean over n runs ± 95% CI half-width;
unattributed: time no span covers.</p>
${breakdownHtml(report.breakdown)}
<h2>Figures</h2>
${figures || '<p>No figures.</p>'}`,
  );
}
