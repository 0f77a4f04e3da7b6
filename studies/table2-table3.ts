// Tables 2 and 3 (paper sections 3 and 4): the approaches' design per layer, from each approach's
// own declaration in the registry beside the paper's Table 2, and the conceptual comparison of
// Table 3 beside what the runs measure of it here: storage blowup and execution time (Criteo, the
// scale's cluster, one run each; the same runs as table6-fig9's first repeat, so they are shared).
import { APPROACHES } from '../approaches/index.js';
import { approachName } from '../reports/style.js';
import { compareApproaches, mean } from '../reports/common.js';
import { endToEndRuns, storedRuns } from './table6-fig9.js';
import type { Study } from './types.js';
import { PAPER_TABLE2, PAPER_TABLE3 } from './paper/published.js';

export { PAPER_TABLE2, PAPER_TABLE3 };

const cell = (text: string): string => text.replace(/\|/g, '\\|');

export function table2Markdown(): string {
  const lines = [
    '# Table 2: design of each approach per layer',
    '',
    "The paper's Table 2 (IN: in-DBMS, OUT: out-of-DBMS) where it has the approach, " +
      "then each approach's own declaration " +
      '(approaches/<id>.ts, `layers`).',
    '',
    '| approach | paper: interface | scheduling | execution | data access | storage | declared scheduling ' +
      '| declared execution | declared data access | declared: where models live |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const approach of Object.values(APPROACHES).sort((a, b) => compareApproaches(a.id, b.id))) {
    const p = PAPER_TABLE2[approach.id];
    const paper = p
      ? [p.interface, p.scheduling, p.execution, p.dataAccess, p.storage]
      : ['not in Table 2', '', '', '', ''];
    const l = approach.layers;
    const row = [approachName(approach.id), ...paper, l.scheduling, l.execution, l.dataAccess, l.modelsLive];
    lines.push(`| ${row.map(cell).join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

export const table2Table3: Study = {
  id: 'table2-table3',
  artifact: 'Tables 2 and 3 (sections 3, 4)',
  description:
    "design per layer from the approach registry; Table 3's storage blowup and efficiency measured (Criteo, " +
    'one run each)',
  runs: (ctx) => endToEndRuns({ ...ctx, repeats: 1 }, ['criteo']),
  render(answered) {
    const runs = storedRuns(answered).filter((r) => r.summary.status === 'complete');
    const times = new Map(Object.keys(APPROACHES).map((id) => [id, runs.filter((r) => r.info.approach === id)]));
    const fastest = Math.min(...[...times.values()].flatMap((rs) => rs.map((r) => r.summary.executionSeconds)));
    const lines = [
      '# Table 3: conceptual comparison, with what is measured here',
      '',
      "The paper's columns, then the measured storage blowup ((training data + copies the approach made) / training " +
        'data, logical bytes) and execution time relative to the fastest approach (Criteo, one run each).',
      '',
      '| approach | paper: efficiency | governance | storage blowup | implementation difficulty | portability ' +
        '| design anti-patterns | measured blowup | measured execution (x fastest) |',
      '|---|---|---|---|---|---|---|---|---|',
    ];
    const notes: string[] = [];
    for (const id of Object.keys(APPROACHES).sort(compareApproaches)) {
      const p = PAPER_TABLE3[id];
      const paper = p
        ? [p.efficiency, p.governance, p.blowup, p.difficulty, p.portability, p.antiPatterns]
        : ['not in Table 3', '', '', '', '', ''];
      const rs = times.get(id) ?? [];
      // The paper's definition (docs/measurement.md): (data + copies) / data in logical (uncompressed) bytes.
      const blowups = rs.flatMap((r) => (r.summary.storage ? [r.summary.storage.blowupLogical] : []));
      const blowup = blowups.length > 0 ? `${mean(blowups).toFixed(2)}x` : rs.length > 0 ? 'unknown' : 'no run';
      const exec =
        rs.length > 0 ? `${(mean(rs.map((r) => r.summary.executionSeconds)) / fastest).toFixed(2)}x` : 'no run';
      if (rs.length === 0) notes.push(`${approachName(id)}: no complete Criteo run, nothing measured`);
      lines.push(`| ${[approachName(id), ...paper, blowup, exec].map(cell).join(' | ')} |`);
    }
    return {
      files: [
        { name: 'table2.md', content: table2Markdown() },
        { name: 'table3.md', content: `${lines.join('\n')}\n` },
      ],
      figures: [],
      notes,
    };
  },
};
