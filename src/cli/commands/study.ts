// `bench study list` and `bench study run <id>` (docs/studies.md): the paper's evaluation as
// declarative studies whose runs are stored once and reused; `bench reproduce` runs them all.
import { join, relative, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import {
  type ExecuteOptions,
  executeStudy,
  writeStudy,
  type StudyResult,
  type WrittenStudy,
} from '../../../studies/execute.js';
import { getStudy, STUDIES } from '../../../studies/index.js';
import { planRuns, scanStoredRuns } from '../../../studies/plan.js';
import { StudyError, type Study, type StudyContext, type StudyObserver } from '../../../studies/types.js';
import { SCALES } from '../../core/workload.js';
import { defaultRunsDir } from '../../run/harness.js';
import { formatTable } from '../format.js';
import { Output, withOutputFlags, type OutputFlags } from '../output.js';
import { Progress, type JobProgress } from '../progress.js';
import { runShape } from '../tracker.js';
import { checkScale } from './run.js';

export interface StudyFlags extends OutputFlags {
  scale: string;
  repeats: number;
  'runs-dir'?: string;
  threads?: number;
  'sample-ms': number;
}

export function withStudyFlags<T>(yargs: Argv<T>): Argv<T & StudyFlags> {
  return withOutputFlags(yargs)
    .option('scale', { alias: 's', type: 'string', default: 'tiny', describe: `one of: ${SCALES.join(', ')}` })
    .option('repeats', { type: 'number', default: 1, describe: 'runs per grid cell (seeds 1..K)' })
    .option('runs-dir', {
      type: 'string',
      describe: 'where run folders are stored and looked up (default ./runs, or BENCH_RUNS)',
    })
    .option('threads', { type: 'number', describe: 'engine threads per worker (default cores / segments)' })
    .option('sample-ms', {
      type: 'number',
      default: 1000,
      describe: 'resource sampling interval; 0 turns sampling off',
    }) as unknown as Argv<T & StudyFlags>;
}

export function studyContext(args: StudyFlags): StudyContext {
  const repeats = args.repeats;
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be an integer >= 1, got ${repeats}`);
  return { scale: checkScale(args.scale), repeats };
}

/** The study's runs as the progress display counts them: a job of runs, stored ones skipped. */
export function progressObserver(job: JobProgress, output: Output): StudyObserver {
  return {
    runStarting: (request, workload, segments) =>
      job.startRun({
        label: `${request.approach} ${request.workload}/${request.scale} ${segments}seg seed ${request.seed}`,
        shape: runShape(workload, segments),
      }),
    runsReused: (count) => job.skip(count),
    note: (message) => output.warn(message),
  };
}

/** Runs one study (what is missing), then writes its artifacts into `outDir`. */
export async function runStudy(
  study: Study,
  ctx: StudyContext,
  args: StudyFlags,
  outDir: string,
  progress: Progress | JobProgress,
  output: Output,
  beforeRun?: ExecuteOptions['beforeRun'],
): Promise<{ result: StudyResult; written: WrittenStudy }> {
  const runsDir = resolve(args['runs-dir'] ?? defaultRunsDir());
  const total = planRuns(study.runs(ctx), []).requests.length;
  const job = progress.startJob({ label: `study ${study.id}`, total });
  let result: StudyResult;
  try {
    result = await executeStudy(study, ctx, {
      runsDir,
      observer: progressObserver(job, output),
      threads: args.threads,
      sampleIntervalMs: args['sample-ms'],
      beforeRun,
    });
  } finally {
    job.finish();
  }
  // Rendering is not one of the job's runs; it takes seconds.
  const written = await writeStudy(result, outDir);
  return { result, written };
}

export function studySummary(result: StudyResult, written: WrittenStudy): string {
  const count = (o: string): number => result.answered.filter((a) => a.origin === o).length;
  const files = `${written.files.length} files in ${relative(process.cwd(), written.dir) || '.'}`;
  if (result.answered.length === 0) return `study ${result.study.id}: no runs (computed), ${files}`;
  return (
    `study ${result.study.id}: ${result.answered.length} runs ` +
    `(${count('reused')} reused, ${count('ran')} ran, ${count('failed')} failed), ` +
    files
  );
}

const listCommand: CommandModule<object, StudyFlags> = {
  command: 'list',
  describe: 'every study: the paper artifact it reproduces, its runs at --scale and how many are stored',
  builder: (yargs) => withStudyFlags(yargs) as unknown as Argv<StudyFlags>,
  handler: (args) => {
    const output = Output.fromFlags(args);
    const ctx = studyContext(args);
    const stored = scanStoredRuns(resolve(args['runs-dir'] ?? defaultRunsDir()));
    const rows = STUDIES.map((study) => {
      const plan = planRuns(study.runs(ctx), stored);
      const problems = study.check?.(ctx) ?? [];
      return {
        id: study.id,
        artifact: study.artifact,
        runs: plan.requests.length,
        stored: plan.reuse.size,
        description: study.description,
        blocked: problems.map((p) => p.message),
      };
    });
    output.result(
      formatTable(
        ['study', 'reproduces', 'runs', 'stored', 'what'],
        rows.map((r) => [
          r.id,
          r.artifact,
          r.runs,
          r.stored,
          r.blocked.length > 0 ? `${r.description} [cannot run: ${r.blocked.join('; ')}]` : r.description,
        ]),
      ),
    );
    output.final(
      `${rows.length} studies at scale ${ctx.scale}, ${ctx.repeats} repeat(s); ` +
        `runs are looked up in ${args['runs-dir'] ?? defaultRunsDir()}`,
    );
    output.json({ type: 'result', command: 'study list', scale: ctx.scale, repeats: ctx.repeats, studies: rows });
  },
};

interface RunStudyArgs extends StudyFlags {
  id: string;
  out?: string;
}

const runStudyCommand: CommandModule<object, RunStudyArgs> = {
  command: 'run <id>',
  describe: 'run what a study is missing (stored runs are reused, so an interrupted study resumes), then render it',
  builder: (yargs) =>
    withStudyFlags(yargs)
      .positional('id', {
        type: 'string',
        demandOption: true,
        describe: `one of: ${STUDIES.map((s) => s.id).join(', ')}`,
      })
      .option('out', {
        type: 'string',
        describe: "folder for the study's tables and figures (default study-<id>)",
      }) as unknown as Argv<RunStudyArgs>,
  handler: async (args) => {
    const output = Output.fromFlags(args);
    const progress = new Progress(output);
    const study = getStudy(args.id);
    let done: Awaited<ReturnType<typeof runStudy>>;
    try {
      done = await runStudy(
        study,
        studyContext(args),
        args,
        args.out ?? join('.', `study-${study.id}`),
        progress,
        output,
      );
    } catch (error) {
      if (error instanceof StudyError) {
        progress.close();
        output.error(`bench study run: ${error.message}`);
        process.exitCode = 2;
        return;
      }
      throw error;
    } finally {
      progress.close();
    }
    const { result, written } = done;
    for (const w of written.warnings) output.warn(w);
    for (const n of result.artifacts.notes) output.warn(n);
    output.final(studySummary(result, written));
    output.json({
      type: 'result',
      command: 'study run',
      study: study.id,
      dir: written.dir,
      files: written.files,
      runs: result.answered.map((a) => ({ origin: a.origin, dir: a.run?.dir ?? null, failure: a.failure ?? null })),
      notes: result.artifacts.notes,
    });
    if (result.answered.some((a) => a.origin === 'failed')) process.exitCode = 1;
  },
};

export const STUDY_COMMANDS = [listCommand, runStudyCommand];

export const studyCommand: CommandModule = {
  command: 'study <command>',
  describe: "the paper's evaluation as studies: list | run <id>",
  builder: (yargs: Argv) =>
    STUDY_COMMANDS.reduce((y: Argv, command) => y.command(command as unknown as CommandModule), yargs).demandCommand(
      1,
      'say which: list or run <id>',
    ),
  handler: () => undefined,
};
