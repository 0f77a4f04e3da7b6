// Figure 15 (paper appendix C): the model-size test. UDAF and CTQ on the `modelsize` workload, one
// run per model size (option size=small|medium|large, so that each run's breakdown is one size's),
// on the scale's cluster size: per-epoch Train+Valid and Model Transmission machine time per worker
// against the model's recorded size.
import { FIGURE15_SIZES, figure15, figure15Markdown, modelSizePoints } from '../reports/figure15.js';
import { formatBytes } from '../reports/common.js';
import { storedRuns } from './table6-fig9.js';
import { grid, SEGMENTS_AT_SCALE, type Study } from './types.js';

export const MODELSIZE_APPROACHES = ['udaf', 'ctq'];

export const fig15: Study = {
  id: 'fig15',
  artifact: 'Figure 15 (appendix C)',
  description:
    'model size: per-epoch Train+Valid and Model Transmission machine time of UDAF and CTQ on modelsize, ' +
    'one run per size',
  runs: (ctx) =>
    grid(
      ctx,
      FIGURE15_SIZES.flatMap((size) =>
        MODELSIZE_APPROACHES.map((approach) => ({
          approach,
          workload: 'modelsize',
          segments: SEGMENTS_AT_SCALE[ctx.scale],
          options: { size },
        })),
      ),
    ),
  render(answered, ctx) {
    const runs = storedRuns(answered);
    const notes: string[] = [];
    for (const a of answered) {
      const complete = a.run?.summary.status === 'complete';
      if (!complete) {
        notes.push(
          `${a.request.approach}, size=${a.request.options.size}, seed ${a.request.seed}: no complete run` +
            `${a.failure ? ` (${a.failure})` : ''}; missing from the figure and table`,
        );
      }
    }
    const points = modelSizePoints(runs);
    // A zero with models moved is not "no cost": the time went to another component (said, not hidden).
    for (const p of points.filter((x) => x.modelTransmission === 0 && (x.modelBytes ?? 0) > 0)) {
      notes.push(
        `${p.approach}, size=${p.size}, seed ${p.seed}: Model Transmission is 0 s although each unit read and wrote ` +
          `its ${formatBytes(p.modelBytes ?? 0)} model (model-hop spans with bytes): where those spans lie under a ` +
          "statement's 'data' envelope (src/metrics/attribution.ts), the envelope wins the overlap (KIND_PRIORITY) " +
          'and their time counts as Data Transmission',
      );
    }
    if (points.some((p) => p.modelBytes === null)) {
      notes.push('some runs record no model bytes (no model-hop span carries them): their model MB is n/a');
    }
    const segments = SEGMENTS_AT_SCALE[ctx.scale];
    const repeats = `${ctx.repeats} repeat${ctx.repeats === 1 ? '' : 's'}`;
    const caption = `modelsize, ${ctx.scale} scale, ${segments} segments, ${repeats}`;
    return {
      files: [
        { name: 'figure15.md', content: figure15Markdown(points, caption, notes) },
        { name: 'figure15.json', content: `${JSON.stringify(points, null, 2)}\n` },
      ],
      figures: figure15(points, caption),
      notes,
    };
  },
};
