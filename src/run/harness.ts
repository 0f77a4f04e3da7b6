// The harness (docs/architecture.md, "A run"): runs one resolved approach on one resolved workload,
// times its phases (ETL, engine start-up, execution), writes the run folder as things happen,
// samples resources, and marks a run that did not finish incomplete. It receives resolved objects;
// the registries are looked up at the edges (the CLI, studies). Everything that can refuse a run
// (options, the runs directory, the approach's check, a resume's request and state) is checked
// before anything is changed (docs/resume.md).
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { searchRefusal, type Approach, type Prepared, type Problem, type RunContext } from '../core/approach.js';
import { EpochBook } from '../core/epoch-book.js';
import type { Phase, RunEvent, TrainEvent } from '../core/events.js';
import { parseOptionValues, type OptionValue } from '../core/options.js';
import { repoRoot } from '../core/paths.js';
import { redact } from '../core/secrets.js';
import { FORMAT_VERSION, type Summary } from '../core/records.js';
import type { Topology } from '../core/topology.js';
import type { ResolvedWorkload } from '../core/workload.js';
import { namedPostmasterPids } from '../db/processes.js';
import { startSampler, type ProcessGroupRoots } from '../metrics/sampler.js';
import { summarize } from '../metrics/summarize.js';
import { captureEnvironment, type EngineLocation } from '../store/environment.js';
import { RunFolder, RunFolderWriteError, newRunId, prepareWritableFolder } from '../store/run-folder.js';
import { ensureRawData } from '../../workloads/data/load.js';
import { RunInterrupted, describeSignal, watchInterrupts, type StopSignal } from './interrupt.js';
import { calibrateRawLoop, calibrationSeconds } from './calibrate.js';
import { lockCluster } from './lock.js';
import { checkResumeRequest } from './resume.js';
import { restoreSearchConfigs } from './search-resume.js';
import { errorMessage } from '../core/errors.js';

export interface RunRequest {
  approach: Approach;
  workload: ResolvedWorkload;
  /** The workload's declared options as resolved (recorded in run.json). */
  workloadOptions?: Readonly<Record<string, OptionValue>>;
  /** The approach's options as given; parsed against its declarations here (unknown keys refused). */
  options?: Readonly<Record<string, OptionValue>>;
  topology: Topology;
  /** Engine threads per worker; default: cores / segments, at least 1. */
  threads?: number;
  runsDir?: string;
  /** Resume this interrupted run folder instead of starting a new one. */
  resume?: string;
  /** Sampling interval in ms; 0 turns the sampler off. */
  sampleIntervalMs?: number;
  /** Progress listener (the CLI prints from it). */
  onEvent?: (event: RunEvent) => void;
  signal?: AbortSignal;
  /**
   * Whether SIGINT, SIGTERM and SIGHUP stop the run (default true): the first asks it to stop and
   * finish its bookkeeping, a second one a second later exits the process at once.
   */
  handleSignals?: boolean;
}

export interface RunResult {
  runDir: string;
  summary: Summary;
}

/** How long a stopped run waits for the phase it was in to notice before cleaning up around it. */
const PHASE_GRACE_MS = 5000;

export function defaultRunsDir(): string {
  return process.env.BENCH_RUNS ? resolve(process.env.BENCH_RUNS) : join(repoRoot(), 'runs');
}

export function defaultThreads(segments: number): number {
  const cores = Number(process.env.BENCH_CORES ?? 0) || (globalThis.navigator?.hardwareConcurrency ?? 2);
  return Math.max(1, Math.floor(cores / segments));
}

/** Where an approach's engine runs, read from its declared execution layer (Table 2). */
export function engineLocation(approach: Approach): EngineLocation {
  return approach.layers.execution.startsWith('in-DBMS') ? 'backends' : 'workers';
}

function listProblems(problems: Problem[]): string {
  return problems.map((p) => `  - ${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`).join('\n');
}

export async function runApproach(request: RunRequest): Promise<RunResult> {
  const { approach, workload, topology } = request;
  const segments = topology.segments.length;
  const options = parseOptionValues(`approach ${approach.id}`, approach.options, request.options ?? {});

  // Signals from here on stop the run the same way, whatever it is doing.
  const controller = new AbortController();
  const stopWith = (reason: Error): void => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const onOuterAbort = (): void => {
    const reason: unknown = request.signal?.reason;
    stopWith(reason instanceof Error ? reason : new Error('interrupted'));
  };
  if (request.signal?.aborted) onOuterAbort();
  request.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let forceStop: ((signal: StopSignal) => void) | undefined;
  const unwatch =
    request.handleSignals === false
      ? () => undefined
      : watchInterrupts({
          stop: (signal) => {
            process.stderr.write(
              `\nbench: ${describeSignal(signal)}: stopping the run; its folder stays resumable ` +
                '(send it again to stop at once)\n',
            );
            stopWith(new RunInterrupted(signal));
          },
          force: (signal) => {
            process.stderr.write(`bench: ${describeSignal(signal)} again: stopping at once\n`);
            if (forceStop) forceStop(signal);
            else process.exit(new RunInterrupted(signal).exitCode);
          },
        });
  const stopped = (): Error | undefined => {
    const reason: unknown = controller.signal.reason;
    return controller.signal.aborted ? (reason instanceof Error ? reason : new Error(String(reason))) : undefined;
  };
  const notStarted = (error: Error): Error =>
    error instanceof RunInterrupted
      ? new RunInterrupted(error.signal, `${error.message} before the run started; no run folder was made`)
      : error;

  let lock: Awaited<ReturnType<typeof lockCluster>> | undefined;
  let folder: RunFolder;
  let resumedEvents: RunEvent[] = [];
  try {
    // Refusals first: nothing is locked, created or loaded until every one has passed.
    const refusal = searchRefusal(approach, workload, []);
    if (refusal) throw new Error(refusal);
    const resumeFrom = request.resume
      ? checkResumeRequest(request.resume, {
          approach: approach.id,
          workload,
          options,
          workloadOptions: request.workloadOptions,
          segments,
        })
      : undefined;
    const runsDir = resumeFrom
      ? undefined
      : prepareWritableFolder(request.runsDir ?? defaultRunsDir(), 'the runs directory (--runs-dir, BENCH_RUNS)');
    if (resumeFrom) prepareWritableFolder(resumeFrom.dir, 'the run folder');
    const problems = await approach.check(topology);
    // A signal to the process group also reaches the check's probes: the stop explains their failure.
    const early = stopped();
    if (early) throw early;
    if (problems.length > 0) throw new Error(`${approach.id} cannot run here:\n${listProblems(problems)}`);

    // Taken before the run folder exists, so a refused run leaves nothing behind.
    lock = await lockCluster(topology);
    if (resumeFrom) {
      folder = resumeFrom;
      folder.dropTornLine();
      resumedEvents = folder.readEvents();
      restoreSearchConfigs(workload, resumedEvents);
    } else {
      const threads = request.threads ?? defaultThreads(segments);
      folder = RunFolder.create(runsDir!, {
        formatVersion: FORMAT_VERSION,
        runId: newRunId(approach.id, workload.id, workload.scale),
        approach: approach.id,
        workload: workload.id,
        scale: workload.scale,
        segments,
        seed: workload.seed,
        epochs: workload.epochs,
        options,
        workloadOptions: { ...(request.workloadOptions ?? {}) },
        threads,
        configs: workload.configs,
        dataset: { name: workload.datasetName, ...workload.dataset },
        startedAt: new Date().toISOString(),
        environment: await captureEnvironment(topology, engineLocation(approach)),
      });
    }
  } catch (error) {
    await lock?.release();
    request.signal?.removeEventListener('abort', onOuterAbort);
    unwatch();
    throw error instanceof Error ? notStarted(error) : error;
  }

  const emitted: RunEvent[] = resumedEvents;
  // While a resume is being verified, events wait here: a refused resume leaves the folder as it was.
  let held: RunEvent[] | undefined = request.resume && approach.verifyResume ? [] : undefined;
  // The first write that fails stops the run: what follows is kept in memory and reported.
  let writeFailure: RunFolderWriteError | undefined;
  // Set when the attempt releases the cluster: work it abandoned (a statement still running after
  // a stop) may finish later in this process, but its events are no longer the attempt's. A resume
  // may already be reading the folder; a model such work committed is found by the resume's model
  // check and recorded there (docs/resume.md).
  let attemptOver = false;
  const record = (raw: RunEvent): void => {
    if (attemptOver) return;
    // Messages can quote a URL or a server's words: no password reaches the event log (docs/attach.md).
    const event = raw.type === 'log' ? { ...raw, message: redact(raw.message) } : raw;
    if (held) {
      held.push(event);
      return;
    }
    emitted.push(event);
    if (!writeFailure) {
      try {
        folder.append(event);
      } catch (error) {
        if (!(error instanceof RunFolderWriteError)) throw error;
        writeFailure = error;
        stopWith(error);
      }
    }
    request.onEvent?.(event);
  };
  const log = (message: string): void => record({ type: 'log', level: 'info', message, at: Date.now() });
  // Said first, so a program following --json output (or a display) knows where the run is stored.
  log(`run folder ${folder.dir}`);

  const workDir = join(folder.dir, 'work');
  const threads = folder.info.threads ?? request.threads ?? defaultThreads(segments);
  const extraPids = new Set<number>();
  const ctx: RunContext = {
    runId: folder.info.runId,
    runDir: folder.dir,
    workDir,
    workload,
    topology,
    options,
    threads,
    signal: controller.signal,
    emit: (event: TrainEvent) => record(event),
    log,
    epochs: new EpochBook((event) => record(event), { configs: workload.configs.length, segments }, emitted),
    trackPid: (pid: number) => extraPids.add(pid),
  };

  if (held && approach.verifyResume) {
    let refusals: Problem[];
    try {
      refusals = await approach.verifyResume(ctx);
    } catch (error) {
      refusals = [{ message: `verifying the resume failed: ${errorMessage(error)}` }];
    }
    if (refusals.length > 0) {
      await lock.release();
      request.signal?.removeEventListener('abort', onOuterAbort);
      unwatch();
      throw new Error(
        `cannot resume ${folder.info.runId}; the state it left does not match its events:\n` +
          `${listProblems(refusals)}\nNothing was changed.`,
      );
    }
    const verified = held;
    held = undefined;
    for (const event of verified) record(event);
  }

  let prepared: Prepared | undefined;
  /** The ETL while it runs: a stopped run that stopped waiting for it cleans up after it when it ends. */
  let preparing: Promise<Prepared> | undefined;
  let openPhase: Phase | undefined;
  let status: 'complete' | 'incomplete' = 'incomplete';
  let failure: unknown;
  const summaryOf = (samples: Parameters<typeof summarize>[0]['samples']): Summary =>
    summarize({
      info: folder.info,
      events: emitted,
      samples,
      status,
      storage: prepared ? { data: prepared.data, copies: prepared.copies } : null,
      finishedAt: status === 'complete' ? new Date().toISOString() : null,
    });
  let attemptClosed = false;
  const closeAttempt = (reason: string): void => {
    if (openPhase) record({ type: 'phase', phase: openPhase, edge: 'end', at: Date.now() });
    openPhase = undefined;
    if (attemptClosed) {
      record({ type: 'log', level: 'warn', message: `stopped at once: ${reason}`, at: Date.now() });
      return;
    }
    attemptClosed = true;
    record({ type: 'interrupted', reason, at: Date.now() });
  };
  // A second signal: the attempt ends now. Events are on disk as they happen and checkpoints are
  // written atomically, so the folder stays resumable; the workers die with their SIGKILL, the
  // lock with the process's connection.
  forceStop = (signal) => {
    const interrupted = new RunInterrupted(signal);
    closeAttempt(`${describeSignal(signal)}, forced`);
    for (const pid of extraPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      folder.writeSummary(summaryOf([]));
    } catch (error) {
      process.stderr.write(`bench: ${errorMessage(error)}\n`);
    }
    process.stderr.write(
      `bench: ${interrupted.message}; the run is marked incomplete in ${folder.dir}; ` +
        `continue it with --resume ${folder.dir}\n`,
    );
    process.exit(interrupted.exitCode);
  };

  const postmasters = topology.embedded ? await namedPostmasterPids(topology) : [];
  // Engine workers first: they are children of this process, and count as workers, not harness.
  const processGroups = (): ProcessGroupRoots[] => [
    { name: 'engine workers', pids: [...extraPids] },
    ...postmasters.map((p) => ({ name: p.name, pids: [p.pid] })),
    { name: 'harness', pids: [process.pid] },
  ];
  mkdirSync(workDir, { recursive: true });
  const sampler =
    request.sampleIntervalMs === 0
      ? undefined
      : startSampler({ out: folder.samplesPath, intervalMs: request.sampleIntervalMs ?? 1000, processGroups });

  // A phase's work, abandoned (after a grace period) once the run is stopped.
  const untilStopped = async <T>(work: Promise<T>): Promise<T> => {
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        const grace = setTimeout(() => reject(stopped()), PHASE_GRACE_MS);
        work
          .then(
            () => undefined,
            () => undefined,
          )
          .finally(() => clearTimeout(grace));
      };
      if (controller.signal.aborted) onAbort();
      else controller.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const result = await Promise.race([work, aborted]);
      const reason = stopped();
      if (reason) throw reason;
      return result;
    } finally {
      if (onAbort) controller.signal.removeEventListener('abort', onAbort);
    }
  };
  const phase = async <T>(name: Phase, work: () => Promise<T>): Promise<T> => {
    const before = stopped();
    if (before) throw before;
    openPhase = name;
    record({ type: 'phase', phase: name, edge: 'start', at: Date.now() });
    const result = await untilStopped(work());
    record({ type: 'phase', phase: name, edge: 'end', at: Date.now() });
    openPhase = undefined;
    return result;
  };

  try {
    const raw = await untilStopped(ensureRawData(topology, workload));
    log(
      `raw data ${workload.datasetName}: ${raw.trainRows} train rows, ${raw.validRows} validation rows ` +
        `(${raw.reused ? 'reused' : 'loaded'})`,
    );
    const ready = await phase('etl', () => {
      preparing = approach.prepare(ctx).then((p) => {
        prepared = p;
        return p;
      });
      return preparing;
    });
    const startup = approach.startup;
    if (startup) await phase('startup', () => startup(ctx, ready));
    // A search's configs arrive during execution: there is nothing to calibrate before it.
    if (calibrationSeconds() > 0 && !workload.search)
      await phase('calibration', async () => record(await calibrateRawLoop(ctx)));
    else if (workload.search) log('no raw-loop calibration: the search proposes its configs during execution');
    await phase('execution', () => approach.train(ctx, ready));
    const late = stopped();
    if (late) throw late;
    status = 'complete';
  } catch (error) {
    failure = stopped() ?? error;
    // The phase an attempt died in ends here: a resumed run's times leave the pause out.
    closeAttempt(failure instanceof RunInterrupted ? describeSignal(failure.signal) : errorMessage(failure));
    if (!(failure instanceof RunInterrupted))
      record({ type: 'log', level: 'error', message: errorMessage(failure), at: Date.now() });
  }
  let samples: Parameters<typeof summarize>[0]['samples'] = [];
  try {
    samples = sampler ? await sampler.stop() : [];
  } catch (error) {
    record({ type: 'log', level: 'warn', message: errorMessage(error), at: Date.now() });
  }
  if (preparing && !prepared) {
    preparing
      .then(
        (late) => approach.cleanup(ctx, late, 'incomplete'),
        () => undefined,
      )
      .catch(() => undefined);
  }
  try {
    await approach.cleanup(ctx, prepared, status);
    if (status === 'complete') rmSync(workDir, { recursive: true, force: true });
  } catch (error) {
    record({ type: 'log', level: 'warn', message: `cleanup failed: ${errorMessage(error)}`, at: Date.now() });
  } finally {
    attemptOver = true;
    await lock.release();
    forceStop = undefined;
    request.signal?.removeEventListener('abort', onOuterAbort);
    unwatch();
  }
  const summary = summaryOf(samples);
  let summaryFailure: unknown;
  try {
    folder.writeSummary(summary);
  } catch (error) {
    summaryFailure = error;
  }
  if (writeFailure || summaryFailure) {
    const first = writeFailure ?? summaryFailure;
    const lost =
      writeFailure && summaryFailure
        ? `; the summary could not be written either (${errorMessage(summaryFailure)})`
        : '';
    throw new Error(
      `${errorMessage(first)}: the run stopped because its folder became unwritable${lost}. ` +
        `Make ${folder.dir} writable again, then continue the run with --resume ${folder.dir}`,
      { cause: first },
    );
  }
  if (failure) {
    const resumable = `The run is marked incomplete in ${folder.dir}; continue it with --resume ${folder.dir}`;
    if (failure instanceof RunInterrupted) throw new RunInterrupted(failure.signal, `${failure.message}. ${resumable}`);
    const error = new Error(`${errorMessage(failure)}\n${resumable}`);
    error.cause = failure;
    throw error;
  }
  return { runDir: folder.dir, summary };
}
