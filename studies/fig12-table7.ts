// Figure 12 and Table 7 (paper section 5.2.4): model selection driven by a searcher (the
// `hyperopt` workload: TPE over ResNet18/34 x learning rate x batch size) on each approach, rendered
// by reports/search.ts. An approach must drive the search itself (`searches: true` in its module);
// the study refuses to start when one does not, rather than train an empty config list.
import { getApproach } from '../approaches/index.js';
import { isSearchRun, searchFigures, searchMarkdown } from '../reports/search.js';
import { approachName } from '../reports/style.js';
import { storedRuns } from './table6-fig9.js';
import { grid, SEGMENTS_AT_SCALE, type Study } from './types.js';

/** The paper's Figure 12: Hyperopt-Spark (task parallel) against the MOP approaches. */
export const SEARCH_APPROACHES = ['task-parallel', 'udaf', 'ctq', 'da', 'export'];

export const fig12Table7: Study = {
  id: 'fig12-table7',
  artifact: 'Figure 12 and Table 7 (section 5.2.4)',
  description: 'model selection with a TPE searcher on each approach: learning curves, best errors, resource use',
  runs: (ctx) =>
    grid(
      ctx,
      SEARCH_APPROACHES.map((approach) => ({ approach, workload: 'hyperopt', segments: SEGMENTS_AT_SCALE[ctx.scale] })),
    ),
  check() {
    const unable = SEARCH_APPROACHES.filter((id) => getApproach(id).searches !== true);
    if (unable.length === 0) return [];
    return [
      {
        message:
          `approach${unable.length === 1 ? '' : 'es'} ${unable.join(', ')} cannot run a search yet ` +
          `(no \`searches: true\` in ` +
          'approaches/<id>.ts), so the hyperopt workload would train no configs',
        fix: 'wire the searcher into the approach (approaches/shared/search.ts, docs/search.md), then rerun this study',
      },
    ];
  },
  render(answered) {
    const runs = storedRuns(answered);
    const notes = runs
      .filter((r) => !isSearchRun(r))
      .map(
        (r) =>
          `${approachName(r.info.approach)} (${r.info.runId}) ran without a search: left out of Figure 12 and Table 7`,
      );
    const searches = runs.filter(isSearchRun);
    const markdown = searchMarkdown(searches);
    return {
      files: markdown ? [{ name: 'table7.md', content: markdown }] : [],
      figures: searchFigures(searches),
      notes,
    };
  },
};
