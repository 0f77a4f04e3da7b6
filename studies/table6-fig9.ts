// Table 6 and Figure 9 (paper section 5.1): every approach end to end on both datasets.
import { approachIds } from '../approaches/index.js';
import type { LoadedRun } from '../src/core/records.js';
import { figure9 } from '../reports/figure9.js';
import { ganttBars, ganttFigure } from '../reports/gantt.js';
import { table6, table6Csv, table6Markdown } from '../reports/table6.js';
import { grid, SEGMENTS_AT_SCALE, type Answered, type Study, type StudyContext } from './types.js';

export const END_TO_END_WORKLOADS = ['imagenet', 'criteo'] as const;

/** The end-to-end grid: all approaches x both datasets on the scale's cluster size. */
export function endToEndRuns(
  ctx: StudyContext,
  workloads: readonly string[] = END_TO_END_WORKLOADS,
  approaches = approachIds(),
) {
  const segments = SEGMENTS_AT_SCALE[ctx.scale];
  return grid(
    ctx,
    workloads.flatMap((workload) => approaches.map((approach) => ({ approach, workload, segments }))),
  );
}

export function storedRuns(answered: readonly Answered[]): LoadedRun[] {
  const seen = new Set<string>();
  return answered.flatMap((a) => (a.run && !seen.has(a.run.dir) && seen.add(a.run.dir) ? [a.run] : []));
}

export const table6Fig9: Study = {
  id: 'table6-fig9',
  artifact: 'Table 6 and Figure 9 (section 5.1)',
  description:
    'every approach end to end on ImageNet and Criteo: runtimes, utilisation, convergence, breakdown, Gantt charts',
  runs: (ctx) => endToEndRuns(ctx),
  render(answered) {
    const runs = storedRuns(answered);
    const t6 = table6(runs);
    // One Gantt chart per approach and workload (the first repeat), as the paper's Figures 13/14.
    const gantts = runs.filter((r) => r.info.seed === 1 && ganttBars(r).length > 0).map(ganttFigure);
    return {
      files: [
        { name: 'table6.md', content: table6Markdown(t6) },
        { name: 'table6.csv', content: table6Csv(t6) },
      ],
      figures: [...figure9(runs), ...gantts],
      notes: [],
    };
  },
};
