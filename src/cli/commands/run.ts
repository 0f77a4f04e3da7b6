// `bench run`: one approach on one workload, stored as a run folder.
import type { Argv, CommandModule } from 'yargs';
import { APPROACHES, approachIds } from '../../../approaches/index.js';
import { resolveRunSpec } from '../../../approaches/resolve.js';
import { describeOptions, parseOptionValues } from '../../core/options.js';
import { checkClusterRebuild } from '../../run/cluster-guard.js';
import { defaultRunsDir, runApproach, type RunResult } from '../../run/harness.js';
import { RunInterrupted, describeSignal, watchInterrupts } from '../../run/interrupt.js';
import { checkResumeRequest } from '../../run/resume.js';
import { SCALES, type ScaleName } from '../../core/workload.js';
import { WORKLOADS } from '../../../workloads/index.js';
import { resolveTopology } from '../../db/resolve.js';
import { RunFolder } from '../../store/run-folder.js';
import type { RunEvent } from '../../core/events.js';
import { formatTable } from '../format.js';
import { Output, withOutputFlags, type OutputFlags } from '../output.js';
import { Progress } from '../progress.js';
import { runShape } from '../tracker.js';
import { displayPath, finalLine, runSummaryLines, type SummaryContext } from '../summary.js';

export interface RunArgs extends OutputFlags {
  approach: string;
  workload: string;
  scale: string;
  segments?: number;
  db?: string;
  seed: number;
  option: string[];
  resume?: string;
  'runs-dir'?: string;
  threads?: number;
  'sample-ms': number;
  'rebuild-cluster': boolean;
  repeat: number;
}

/** `key=value` pairs as given on the command line; their types come from the declarations they are routed to. */
export function parseOptions(pairs: string[]): Record<string, string> {
  const options: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--option expects key=value, got "${pair}"`);
    options[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return options;
}

/** Every approach's and workload's declared options, for `--help` and `bench list`. */
export function declaredOptionsText(): string {
  const lines = ['Approach options (--option key=value):'];
  for (const approach of Object.values(APPROACHES)) {
    lines.push(`  ${approach.id}:`, ...describeOptions(approach.options, '    '));
  }
  lines.push('Workload options (--option key=value):');
  for (const workload of Object.values(WORKLOADS)) {
    const entries = Object.entries(workload.options);
    if (entries.length === 0) continue;
    lines.push(
      `  ${workload.id}:`,
      ...entries.map(([key, spec]) => `    ${key}=<value> (default ${spec.default}): ${spec.description}`),
    );
  }
  return lines.join('\n');
}

export function checkScale(scale: string): ScaleName {
  if (!(SCALES as readonly string[]).includes(scale))
    throw new Error(`unknown scale "${scale}"; valid scales: ${SCALES.join(', ')}`);
  return scale as ScaleName;
}

/** The end-of-run block on stdout (its last line only under --quiet; nothing under --json). */
export function printRunSummary(output: Output, result: RunResult, context: Omit<SummaryContext, 'runDir'>): void {
  const ctx = { ...context, runDir: result.runDir };
  output.result(runSummaryLines(result.summary, ctx, output.colors).join('\n'));
  output.final(finalLine(result.summary, ctx));
}

/** The events an interrupted run folder already holds (a resumed run's display counts them as done). */
function priorEvents(resume: string | undefined): RunEvent[] | undefined {
  if (resume === undefined) return undefined;
  try {
    return RunFolder.open(resume).readEvents();
  } catch {
    return undefined; // the harness says what is wrong with the folder
  }
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'run one approach on one workload and store the run folder',
  builder: (yargs: Argv<object>) =>
    withOutputFlags(yargs)
      .option('approach', {
        alias: 'a',
        type: 'string',
        demandOption: true,
        describe: `one of: ${approachIds().join(', ')}`,
      })
      .option('workload', {
        alias: 'w',
        type: 'string',
        demandOption: true,
        describe: `one of: ${Object.keys(WORKLOADS).join(', ')}`,
      })
      .option('scale', { alias: 's', type: 'string', default: 'tiny', describe: `one of: ${SCALES.join(', ')}` })
      .option('segments', { type: 'number', describe: 'segments of the embedded cluster (default 4, or what exists)' })
      .option('db', {
        type: 'string',
        describe: 'postgresql:// URL of an existing coordinator (else PG* variables, else the embedded cluster)',
      })
      .option('seed', { type: 'number', default: 1 })
      .option('option', {
        alias: 'o',
        type: 'string',
        array: true,
        default: [],
        describe: 'an approach or workload option, key=value (listed below)',
      })
      .option('resume', { type: 'string', describe: 'continue an interrupted run folder' })
      .option('runs-dir', { type: 'string', describe: 'where run folders go (default ./runs, or BENCH_RUNS)' })
      .option('threads', { type: 'number', describe: 'engine threads per worker (default cores / segments)' })
      .option('sample-ms', {
        type: 'number',
        default: 1000,
        describe: 'resource sampling interval; 0 turns sampling off',
      })
      .option('rebuild-cluster', {
        type: 'boolean',
        default: false,
        describe:
          'let --segments rebuild the embedded cluster even though interrupted runs on it could then not be resumed',
      })
      .option('repeat', {
        type: 'number',
        default: 1,
        describe: 'run it K times, one run folder each (reports show mean, 95% CI and n)',
      })
      .epilogue(declaredOptionsText()) as unknown as Argv<RunArgs>,
  handler: async (args) => {
    // Until the harness takes over signals: a first one stops before the run starts, a second exits.
    const early = new AbortController();
    const unwatch = watchInterrupts({
      stop: (signal) => {
        process.stderr.write(`\nbench: ${describeSignal(signal)}: stopping before the run starts\n`);
        early.abort(new RunInterrupted(signal));
      },
      force: (signal) => process.exit(new RunInterrupted(signal).exitCode),
    });
    const output = Output.fromFlags(args);
    const progress = new Progress(output);
    const results: RunResult[] = [];
    let context: Omit<SummaryContext, 'runDir'>;
    const repeat = args.repeat;
    try {
      const scale = checkScale(args.scale);
      if (!Number.isInteger(repeat) || repeat < 1) {
        throw new Error(`--repeat expects a whole number >= 1, got ${repeat}`);
      }
      if (repeat > 1 && args.resume) {
        throw new Error('--repeat continues nothing: --resume takes one interrupted run folder, so leave --repeat out');
      }
      const resolved = resolveRunSpec({
        approach: args.approach,
        workload: args.workload,
        scale,
        seed: args.seed,
        options: parseOptions(args.option),
      });
      const { approach, workload } = resolved;
      const runsDir = args['runs-dir'] ?? defaultRunsDir();
      // A resume is checked against its run.json before the cluster is even looked at.
      const resumed = args.resume
        ? checkResumeRequest(args.resume, {
            approach: approach.id,
            workload,
            options: parseOptionValues(`approach ${approach.id}`, approach.options, resolved.approachOptions),
            workloadOptions: resolved.workloadOptions,
            segments: args.segments,
          }).info
        : undefined;
      const segments = resumed?.segments ?? args.segments;
      const rebuild = await checkClusterRebuild({
        db: args.db,
        segments,
        resume: resumed,
        runsDir,
        rebuild: args['rebuild-cluster'],
      });
      if (rebuild) output.warn(rebuild);
      const topology = await resolveTopology({ db: args.db, segments });
      const label = `${approach.id} ${workload.id}/${scale}`;
      const shape = runShape(workload, topology.segments.length);
      context = { label, segments: shape.segments, epochs: shape.epochs };
      const job = repeat > 1 ? progress.startJob({ label: `${label}, ${repeat} runs`, total: repeat }) : progress;
      unwatch();
      for (let round = 1; round <= repeat; round++) {
        const roundLabel = repeat > 1 ? `${label} (run ${round}/${repeat})` : label;
        const display = job.startRun({ label: roundLabel, shape, prior: priorEvents(args.resume) });
        results.push(
          await runApproach({
            approach,
            workload,
            options: resolved.approachOptions,
            workloadOptions: resolved.workloadOptions,
            topology,
            resume: args.resume,
            runsDir,
            threads: args.threads,
            sampleIntervalMs: args['sample-ms'],
            signal: early.signal,
            onEvent: display.onEvent,
          }),
        );
        display.finish();
      }
    } finally {
      unwatch();
      progress.close();
    }
    for (const result of results) printRunSummary(output, result, context);
    if (repeat > 1) {
      const runDirs = results.map((r) => displayPath(r.runDir));
      output.result(`${repeat} runs of the same inputs:\n${runDirs.map((d) => `  ${d}`).join('\n')}`);
      output.final(`report them together: npx bench report ${runDirs.join(' ')}`);
    }
  },
};

export { formatTable };
