// Figure 11A (paper section 5.2.2): UDAF (sync) and CTQ (async) on the `hetero` workload for
// several shares p of fast configs, measured against the simulator and Proposition 1.
import {
  figure11,
  figure11Markdown,
  heteroP,
  heteroPoint,
  type HeteroPair,
  type HeteroPoint,
} from '../reports/figure11.js';
import type { LoadedRun } from '../src/core/records.js';
import { storedRuns } from './table6-fig9.js';
import { grid, SEGMENTS_AT_SCALE, type Study, type StudyContext } from './types.js';

/** p values per scale: two at tiny (CI), three otherwise. */
export function heteroPs(ctx: StudyContext): number[] {
  return ctx.scale === 'tiny' ? [0.5, 0.9] : [0.5, 0.8, 0.95];
}

/** The measured, simulated and Proposition 1 speedups of every (p, seed) with a complete udaf and ctq run. */
export function fig11Points(
  stored: readonly LoadedRun[],
  ctx: StudyContext,
): { points: HeteroPoint[]; notes: string[] } {
  const runs = stored.filter((r) => r.summary.status === 'complete');
  const pairs: HeteroPair[] = [];
  const notes: string[] = [];
  for (const p of heteroPs(ctx)) {
    for (let seed = 1; seed <= ctx.repeats; seed++) {
      const find = (approach: string) =>
        runs.find((r) => r.info.approach === approach && heteroP(r) === p && r.info.seed === seed);
      const udaf = find('udaf');
      const ctq = find('ctq');
      if (udaf && ctq) pairs.push({ p, seed, udaf, ctq });
      else notes.push(`p=${p}, seed ${seed}: no complete ${udaf ? 'ctq' : 'udaf'} run, no speedup`);
    }
  }
  return { points: pairs.map(heteroPoint), notes };
}

export const fig11: Study = {
  id: 'fig11',
  artifact: 'Figure 11A (section 5.2.2)',
  description: 'heterogeneous configs: measured CTQ/UDAF speedup for several p against the simulator and Proposition 1',
  runs: (ctx) =>
    grid(
      ctx,
      heteroPs(ctx).flatMap((p) =>
        ['udaf', 'ctq'].map((approach) => ({
          approach,
          workload: 'hetero',
          segments: SEGMENTS_AT_SCALE[ctx.scale],
          options: { p: String(p) },
        })),
      ),
    ),
  render(answered, ctx) {
    const { points, notes } = fig11Points(storedRuns(answered), ctx);
    const segments = SEGMENTS_AT_SCALE[ctx.scale];
    const repeats = `${ctx.repeats} repeat${ctx.repeats === 1 ? '' : 's'}`;
    const caption = `hetero, ${ctx.scale} scale, ${segments} segments, ${repeats}`;
    return {
      files: [
        { name: 'figure11.md', content: figure11Markdown(points, caption) },
        { name: 'figure11.json', content: `${JSON.stringify(points, null, 2)}\n` },
      ],
      figures: points.length > 0 ? [figure11(points, caption)] : [],
      notes,
    };
  },
};
