// The harness (docs/architecture.md, "A run"): runs one resolved approach on one resolved workload,
// times its phases (ETL, engine start-up, execution), writes the run folder as things happen,
// samples resources, and marks a run that did not finish incomplete. It receives resolved objects;
// the registries are looked up at the edges (the CLI, studies).
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Approach, Prepared, RunContext } from '../core/approach.js';
import { EpochBook } from '../core/epoch-book.js';
import type { Phase, RunEvent, TrainEvent } from '../core/events.js';
import { parseOptionValues, type OptionValue } from '../core/options.js';
import { repoRoot } from '../core/paths.js';
import { FORMAT_VERSION, type RunInfo, type Summary } from '../core/records.js';
import type { Topology } from '../core/topology.js';
import type { ResolvedWorkload } from '../core/workload.js';
import { namedPostmasterPids } from '../db/processes.js';
import { startSampler, type ProcessGroupRoots } from '../metrics/sampler.js';
import { summarize } from '../metrics/summarize.js';
import { captureEnvironment } from '../store/environment.js';
import { RunFolder, newRunId } from '../store/run-folder.js';
import { ensureRawData } from '../../workloads/data/load.js';
import { lockCluster } from './lock.js';

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
}

export interface RunResult {
  runDir: string;
  summary: Summary;
}

export function defaultRunsDir(): string {
  return process.env.BENCH_RUNS ? resolve(process.env.BENCH_RUNS) : join(repoRoot(), 'runs');
}

export function defaultThreads(segments: number): number {
  const cores = Number(process.env.BENCH_CORES ?? 0) || (globalThis.navigator?.hardwareConcurrency ?? 2);
  return Math.max(1, Math.floor(cores / segments));
}

/** The fields of run.json a resume must match, and what the request says for each. */
function resumeMismatches(info: RunInfo, request: RunRequest, options: Record<string, OptionValue>, segments: number): string[] {
  const { workload } = request;
  const wanted: [string, unknown, unknown][] = [
    ['approach', info.approach, request.approach.id],
    ['workload', info.workload, workload.id],
    ['scale', info.scale, workload.scale],
    ['segments', info.segments, segments],
    ['seed', info.seed, workload.seed],
    ['epochs', info.epochs, workload.epochs],
    ['options', JSON.stringify(info.options), JSON.stringify(options)],
  ];
  if (info.workloadOptions && request.workloadOptions) {
    wanted.push(['workload options', JSON.stringify(info.workloadOptions), JSON.stringify(request.workloadOptions)]);
  }
  return wanted.filter(([, was, is]) => was !== is).map(([name, was, is]) => `${name} was ${String(was)}, now ${String(is)}`);
}

export async function runApproach(request: RunRequest): Promise<RunResult> {
  const { approach, workload, topology } = request;
  const options = parseOptionValues(`approach ${approach.id}`, approach.options, request.options ?? {});
  const problems = await approach.check(topology);
  if (problems.length > 0) {
    throw new Error(`${approach.id} cannot run here:\n${problems.map((p) => `  - ${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`).join('\n')}`);
  }
  const segments = topology.segments.length;
  const threads = request.threads ?? defaultThreads(segments);

  // Taken before the run folder exists, so a refused run leaves nothing behind.
  const lock = await lockCluster(topology);
  let folder: RunFolder;
  try {
    if (request.resume) {
      folder = RunFolder.open(request.resume);
      const mismatches = resumeMismatches(folder.info, request, options, segments);
      if (mismatches.length > 0) throw new Error(`cannot resume ${folder.info.runId}: ${mismatches.join('; ')}`);
    } else {
      folder = RunFolder.create(request.runsDir ?? defaultRunsDir(), {
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
        environment: await captureEnvironment(topology),
      });
    }
  } catch (error) {
    await lock.release();
    throw error;
  }

  const emitted: RunEvent[] = folder.readEvents();
  const record = (event: RunEvent): void => {
    emitted.push(event);
    folder.append(event);
    request.onEvent?.(event);
  };
  const log = (message: string): void => record({ type: 'log', level: 'info', message, at: Date.now() });

  const controller = new AbortController();
  const abort = (): void => controller.abort(new Error('interrupted'));
  request.signal?.addEventListener('abort', abort, { once: true });
  const onSignal = (): void => abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const workDir = join(folder.dir, 'work');
  mkdirSync(workDir, { recursive: true });
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
    epochs: new EpochBook((event) => record(event), workload.configs.length * segments, workload.configs.length, emitted),
    trackPid: (pid: number) => extraPids.add(pid),
  };

  const postmasters = topology.embedded ? await namedPostmasterPids(topology) : [];
  // Engine workers first: they are children of this process, and count as workers, not harness.
  const processGroups = (): ProcessGroupRoots[] => [
    { name: 'engine workers', pids: [...extraPids] },
    ...postmasters.map((p) => ({ name: p.name, pids: [p.pid] })),
    { name: 'harness', pids: [process.pid] },
  ];
  const sampler =
    request.sampleIntervalMs === 0
      ? undefined
      : startSampler({ out: folder.samplesPath, intervalMs: request.sampleIntervalMs ?? 1000, processGroups });

  let prepared: Prepared | undefined;
  let openPhase: Phase | undefined;
  let status: 'complete' | 'incomplete' = 'incomplete';
  let failure: unknown;
  try {
    if (request.resume && approach.verifyResume) {
      const refusals = await approach.verifyResume(ctx);
      if (refusals.length > 0) {
        throw new Error(`cannot resume ${folder.info.runId}; the state it left does not match its events:\n${refusals.map((p) => `  - ${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`).join('\n')}`);
      }
    }
    const raw = await ensureRawData(topology, workload);
    log(`raw data ${workload.datasetName}: ${raw.trainRows} train rows, ${raw.validRows} validation rows (${raw.reused ? 'reused' : 'loaded'})`);
    const phase = async <T>(name: Phase, work: () => Promise<T>): Promise<T> => {
      openPhase = name;
      record({ type: 'phase', phase: name, edge: 'start', at: Date.now() });
      const result = await work();
      record({ type: 'phase', phase: name, edge: 'end', at: Date.now() });
      openPhase = undefined;
      return result;
    };
    const ready = await phase('etl', () => approach.prepare(ctx));
    prepared = ready;
    controller.signal.throwIfAborted();
    const startup = approach.startup;
    if (startup) await phase('startup', () => startup(ctx, ready));
    controller.signal.throwIfAborted();
    await phase('execution', () => approach.train(ctx, ready));
    status = 'complete';
  } catch (error) {
    failure = error;
    // The phase an attempt died in ends here: a resumed run's times leave the pause out.
    if (openPhase) record({ type: 'phase', phase: openPhase, edge: 'end', at: Date.now() });
    record({ type: 'log', level: 'error', message: error instanceof Error ? error.message : String(error), at: Date.now() });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    request.signal?.removeEventListener('abort', abort);
  }
  const samples = sampler ? await sampler.stop() : [];
  try {
    await approach.cleanup(ctx, prepared, status);
    if (status === 'complete') rmSync(workDir, { recursive: true, force: true });
  } catch (error) {
    record({ type: 'log', level: 'warn', message: `cleanup failed: ${(error as Error).message}`, at: Date.now() });
  } finally {
    await lock.release();
  }
  const summary = summarize({
    info: folder.info,
    events: emitted,
    samples,
    status,
    storage: prepared ? { data: prepared.data, copies: prepared.copies } : null,
    finishedAt: status === 'complete' ? new Date().toISOString() : null,
  });
  folder.writeSummary(summary);
  if (failure) {
    const message = failure instanceof Error ? failure.message : String(failure);
    const error = new Error(`${message}\nThe run is marked incomplete in ${folder.dir}; continue it with --resume ${folder.dir}`);
    error.cause = failure;
    throw error;
  }
  return { runDir: folder.dir, summary };
}
