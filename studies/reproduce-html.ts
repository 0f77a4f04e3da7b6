// The index.html of `bench reproduce`: one self-contained page over every study (docs/studies.md):
// what each reproduces, where its runs came from (reused, ran, failed), its notes, its tables, and
// its figures inline at the width of one paper column (3.33 in). No scripts, no external resources.
import type { ClaimResult } from './claims.js';
import { type Environment, type Headline, LOADED_THRESHOLD_PCT, REFERENCE_APPROACH } from './headline.js';
import { escapeHtml, htmlDocument, scopeSvgIds } from '../reports/html.js';
import { approachName, COLUMN_INCHES } from '../reports/style.js';

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
  headline: Headline;
  claims: readonly ClaimResult[];
  /** estimates.md: each run of this invocation beside the estimate made before it ran. */
  estimates: string;
}

const STYLE = `
body { max-width: 1100px; }
pre { font-size: 0.75em; background: #f7f7f7; padding: 0.5em; overflow-x: auto; }
figure { display: inline-block; vertical-align: top; margin: 0.5em 1em 1em 0; }
figure svg { width: ${COLUMN_INCHES}in; max-width: 100%; height: auto; }
figcaption { font-size: 0.8em; color: #555; max-width: ${COLUMN_INCHES}in; }
.refused, .failed, .v-no { color: #a33; } .v-holds { color: #2a7a2a; } .v-na { color: #777; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } .notes { font-size: 0.85em; color: #555; }
/* Tables of sentences wrap inside the page instead of scrolling. */
table.prose { display: table; width: 100%; } table.prose td { white-space: normal; vertical-align: top; }
ul.numbers { margin: 0.3em 0 0; padding-left: 1.2em; font-size: 0.85em; color: #444; }
`;
function runCount(s: StudySection): number {
  return s.runs.reused + s.runs.ran + s.runs.failed;
}

function section(s: StudySection, index: number): string {
  const files =
    `Files in <code>${escapeHtml(s.dir)}/</code> (with <code>study.json</code>, ` +
    'the run folder behind every request).';
  const failed = s.runs.failed > 0 ? `, <span class="failed">${s.runs.failed} failed</span>` : '';
  const status = s.refused
    ? `<p class="refused">Not run: ${escapeHtml(s.refused)}</p>`
    : runCount(s) === 0
      ? `<p>No runs: computed, not measured. ${files}</p>`
      : `<p>Runs: ${s.runs.reused} reused, ${s.runs.ran} ran${failed}. ${files}</p>`;
  const notes =
    s.notes.length > 0 ? `<ul class="notes">${s.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  const tables = s.tables.map((t) => `<h3>${escapeHtml(t.name)}</h3><pre>${escapeHtml(t.content)}</pre>`).join('\n');
  const figures = s.figures
    .map(
      (f, i) =>
        `<figure id="${escapeHtml(`${s.id}-${f.name}`)}"><figcaption>${escapeHtml(f.title)} — ` +
        `<code>${escapeHtml(`${s.dir}/${f.name}`)}.svg</code>, <code>.png</code>, <code>.vl.json</code>` +
        `</figcaption>\n${scopeSvgIds(f.svg, `s${index}f${i}`)}\n</figure>`,
    )
    .join('\n');
  return `<h2 id="${escapeHtml(s.id)}">${escapeHtml(s.artifact)} <small>(${escapeHtml(s.id)})</small></h2>
<p>${escapeHtml(s.description)}</p>
${status}
${notes}
${tables}
${figures}`;
}

const fixed = (v: number | null, digits = 2, suffix = ''): string =>
  v === null ? 'n/a' : `${v.toFixed(digits)}${suffix}`;

function loadNote(e: Environment): string {
  return e.otherLoadPct === null
    ? 'not sampled'
    : escapeHtml(
        `other processes used up to ${e.otherLoadPct.toFixed(0)}% of the machine during a run ` +
          `(${e.loaded ? 'loaded: timings are upper bounds' : 'quiet'}; threshold ${LOADED_THRESHOLD_PCT}%)`,
      );
}

function headlineSection(h: Headline): string {
  const ref = escapeHtml(approachName(REFERENCE_APPROACH));
  const head =
    '<tr><th>rank</th><th>approach</th><th>execution s</th><th>ETL + execution s</th>' +
    `<th>x ${ref}</th><th>paper: x ${ref}</th><th>paper rank</th></tr>`;
  const workloads = h.workloads
    .map((w) => {
      const rows = w.byExecution
        .map(
          (r, i) =>
            `<tr><td class="num">${i + 1}</td><td>${escapeHtml(approachName(r.approach))}</td>` +
            `<td class="num">${r.executionSeconds.toFixed(1)}</td>` +
            `<td class="num">${r.etlPlusExecutionSeconds.toFixed(1)}</td>` +
            `<td class="num">${fixed(r.xReference, 2, 'x')}</td>` +
            `<td class="num">${fixed(r.publishedXReference, 2, 'x')}</td>` +
            `<td class="num">${r.publishedRank ?? '—'}</td></tr>`,
        )
        .join('');
      const departures =
        w.departures.length === 0
          ? "<p>The execution ranking agrees with the paper's Table 6.</p>"
          : "<p>Departs from the paper's Table 6:</p>" +
            `<ul>${w.departures.map((d) => `<li>${escapeHtml(d)}</li>`).join('')}</ul>`;
      return `<h3>${escapeHtml(`${w.workload}, ${w.scale} scale, ${w.segments} segments`)}</h3>
<table><thead>${head}</thead><tbody>${rows}</tbody></table>
<p>By ETL + execution: ${escapeHtml(w.byEtlPlusExecution.map(approachName).join(' < '))}.</p>
${departures}`;
    })
    .join('\n');
  const e = h.environment;
  const environment = e
    ? `<h3>Environment</h3><ul>
<li>${escapeHtml(e.machine)}; ${e.cores} cores, ${e.memoryGiB} GiB, GPU: ${escapeHtml(e.gpu)}</li>
<li>${escapeHtml(e.versions)}</li>
<li>data: ${escapeHtml(e.datasets.join('; '))}</li>
<li>configs per run: ${escapeHtml(e.configs)}; epochs: ${escapeHtml(e.epochs)}; repeats: ${e.repeats}</li>
<li>load: ${loadNote(e)}</li></ul>`
    : '';
  const body =
    h.workloads.length === 0 ? '<p>No complete end-to-end run (table6-fig9): nothing to rank.</p>' : workloads;
  return (
    `<h2 id="headline">Headline</h2>
<p>Execution time ranks the approaches fastest first; absolute times are this machine's, ` +
    `so the paper is compared through ratios to ${ref}.</p>
${body}
${environment}`
  );
}

const CLAIMS_HEAD =
  '<tr><th>verdict</th><th>claim (and the test)</th><th>source</th><th>why, and the numbers</th></tr>';

const claimNumber = (n: ClaimResult['numbers'][number]): string =>
  `${n.label}: ${n.measured ?? 'n/a'}${n.published !== undefined ? ` (paper ${n.published ?? 'n/a'})` : ''}`;

const VERDICT_CLASS: Record<ClaimResult['verdict'], string> = {
  holds: 'v-holds',
  'does not hold': 'v-no',
  'not measurable': 'v-na',
};

function claimsSection(claims: readonly ClaimResult[]): string {
  const rows = claims
    .map(
      (c) =>
        `<tr><td class="${VERDICT_CLASS[c.verdict]}"><strong>${escapeHtml(c.verdict)}</strong></td>` +
        `<td>${escapeHtml(c.claim)}<br><small>${escapeHtml(c.test)}</small></td>` +
        `<td>${escapeHtml(`${c.source.artifact} (${c.source.section})`)}</td>` +
        `<td>${escapeHtml(c.why)}${
          c.numbers.length > 0
            ? `<ul class="numbers">${c.numbers.map((n) => `<li>${escapeHtml(claimNumber(n))}</li>`).join('')}</ul>`
            : ''
        }</td></tr>`,
    )
    .join('');
  return (
    `<h2 id="claims">Claims</h2>
<p>Each qualitative claim of the paper, with the verdict computed from the runs below ` +
    `(claims.md has the numbers as tables).</p>
<table class="prose"><thead>${CLAIMS_HEAD}</thead><tbody>${rows}</tbody></table>`
  );
}

const STUDIES_HEAD = '<tr><th>study</th><th>reproduces</th><th>status</th><th>runs stored</th><th>figures</th></tr>';

const studyStatus = (s: StudySection): string =>
  s.refused
    ? '<span class="refused">refused</span>'
    : s.runs.failed > 0
      ? '<span class="failed">partial</span>'
      : 'done';

export function renderReproduceHtml(index: ReproduceIndex): string {
  const repeats = `${index.repeats} repeat${index.repeats === 1 ? '' : 's'}`;
  const rows = index.studies
    .map(
      (s) =>
        `<tr><td><a href="#${escapeHtml(s.id)}">${escapeHtml(s.id)}</a></td><td>${escapeHtml(s.artifact)}</td>` +
        `<td>${studyStatus(s)}</td>` +
        `<td>${runCount(s) === 0 ? 'none (computed)' : `${s.runs.reused + s.runs.ran}/${runCount(s)}`}</td>` +
        `<td>${s.figures.length}</td></tr>`,
    )
    .join('');
  return htmlDocument(
    index.title,
    STYLE,
    `<h1>${escapeHtml(index.title)}</h1>
<p>Generated ${escapeHtml(index.generatedAt)}; scale ${escapeHtml(index.scale)}, ${repeats} per grid cell.
Figures are shown at the width of one paper column (${COLUMN_INCHES} in).</p>
${headlineSection(index.headline)}
${claimsSection(index.claims)}
<h2 id="estimates">Estimates beside measured</h2>
<pre>${escapeHtml(index.estimates)}</pre>
<h2 id="studies">Studies</h2>
<table><thead>${STUDIES_HEAD}</thead><tbody>${rows}</tbody></table>
${index.studies.map(section).join('\n')}`,
  );
}
