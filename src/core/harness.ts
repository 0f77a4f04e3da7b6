// The harness: runs one approach on one workload, times ETL and execution separately, writes the
// run folder as things happen, samples resources, and marks a run that did not finish incomplete.
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getApproach } from '../../approaches/index.js';
import { resolveWorkload } from '../../workloads/index.js';
import { ensureRawData } from '../../workloads/data/load.js';
import { resolveTopology } from '../db/resolve.js';
import { connect } from '../db/connect.js';
import type { Topology } from '../db/topology.js';
import { startSampler } from '../metrics/sampler.js';
import { summarize } from '../metrics/summarize.js';
import { captureEnvironment } from '../store/environment.js';
import { FORMAT_VERSION, type Summary } from '../store/schema.js';
import { RunFolder, newRunId } from '../store/run-folder.js';
import { EpochBook } from './epoch-book.js';
import type { Prepared, RunContext } from './approach.js';
import { repoRoot } from './paths.js';
import type { RunEvent, TrainEvent } from './types.js';
import type { ResolvedWorkload, ScaleName } from './workload.js';
import { postmasterPids } from '../db/processes.js';

export interface RunRequest {
  approach: string;
  workload: string;
  scale: ScaleName;
  segments?: number;
  db?: string;
  seed?: number;
  options?: Record<string, string>;
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
  topology?: Topology;
}

export interface RunResult {
  runDir: string;
  summary: Summary;
}

/**
 * One run at a time per cluster: runs share the packed tables and the segments' cores, so a second
 * run would corrupt the first one's data and its timings. Held as a session advisory lock.
 */
async function lockCluster(topology: Topology): Promise<{ release(): Promise<void> }> {
  const client = await connect(topology.coordinator, 'bench-run-lock');
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [RUN_LOCK_KEY]);
  if (!rows[0].ok) {
    const holder = await client.query<{ pid: number; application_name: string }>(
      "SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.objid = $1",
      [RUN_LOCK_KEY],
    );
    await client.end();
    throw new Error(`another bench run is using this cluster (coordinator backend pid ${holder.rows[0]?.pid ?? 'unknown'}); wait for it to finish`);
  }
  return { release: () => client.end().catch(() => undefined) };
}

const RUN_LOCK_KEY = 0x62656e63; // 'benc'

export function defaultRunsDir(): string {
  return process.env.BENCH_RUNS ? resolve(process.env.BENCH_RUNS) : join(repoRoot(), 'runs');
}

function defaultThreads(segments: number): number {
  const cores = Number(process.env.BENCH_CORES ?? 0) || (globalThis.navigator?.hardwareConcurrency ?? 2);
  return Math.max(1, Math.floor(cores / segments));
}

function resumeFolder(dir: string, approach: string, workload: ResolvedWorkload, segments: number): RunFolder {
  const folder = RunFolder.open(dir);
  const info = folder.info;
  if (info.approach !== approach || info.workload !== workload.id || info.scale !== workload.scale || info.segments !== segments) {
    throw new Error(`cannot resume ${info.runId} as ${approach}/${workload.id}/${workload.scale} on ${segments} segments: it was ${info.approach}/${info.workload}/${info.scale} on ${info.segments}`);
  }
  return folder;
}

export async function runApproach(request: RunRequest): Promise<RunResult> {
  const approach = getApproach(request.approach);
  const topology = request.topology ?? (await resolveTopology({ db: request.db, segments: request.segments }));
  const problems = await approach.check(topology);
  if (problems.length > 0) {
    throw new Error(`${approach.id} cannot run here:\n${problems.map((p) => `  - ${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`).join('\n')}`);
  }
  const segments = topology.segments.length;
  const seed = request.seed ?? 1;
  const workload = resolveWorkload(request.workload, request.scale, seed, request.options);
  const options = request.options ?? {};

  // Taken before the run folder exists, so a refused run leaves nothing behind.
  const lock = await lockCluster(topology);
  let folder: RunFolder;
  try {
    folder = request.resume
      ? resumeFolder(request.resume, approach.id, workload, segments)
      : RunFolder.create(request.runsDir ?? defaultRunsDir(), {
          formatVersion: FORMAT_VERSION,
          runId: newRunId(approach.id, workload.id, workload.scale),
          approach: approach.id,
          workload: workload.id,
          scale: workload.scale,
          segments,
          seed,
          epochs: workload.epochs,
          options,
          configs: workload.configs,
          dataset: { name: workload.datasetName, ...workload.dataset },
          startedAt: new Date().toISOString(),
          environment: await captureEnvironment(topology),
        });
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
    threads: request.threads ?? defaultThreads(segments),
    signal: controller.signal,
    emit: (event: TrainEvent) => record(event),
    log,
    epochs: new EpochBook((event) => record(event), workload.configs.length * segments, workload.configs.length, emitted),
    trackPid: (pid: number) => extraPids.add(pid),
  };

  const postmasters = topology.embedded ? await postmasterPids(topology) : [];
  const sampler =
    request.sampleIntervalMs === 0
      ? undefined
      : startSampler({ out: folder.samplesPath, intervalMs: request.sampleIntervalMs ?? 1000, rootPids: () => [process.pid, ...postmasters, ...extraPids] });

  let prepared: Prepared | undefined;
  let openPhase: 'etl' | 'execution' | undefined;
  let status: 'complete' | 'incomplete' = 'incomplete';
  let failure: unknown;
  try {
    const raw = await ensureRawData(topology, workload);
    log(`raw data ${workload.datasetName}: ${raw.trainRows} train rows, ${raw.validRows} validation rows (${raw.reused ? 'reused' : 'loaded'})`);
    const phase = async <T>(name: 'etl' | 'execution', work: () => Promise<T>): Promise<T> => {
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
    storage: { sourceBytes: prepared?.sourceBytes ?? 0, extraBytes: prepared?.extraBytes ?? 0 },
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
