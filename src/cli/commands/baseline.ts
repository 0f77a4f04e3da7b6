// `bench baseline save NAME RUNS...`, `bench baseline list`, `bench baseline show NAME`: baselines
// a CI job keeps in its cache or commits (src/store/baseline.ts, docs/ci.md "Baselines"), read
// back by `bench compare --baseline-name NAME`.
import type { Argv, CommandModule } from 'yargs';
import { comparableRun, ratiosOf } from '../../metrics/compare.js';
import { mean } from '../../metrics/stats.js';
import {
  BaselineError,
  defaultBaselineDir,
  listBaselines,
  loadBaseline,
  saveBaseline,
  type Baseline,
} from '../../store/baseline.js';
import { loadRuns, RunFolderError } from '../../store/read.js';
import { formatTable } from '../format.js';
import { splitList } from './compare.js';

export interface BaselineArgs {
  action: string;
  name?: string;
  runs: string[];
  dir?: string;
}

const ACTIONS = ['save', 'list', 'show'] as const;

/** Per kind of run: runs, mean execution seconds, mean execution ratio to the raw loop. */
export function describeBaseline(baseline: Baseline): string {
  const groups = new Map<string, Baseline['runs']>();
  for (const r of baseline.runs) {
    const key = `${r.approach} ${r.workload}/${r.scale}, ${r.segments} segments`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows = [...groups].map(([key, runs]) => {
    const calibrated = runs.filter((r) => r.rawExamplesPerSecond !== null && r.examplesTrained > 0);
    return [
      key,
      runs.length,
      mean(runs.map((r) => r.executionSeconds)).toFixed(3),
      calibrated.length > 0 ? mean(calibrated.map((r) => ratiosOf(r).executionRatio)).toFixed(2) : '-',
    ];
  });
  const env = baseline.runs[0]?.environment;
  return [
    `baseline ${baseline.name}, ${baseline.runs.length} run(s), saved ${baseline.createdAt}` +
      (env
        ? ` on ${env.cpuModel} (${env.cpuCores} cores, affinity ${env.cpuAffinity ?? 'not recorded'}), ` +
          `git ${env.gitSha.slice(0, 12)}`
        : ''),
    formatTable(['runs', 'n', 'execution s (mean)', 'execution / raw loop (mean)'], rows),
  ].join('\n');
}

export const baselineCommand: CommandModule<object, BaselineArgs> = {
  command: 'baseline <action> [name] [runs..]',
  describe: 'keep runs as a named baseline (save), list the baselines, or show one',
  builder: (yargs: Argv<object>) =>
    yargs
      .positional('action', { type: 'string', choices: ACTIONS, describe: 'save NAME RUNS... | list | show NAME' })
      .positional('name', { type: 'string', describe: 'the baseline name (or a path to a .json file)' })
      .positional('runs', {
        type: 'string',
        array: true,
        default: [],
        describe: 'run folders, folders of runs or globs (save)',
      })
      .option('dir', {
        type: 'string',
        describe: `where baselines are kept (default ${defaultBaselineDir()}, or BENCH_BASELINES)`,
      })
      .example('$0 baseline save main runs/base-*', 'keep the runs of the main branch as "main"')
      .example('$0 compare --baseline-name main --candidate runs/head', 'compare later runs with it')
      .epilogue(
        "A baseline is one small JSON file (each run's times, raw-loop calibration and environment fingerprint). " +
          'Cache the folder in CI, or pass --dir to keep it in the repository. See docs/ci.md.',
      ) as unknown as Argv<BaselineArgs>,
  handler: async (args) => {
    const fail = (message: string): void => {
      console.error(`bench baseline: ${message}`);
      process.exitCode = 2;
    };
    try {
      if (args.action === 'list') {
        const dir = args.dir ?? defaultBaselineDir();
        const names = listBaselines(dir);
        console.log(names.length > 0 ? names.join('\n') : `no baselines in ${dir}`);
        return;
      }
      if (!args.name) return fail(`${args.action} needs a NAME`);
      if (args.action === 'show') {
        console.log(describeBaseline(loadBaseline(args.name, args.dir)));
        return;
      }
      const patterns = splitList(args.runs);
      if (patterns.length === 0) return fail('save needs the runs to keep: bench baseline save NAME RUNS...');
      const runs = (await loadRuns(patterns, { requireSummary: true })).map(comparableRun);
      const path = saveBaseline(args.name, runs, { dir: args.dir });
      const uncalibrated = runs.filter((r) => r.rawExamplesPerSecond === null).length;
      console.log(`saved ${runs.length} run(s) as baseline ${args.name}: ${path}`);
      if (uncalibrated > 0)
        console.log(
          `note: ${uncalibrated} run(s) have no raw-loop calibration; --metric ratio-to-raw will refuse them`,
        );
      console.log(describeBaseline(loadBaseline(path)));
    } catch (error) {
      if (error instanceof RunFolderError || error instanceof BaselineError) return fail(error.message);
      throw error;
    }
  },
};
