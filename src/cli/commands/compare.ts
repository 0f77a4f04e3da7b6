// `bench compare <baseline> <candidate> [--max-slowdown 1.10]`: fails (exit 1) when the candidate
// runs are slower than the baseline runs beyond a factor and noise; refuses (exit 2) to compare
// runs that are not comparable or folders that are missing or malformed. The logic is the pure
// compareRuns of src/metrics/compare.ts.
import type { Argv, CommandModule } from 'yargs';
import { compareRuns, exitCodeOf, METRICS, type Comparison } from '../../metrics/compare.js';
import type { LoadedRun } from '../../core/records.js';
import { loadRuns, RunFolderError } from '../../store/read.js';
import { formatTable } from '../format.js';

export interface CompareArgs {
  baseline: string;
  candidate: string;
  'max-slowdown': number;
  alpha: number;
}

/** One side: comma-separated run folders, folders of runs or (quoted) globs. */
export function sidePatterns(side: string): string[] {
  return side
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function formatSeconds(x: number): string {
  return `${x.toFixed(3)} s`;
}

export function formatComparison(result: Comparison): string {
  if (result.kind === 'mismatch') {
    return ['not comparable:', ...result.problems.map((p) => `  - ${p}`)].join('\n');
  }
  const rows = result.rows.map((r) => [
    r.group,
    METRICS[r.metric].label,
    `${formatSeconds(r.baselineMean)} (n=${r.baseline.length})`,
    `${formatSeconds(r.candidateMean)} (n=${r.candidate.length})`,
    Number.isFinite(r.factor) ? `${r.factor.toFixed(3)}x` : 'inf',
    r.p === null ? 'factor only' : `welch p=${r.p.toFixed(4)}`,
    r.regression ? 'REGRESSION' : 'ok',
  ]);
  const lines = [formatTable(['runs', 'metric', 'baseline', 'candidate', 'factor', 'test', 'verdict'], rows)];
  lines.push('');
  lines.push(
    `rule: a metric regresses when candidate/baseline > ${result.options.maxSlowdown}` +
      ` and, with >= ${result.options.minRunsForTest} runs on each side, Welch's one-sided t-test gives p < ${result.options.alpha}`,
  );
  for (const note of result.notes) lines.push(`note: ${note}`);
  lines.push(result.regression ? 'verdict: REGRESSION' : 'verdict: no regression');
  return lines.join('\n');
}

export const compareCommand: CommandModule<object, CompareArgs> = {
  command: 'compare <baseline> <candidate>',
  describe: 'fail when candidate runs are slower than baseline runs (exit 1); refuse non-comparable runs (exit 2)',
  builder: (yargs: Argv<object>) =>
    yargs
      .positional('baseline', { type: 'string', demandOption: true, describe: 'run folder(s): comma-separated folders, a folder of runs, or a quoted glob' })
      .positional('candidate', { type: 'string', demandOption: true, describe: 'run folder(s), as for baseline' })
      .option('max-slowdown', { type: 'number', default: 1.1, describe: 'candidate/baseline factor above which a metric is slower' })
      .option('alpha', { type: 'number', default: 0.05, describe: 'significance level of the noise test (>= 3 runs per side)' }) as unknown as Argv<CompareArgs>,
  handler: async (args) => {
    if (!(args['max-slowdown'] >= 1)) {
      console.error(`bench compare: --max-slowdown must be a number >= 1, got ${args['max-slowdown']}`);
      process.exitCode = 2;
      return;
    }
    let baseline: LoadedRun[];
    let candidate: LoadedRun[];
    try {
      baseline = await loadRuns(sidePatterns(args.baseline), { requireSummary: true });
      candidate = await loadRuns(sidePatterns(args.candidate), { requireSummary: true });
    } catch (error) {
      if (error instanceof RunFolderError) {
        console.error(`bench compare: cannot compare: ${error.message}`);
        process.exitCode = 2;
        return;
      }
      throw error;
    }
    const result = compareRuns(baseline, candidate, { maxSlowdown: args['max-slowdown'], alpha: args.alpha });
    const text = formatComparison(result);
    if (result.kind === 'mismatch') console.error(`bench compare: ${text}`);
    else console.log(text);
    process.exitCode = exitCodeOf(result);
  },
};
