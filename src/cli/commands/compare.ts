// `bench compare`: fails (exit 1) when the candidate runs are slower than the baseline runs beyond
// a factor and noise; refuses (exit 2) runs that are not comparable, folders that are missing or
// malformed, and a baseline that cannot be read (docs/ci.md). The judge is the pure compareRuns of
// src/metrics/compare.ts; the outputs are src/cli/compare-formats.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import {
  compareRuns,
  comparableRun,
  ENV_FIELD_NAMES,
  exitCodeOf,
  METRIC_MODES,
  resolveCompareOptions,
  type ComparableRun,
  type Comparison,
  type CompareOptions,
  type MetricMode,
} from '../../metrics/compare.js';
import { BaselineError, defaultBaselineDir, loadBaseline } from '../../store/baseline.js';
import { loadRuns, RunFolderError } from '../../store/read.js';
import { OUTPUT_FORMATS, renderComparison, type OutputFormat } from '../compare-formats.js';

export interface CompareArgs {
  runs: string[];
  baseline?: string[];
  candidate?: string[];
  'baseline-name'?: string;
  'baseline-dir'?: string;
  metric: string;
  format: string;
  json?: string;
  junit?: string;
  markdown?: string;
  'max-slowdown': number;
  alpha: number;
  'allow-env-diff': string[];
}

/** Entries of a list flag, each of which may itself be comma-separated. */
export function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => String(v).split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Where each side comes from, or why the arguments do not say. */
export type Sides =
  | { kind: 'error'; message: string }
  | { kind: 'folders'; baseline: string[]; candidate: string[] }
  | { kind: 'named'; name: string; candidate: string[] };

export function sidesOf(args: Pick<CompareArgs, 'runs' | 'baseline' | 'candidate' | 'baseline-name'>): Sides {
  const positional = splitList(args.runs);
  const baseline = splitList(args.baseline);
  const candidate = splitList(args.candidate);
  const flagged = args.baseline !== undefined || args.candidate !== undefined;
  if (args['baseline-name'] !== undefined) {
    if (args.baseline !== undefined)
      return { kind: 'error', message: 'give the baseline as --baseline-name or as --baseline, not both' };
    if (args.candidate !== undefined && positional.length > 0) {
      return {
        kind: 'error',
        message: `run folders given both after --candidate and as arguments (${positional.join(' ')}); use one`,
      };
    }
    const runs = args.candidate !== undefined ? candidate : positional;
    if (runs.length === 0)
      return {
        kind: 'error',
        message: 'say which runs to compare with the baseline: --candidate DIR... (or the folders as arguments)',
      };
    return { kind: 'named', name: args['baseline-name'], candidate: runs };
  }
  if (flagged) {
    if (positional.length > 0) {
      return {
        kind: 'error',
        message:
          `run folders given both as arguments (${positional.join(' ')}) and with --baseline/--candidate; ` +
          'put every folder after the flag of its side',
      };
    }
    if (baseline.length === 0)
      return { kind: 'error', message: '--candidate needs --baseline DIR... (or --baseline-name NAME)' };
    if (candidate.length === 0) return { kind: 'error', message: '--baseline needs --candidate DIR...' };
    return { kind: 'folders', baseline, candidate };
  }
  if (args.runs.length === 2)
    return { kind: 'folders', baseline: splitList([args.runs[0]]), candidate: splitList([args.runs[1]]) };
  return {
    kind: 'error',
    message:
      `say which runs are the baseline and which the candidate: --baseline DIR... --candidate DIR... ` +
      '(any number each; globs the shell expands are fine), ' +
      `or exactly two arguments; got ${args.runs.length} argument(s)`,
  };
}

/** A comparison that could not start (bad arguments, unreadable folders): every output still says why. */
export function refusal(problem: string, options: CompareOptions): Comparison {
  return {
    kind: 'mismatch',
    problems: [problem],
    options: resolveCompareOptions(options),
    environment: [],
    notes: [],
    runs: { baseline: 0, candidate: 0 },
  };
}

async function loadSide(patterns: readonly string[]): Promise<ComparableRun[]> {
  return (await loadRuns(patterns, { requireSummary: true })).map(comparableRun);
}

/** Loads both sides and compares them; problems loading become a refusal (exit 2). */
export async function compareFromArgs(args: CompareArgs): Promise<Comparison> {
  const options: CompareOptions = {
    maxSlowdown: args['max-slowdown'],
    alpha: args.alpha,
    metric: args.metric as MetricMode,
    allowEnvDiff: splitList(args['allow-env-diff']),
  };
  if (!(args['max-slowdown'] >= 1))
    return refusal(`--max-slowdown must be a number >= 1, got ${args['max-slowdown']}`, options);
  if (!(args.alpha > 0 && args.alpha < 1))
    return refusal(`--alpha must be between 0 and 1, got ${args.alpha}`, options);
  const sides = sidesOf(args);
  if (sides.kind === 'error') return refusal(sides.message, options);
  try {
    const baseline =
      sides.kind === 'named' ? loadBaseline(sides.name, args['baseline-dir']).runs : await loadSide(sides.baseline);
    const candidate = await loadSide(sides.candidate);
    return compareRuns(baseline, candidate, options);
  } catch (error) {
    if (error instanceof RunFolderError || error instanceof BaselineError)
      return refusal(`cannot compare: ${error.message}`, options);
    throw error;
  }
}

export function writeOutput(path: string, text: string): void {
  const file = resolve(path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

export const compareCommand: CommandModule<object, CompareArgs> = {
  command: 'compare [runs..]',
  describe: 'fail when candidate runs are slower than baseline runs (exit 1); refuse non-comparable runs (exit 2)',
  builder: (yargs: Argv<object>) =>
    yargs
      .positional('runs', {
        type: 'string',
        array: true,
        default: [],
        describe:
          'two arguments: the baseline then the candidate ' +
          '(each a run folder, a folder of runs, a quoted glob or a comma list)',
      })
      .option('baseline', {
        type: 'string',
        array: true,
        describe: 'baseline run folders, folders of runs or globs (any number)',
      })
      .option('candidate', {
        type: 'string',
        array: true,
        describe: 'candidate run folders, folders of runs or globs (any number)',
      })
      .option('baseline-name', {
        type: 'string',
        describe: 'a baseline kept by `bench baseline save` (a name, or a path to its .json)',
      })
      .option('baseline-dir', {
        type: 'string',
        describe: `where named baselines are (default ${defaultBaselineDir()}, or BENCH_BASELINES)`,
      })
      .option('metric', {
        type: 'string',
        choices: METRIC_MODES,
        default: 'seconds',
        describe: 'judge seconds, or ratios to the raw engine loop each run measured (survive a different machine)',
      })
      .option('format', {
        type: 'string',
        choices: OUTPUT_FORMATS,
        default: 'table',
        describe: 'what is printed on stdout',
      })
      .option('json', { type: 'string', describe: 'also write the JSON document to this file' })
      .option('junit', { type: 'string', describe: 'also write JUnit XML to this file' })
      .option('markdown', { type: 'string', describe: 'also write the Markdown pull-request comment to this file' })
      .option('max-slowdown', {
        type: 'number',
        default: 1.1,
        describe: 'candidate/baseline factor above which a metric is slower',
      })
      .option('alpha', {
        type: 'number',
        default: 0.05,
        describe: 'significance level of the noise test (>= 3 runs per side)',
      })
      .option('allow-env-diff', {
        type: 'string',
        array: true,
        default: [],
        describe: `environment fields allowed to differ: ${ENV_FIELD_NAMES.join(', ')}`,
      })
      .example(
        '$0 compare --baseline runs/base-* --candidate runs/cand-*',
        'globs the shell expands, any number per side',
      )
      .example(
        '$0 compare runs/base runs/head --format markdown',
        'two folders of runs; a pull-request comment on stdout',
      )
      .example(
        '$0 compare --baseline-name main --candidate runs/head --metric ratio-to-raw',
        'against a saved baseline',
      )
      .epilogue(
        'Exit codes: 0 no regression, 1 a regression, 2 not comparable (missing or incomplete runs, different kinds ' +
          'of run, or an environment difference such as cpuAffinity, torch or threads; --allow-env-diff names those ' +
          'to accept). With --metric ratio-to-raw, CPU model, cores and affinity may differ. See docs/ci.md.',
      ) as unknown as Argv<CompareArgs>,
  handler: async (args) => {
    const result = await compareFromArgs(args);
    const format = args.format as OutputFormat;
    const text = renderComparison(result, format);
    if (format === 'table' && result.kind === 'mismatch') console.error(`bench compare: ${text.trimEnd()}`);
    else console.log(text.trimEnd());
    for (const [path, fileFormat] of [
      [args.json, 'json'],
      [args.junit, 'junit'],
      [args.markdown, 'markdown'],
    ] as const) {
      if (path) writeOutput(path, renderComparison(result, fileFormat));
    }
    process.exitCode = exitCodeOf(result);
  },
};
