// The index.html of `bench reproduce`: one self-contained page over every study (docs/studies.md):
// what each reproduces, where its runs came from (reused, ran, failed), its notes, its tables, and
// its figures inline at the width of one paper column (3.33 in). No scripts, no external resources.
import { escapeHtml, htmlDocument, scopeSvgIds } from './html.js';
import { COLUMN_INCHES } from './style.js';

export interface StudySection {
  id: string;
  artifact: string;
  description: string;
  /** Folder of the study's files, relative to the index. */
  dir: string;
  /** Why the study did not run at all (it was refused before any run). */
  refused?: string;
  runs: { reused: number; ran: number; failed: number };
  notes: readonly string[];
  /** Markdown files, shown as text. */
  tables: readonly { name: string; content: string }[];
  figures: readonly { name: string; title: string; svg: string }[];
}

export interface ReproduceIndex {
  title: string;
  generatedAt: string;
  scale: string;
  repeats: number;
  studies: readonly StudySection[];
}

const STYLE = `
body { max-width: 1100px; }
pre { font-size: 0.75em; background: #f7f7f7; padding: 0.5em; overflow-x: auto; }
figure { display: inline-block; vertical-align: top; margin: 0.5em 1em 1em 0; }
figure svg { width: ${COLUMN_INCHES}in; max-width: 100%; height: auto; }
figcaption { font-size: 0.8em; color: #555; max-width: ${COLUMN_INCHES}in; }
.refused, .failed { color: #a33; } .notes { font-size: 0.85em; color: #555; }
`;
function runCount(s: StudySection): number {
  return s.runs.reused + s.runs.ran + s.runs.failed;
}

function section(s: StudySection, index: number): string {
  const files = `Files in <code>${escapeHtml(s.dir)}/</code> (with <code>study.json</code>, the run folder behind every request).`;
  const status = s.refused
    ? `<p class="refused">Not run: ${escapeHtml(s.refused)}</p>`
    : runCount(s) === 0
      ? `<p>No runs: computed, not measured. ${files}</p>`
      : `<p>Runs: ${s.runs.reused} reused, ${s.runs.ran} ran${s.runs.failed > 0 ? `, <span class="failed">${s.runs.failed} failed</span>` : ''}. ${files}</p>`;
  const notes =
    s.notes.length > 0 ? `<ul class="notes">${s.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  const tables = s.tables.map((t) => `<h3>${escapeHtml(t.name)}</h3><pre>${escapeHtml(t.content)}</pre>`).join('\n');
  const figures = s.figures
    .map(
      (f, i) =>
        `<figure id="${escapeHtml(`${s.id}-${f.name}`)}"><figcaption>${escapeHtml(f.title)} — <code>${escapeHtml(`${s.dir}/${f.name}`)}.svg</code>, ` +
        `<code>.png</code>, <code>.vl.json</code></figcaption>\n${scopeSvgIds(f.svg, `s${index}f${i}`)}\n</figure>`,
    )
    .join('\n');
  return `<h2 id="${escapeHtml(s.id)}">${escapeHtml(s.artifact)} <small>(${escapeHtml(s.id)})</small></h2>
<p>${escapeHtml(s.description)}</p>
${status}
${notes}
${tables}
${figures}`;
}

export function renderReproduceHtml(index: ReproduceIndex): string {
  const rows = index.studies
    .map(
      (s) =>
        `<tr><td><a href="#${escapeHtml(s.id)}">${escapeHtml(s.id)}</a></td><td>${escapeHtml(s.artifact)}</td>` +
        `<td>${s.refused ? '<span class="refused">refused</span>' : s.runs.failed > 0 ? '<span class="failed">partial</span>' : 'done'}</td>` +
        `<td>${runCount(s) === 0 ? 'none (computed)' : `${s.runs.reused + s.runs.ran}/${runCount(s)}`}</td><td>${s.figures.length}</td></tr>`,
    )
    .join('');
  return htmlDocument(
    index.title,
    STYLE,
    `<h1>${escapeHtml(index.title)}</h1>
<p>Generated ${escapeHtml(index.generatedAt)}; scale ${escapeHtml(index.scale)}, ${index.repeats} repeat${index.repeats === 1 ? '' : 's'} per grid cell.
Figures are shown at the width of one paper column (${COLUMN_INCHES} in).</p>
<table><thead><tr><th>study</th><th>reproduces</th><th>status</th><th>runs stored</th><th>figures</th></tr></thead><tbody>${rows}</tbody></table>
${index.studies.map(section).join('\n')}`,
  );
}
