// Figure 10 (paper section 5.2.1): strong scaling of the MOP approaches on 1, 2, 4 and 8 segments,
// the `scalability` workload (8 homogeneous configs, one epoch). UDAF is the reference: every
// approach's time is also given relative to UDAF's on as many segments.
import { figure10, figure10Markdown } from '../reports/figure10.js';
import { groupCaption, groupRuns } from '../reports/common.js';
import { storedRuns } from './table6-fig9.js';
import { grid, type Study } from './types.js';

export const SCALING_SEGMENTS = [1, 2, 4, 8];
export const SCALING_APPROACHES = ['udaf', 'ctq', 'da', 'export'];

export const fig10: Study = {
  id: 'fig10',
  artifact: 'Figure 10 (section 5.2.1)',
  description: 'strong scaling on 1/2/4/8 segments: speedup and per-component machine time, UDAF as the reference',
  runs: (ctx) =>
    grid(
      ctx,
      SCALING_SEGMENTS.flatMap((segments) =>
        SCALING_APPROACHES.map((approach) => ({ approach, workload: 'scalability', segments })),
      ),
    ),
  render(answered, ctx) {
    const runs = storedRuns(answered);
    const group = groupRuns(runs)[0];
    const caption = group
      ? groupCaption({ ...group, title: '' }).replace(/, \d+ segments?/, '')
      : `scalability, ${ctx.scale} scale`;
    const notes: string[] = [];
    const missingBaseline = SCALING_APPROACHES.filter(
      (a) => !runs.some((r) => r.info.approach === a && r.info.segments === 1 && r.summary.status === 'complete'),
    );
    if (missingBaseline.length > 0) {
      notes.push(`no 1-segment run of ${missingBaseline.join(', ')}: no speedup or relative machine time for them`);
    }
    return {
      files: [{ name: 'figure10.md', content: figure10Markdown(runs, caption) }],
      figures: figure10(runs, caption),
      notes,
    };
  },
};
