// `bench run`: one approach on one workload, stored as a run folder.
import type { Argv, CommandModule } from 'yargs';
import { APPROACHES, approachIds } from '../../../approaches/index.js';
import { resolveRunSpec } from '../../../approaches/resolve.js';
import { describeOptions } from '../../core/options.js';
import { BREAKDOWN_CATEGORIES } from '../../core/events.js';
import { runApproach, type RunResult } from '../../run/harness.js';
import { SCALES, type ScaleName } from '../../core/workload.js';
import { WORKLOADS } from '../../../workloads/index.js';
import { resolveTopology } from '../../db/resolve.js';
import { bytes, formatTable, seconds } from '../format.js';
import { progressPrinter } from '../progress.js';

export interface RunArgs {
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
    lines.push(`  ${workload.id}:`, ...entries.map(([key, spec]) => `    ${key}=<value> (default ${spec.default}): ${spec.description}`));
  }
  return lines.join('\n');
}

export function checkScale(scale: string): ScaleName {
  if (!(SCALES as readonly string[]).includes(scale)) throw new Error(`unknown scale "${scale}"; valid scales: ${SCALES.join(', ')}`);
  return scale as ScaleName;
}

export function printRunSummary(result: RunResult): void {
  const s = result.summary;
  const last = new Map<number, { validLoss: number; validAccuracy: number; epoch: number }>();
  for (const m of s.metrics) if ((last.get(m.config)?.epoch ?? -1) < m.epoch) last.set(m.config, m);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const breakdown = s.breakdown.length
    ? BREAKDOWN_CATEGORIES.map((k) => `${k} ${mean(s.breakdown.map((b) => b[k])).toFixed(2)} s`).join(', ')
    : 'none';
  console.log(
    [
      `run folder: ${result.runDir}`,
      `status: ${s.status}; ETL ${seconds(s.etlSeconds)}; execution ${seconds(s.executionSeconds)}; mean epoch ${seconds(mean(s.epochSeconds))}`,
      `per-epoch breakdown (machine time per segment): ${breakdown}`,
      s.storage === null
        ? 'storage: unknown'
        : `storage (training data): in the database ${bytes(s.storage.data.storedBytes)} as stored, ` +
          `${bytes(s.storage.data.logicalBytes)} logical; copies ${bytes(s.storage.copies.storedBytes)}; ` +
          `blowup ${s.storage.blowupLogical.toFixed(2)}x logical, ${s.storage.blowupStored.toFixed(2)}x as stored`,
      `final validation loss, mean over ${last.size} configs: ${mean([...last.values()].map((m) => m.validLoss)).toFixed(4)}; best accuracy ${(Math.max(...[...last.values()].map((m) => m.validAccuracy)) * 100).toFixed(1)}%`,
    ].join('\n'),
  );
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'run one approach on one workload and store the run folder',
  builder: (yargs: Argv<object>) =>
    yargs
      .option('approach', { alias: 'a', type: 'string', demandOption: true, describe: `one of: ${approachIds().join(', ')}` })
      .option('workload', { alias: 'w', type: 'string', demandOption: true, describe: `one of: ${Object.keys(WORKLOADS).join(', ')}` })
      .option('scale', { alias: 's', type: 'string', default: 'tiny', describe: `one of: ${SCALES.join(', ')}` })
      .option('segments', { type: 'number', describe: 'segments of the embedded cluster (default 4, or what exists)' })
      .option('db', { type: 'string', describe: 'postgresql:// URL of an existing coordinator (else PG* variables, else the embedded cluster)' })
      .option('seed', { type: 'number', default: 1 })
      .option('option', { alias: 'o', type: 'string', array: true, default: [], describe: 'an approach or workload option, key=value (listed below)' })
      .option('resume', { type: 'string', describe: 'continue an interrupted run folder' })
      .option('runs-dir', { type: 'string', describe: 'where run folders go (default ./runs, or BENCH_RUNS)' })
      .option('threads', { type: 'number', describe: 'engine threads per worker (default cores / segments)' })
      .option('sample-ms', { type: 'number', default: 1000, describe: 'resource sampling interval; 0 turns sampling off' })
      .option('repeat', {
        type: 'number',
        default: 1,
        describe: 'run it K times, one run folder each (reports show mean, 95% CI and n)',
      })
      .epilogue(declaredOptionsText()) as unknown as Argv<RunArgs>,
  handler: async (args) => {
    const scale = checkScale(args.scale);
    const repeat = args.repeat;
    if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat expects a whole number >= 1, got ${repeat}`);
    if (repeat > 1 && args.resume) {
      throw new Error('--repeat continues nothing: --resume takes one interrupted run folder, so leave --repeat out');
    }
    const resolved = resolveRunSpec({ approach: args.approach, workload: args.workload, scale, seed: args.seed, options: parseOptions(args.option) });
    const { approach, workload } = resolved;
    const topology = await resolveTopology({ db: args.db, segments: args.segments });
    const runDirs: string[] = [];
    const totalUnits = workload.configs.length * topology.segments.length * workload.epochs;
    for (let round = 1; round <= repeat; round++) {
      const label = `${approach.id} ${workload.id}/${scale}${repeat > 1 ? ` (run ${round}/${repeat})` : ''}`;
      const result = await runApproach({
        approach,
        workload,
        options: resolved.approachOptions,
        workloadOptions: resolved.workloadOptions,
        topology,
        resume: args.resume,
        runsDir: args['runs-dir'],
        threads: args.threads,
        sampleIntervalMs: args['sample-ms'],
        onEvent: progressPrinter({ label, totalUnits, epochs: workload.epochs }),
      });
      printRunSummary(result);
      runDirs.push(result.runDir);
    }
    if (repeat > 1) {
      console.log(`${repeat} runs of the same inputs:\n${runDirs.map((d) => `  ${d}`).join('\n')}`);
      console.log(`Report them together: npx bench report ${runDirs.join(' ')}`);
    }
  },
};

export { formatTable };
