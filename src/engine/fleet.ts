// The out-of-DBMS execution layer shared by `export`, `da` and `task-parallel`: one long-lived
// engine worker per segment that caches its shard in memory, MOP units run through the shared
// model store, validation spread over the workers, and a crashed worker replaced and reloaded.
import { join } from 'node:path';
import type { Problem, RunContext } from '../core/approach.js';
import { everySegment, withSpan } from '../core/spans.js';
import { classCount, featureShape, modelSeed } from '../core/workload.js';
import type { Unit } from '../sched/types.js';
import { FLEET_POINTS, injectionPoint } from './injection.js';
import { packedBytes, replySpans, type PackedBuffer } from './messages.js';
import { EngineWorker } from './worker.js';
import { ModelStore } from './model-store.js';

/**
 * Where a worker gets its data from: named datasets ('train' = its shard, 'valid' = the validation
 * set, or e.g. 'train_s1' for a replica of segment 1's shard); called again when a crashed worker
 * is replaced.
 */
export interface ShardSource {
  datasets(): Promise<{ name: string; buffers: PackedBuffer[] }[]>;
}

/** The usual source: the worker's own shard and the validation set. */
export function shardSource(train: () => Promise<PackedBuffer[]>, valid: () => Promise<PackedBuffer[]>): ShardSource {
  return {
    datasets: async () => [
      { name: 'train', buffers: await train() },
      { name: 'valid', buffers: await valid() },
    ],
  };
}

function modelStoreOf(ctx: RunContext): ModelStore {
  return new ModelStore(join(ctx.workDir, 'models'));
}

/** Per config, the model version the recorded units describe: the number of its finished sub-epochs. */
function recordedVersions(ctx: RunContext): Map<number, number> {
  const versions = new Map<number, number>();
  for (const unit of ctx.epochs.completedUnits) versions.set(unit.config, (versions.get(unit.config) ?? 0) + 1);
  return versions;
}

/** Whether a config has nothing left to do: every unit trained and every epoch validated. */
function configFinished(ctx: RunContext, config: number, version: number): boolean {
  const { epochs } = ctx.workload;
  if (version < epochs * ctx.topology.segments.length) return false;
  for (let epoch = 0; epoch < epochs; epoch++) if (!ctx.epochs.isValidated(config, epoch)) return false;
  return true;
}

/**
 * Approach.verifyResume of the model-store approaches: every unfinished config's checkpoint is on
 * disk at the version its recorded units describe (docs/resume.md). A version one ahead (the
 * process died between the worker writing it and the unit being recorded) is no problem: it is
 * discarded and that unit trains again from the recorded version.
 */
export async function verifyModelStore(ctx: RunContext): Promise<Problem[]> {
  const store = modelStoreOf(ctx);
  const problems: Problem[] = [];
  const versions = recordedVersions(ctx);
  for (const config of ctx.workload.configs) {
    const version = versions.get(config.id) ?? 0;
    const recorded = ctx.epochs.completedUnits.filter((u) => u.config === config.id && u.modelVersion !== undefined);
    const inconsistent = recorded.find((u, i) => u.modelVersion !== i + 1);
    if (inconsistent && recorded.length === version) {
      problems.push({
        message:
          `config ${config.id}: its recorded units skip model versions ` +
          `(unit ${recorded.indexOf(inconsistent) + 1} says version ${inconsistent.modelVersion})`,
      });
      continue;
    }
    if (configFinished(ctx, config.id, version)) continue;
    const problem = version > 0 ? store.problemWith(config.id, version) : undefined;
    if (problem) {
      problems.push({
        message:
          `config ${config.id} (${config.label}) has ${version} recorded sub-epochs, but ${problem}; ` +
          'resuming would train it from the wrong weights',
        fix: 'start a new run; this folder cannot be continued',
      });
    } else if (store.exists(config.id, version + 1)) {
      ctx.log(
        `config ${config.id}: its checkpoint after ${version + 1} sub-epochs was written but that sub-epoch ` +
          'was never recorded; it is discarded and the sub-epoch trains again',
      );
    }
  }
  return problems;
}

export class WorkerFleet {
  readonly store: ModelStore;
  /** Per config, the version of its model in the store (sub-epochs trained and recorded). */
  private readonly versions: Map<number, number>;

  private constructor(
    private readonly ctx: RunContext,
    private readonly sources: ShardSource[],
    private readonly workers: EngineWorker[],
  ) {
    this.store = modelStoreOf(ctx);
    this.versions = recordedVersions(ctx);
    // Only the recorded version of each model stays: a version ahead of the events trains again.
    for (const config of ctx.workload.configs) this.store.keepOnly(config.id, this.versions.get(config.id) ?? 0);
  }

  /** Spawn one worker per source and load its shard (part of ETL: the data is cached in the workers). */
  static async start(ctx: RunContext, sources: ShardSource[]): Promise<WorkerFleet> {
    const spawned = await Promise.allSettled(
      sources.map((source, segment) => WorkerFleet.spawnLoaded(ctx, source, segment)),
    );
    const workers = spawned.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = spawned.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed || ctx.signal.aborted) {
      await Promise.all(workers.map((w) => w.close().catch(() => undefined)));
      if (failed) throw failed.reason;
      ctx.signal.throwIfAborted();
    }
    return new WorkerFleet(ctx, sources, workers);
  }

  private static async spawnLoaded(ctx: RunContext, source: ShardSource, segment: number): Promise<EngineWorker> {
    const start = Date.now();
    const worker = await EngineWorker.spawn({ threads: ctx.threads, label: `seg${segment}` });
    ctx.trackPid(worker.pid);
    ctx.emit({ type: 'span', kind: 'engine-init', start, end: Date.now(), segment });
    const inputShape = featureShape(ctx.workload.dataset);
    const classes = classCount(ctx.workload.dataset);
    for (const { name, buffers } of await source.datasets()) {
      const bytes = packedBytes(buffers);
      const dataStart = Date.now();
      await worker.load({ dataset: name, inputShape, classes, buffers });
      ctx.emit({ type: 'span', kind: 'data', start: dataStart, end: Date.now(), segment, bytes });
      ctx.emit({ type: 'counter', transport: 'pipe', bytes, at: Date.now(), segment });
    }
    return worker;
  }

  get size(): number {
    return this.workers.length;
  }

  pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  /** Replace a dead worker with a fresh one holding the same shard. */
  private async replace(segment: number): Promise<void> {
    await this.workers[segment].close().catch(() => undefined);
    this.workers[segment] = await WorkerFleet.spawnLoaded(this.ctx, this.sources[segment], segment);
  }

  /** Run a request on a segment's worker; a worker that died is replaced before the error propagates. */
  private async call<T>(segment: number, request: (worker: EngineWorker) => Promise<T>): Promise<T> {
    const worker = this.workers[segment];
    try {
      return await request(worker);
    } catch (error) {
      if (!worker.alive) {
        this.ctx.log(
          `engine worker seg${segment} (pid ${worker.pid}) died; starting a new one and reloading its shard`,
        );
        await this.replace(segment);
      }
      throw error;
    }
  }

  /** The recorded version of a config's model; 0: none yet (the first unit starts from the seed). */
  versionOf(config: number): number {
    return this.versions.get(config) ?? 0;
  }

  /**
   * One sub-epoch: the unit's config trains over a cached dataset (by default the segment's own
   * shard on the segment's worker), from the model's recorded version to the next one.
   */
  async trainUnit(
    unit: Unit,
    where: { worker: number; dataset: string } = { worker: unit.segment, dataset: 'train' },
  ): Promise<void> {
    this.ctx.epochs.unitStarted(unit);
    const config = this.ctx.workload.configs[unit.config];
    const version = this.versionOf(unit.config);
    const request = this.call(where.worker, (worker) =>
      worker.train({
        config,
        seed: modelSeed(this.ctx.workload, unit.config),
        modelIn: version > 0 ? this.store.pathFor(unit.config, version) : null,
        modelOut: this.store.pathFor(unit.config, version + 1),
        epoch: unit.epoch,
        dataset: where.dataset,
        modelVersion: version + 1,
        segment: unit.segment,
      }),
    );
    injectionPoint(FLEET_POINTS.training);
    const reply = await request;
    if (reply.modelVersion !== version + 1) {
      throw new Error(
        `engine worker seg${where.worker} wrote version ${reply.modelVersion} of config ${unit.config}'s model, ` +
          `expected ${version + 1}`,
      );
    }
    injectionPoint(FLEET_POINTS.checkpointed);
    // Spans are the worker's machine time.
    for (const span of replySpans(reply, { segment: where.worker, config: unit.config, epoch: unit.epoch }))
      this.ctx.emit(span);
    this.ctx.emit({
      type: 'counter',
      transport: 'model-store',
      bytes: reply.modelBytesIn + reply.modelBytesOut,
      at: Date.now(),
      segment: where.worker,
    });
    this.ctx.epochs.unitDone(unit, reply);
    this.versions.set(unit.config, version + 1);
    injectionPoint(FLEET_POINTS.recorded);
    // Once the run is stopped the unit may not have reached the run folder (an unwritable folder
    // stops it): the version the folder's events describe stays, a resume removes what is newer.
    if (version > 0 && !this.ctx.signal.aborted) this.store.remove(unit.config, version);
  }

  /** Validate every config once, spread over the workers (each holds the validation set). */
  async validateAll(epoch: number): Promise<void> {
    const queue = this.ctx.workload.configs
      .map((c) => c.id)
      .filter((config) => !this.ctx.epochs.isValidated(config, epoch));
    await everySegment(this.ctx.emit, this.workers.length, async (segment) => {
      for (let config = queue.shift(); config !== undefined; config = queue.shift()) {
        const modelIn = this.store.pathFor(config, this.versionOf(config));
        const request = { config: this.ctx.workload.configs[config], modelIn, epoch };
        // The request's round trip; the worker's own spans take the time they cover.
        const reply = await withSpan(this.ctx.emit, 'schedule', { segment, config, epoch }, () =>
          this.call(segment, (worker) => worker.validate(request)),
        );
        // Reading the checkpoint to validate it is part of validation, not a hop.
        for (const span of replySpans(reply, { segment, config, epoch })) {
          this.ctx.emit(span.kind === 'model-hop' ? { ...span, kind: 'valid' } : span);
        }
        this.ctx.epochs.validated(epoch, { config, ...reply });
        injectionPoint(FLEET_POINTS.validated);
      }
    });
  }

  /** Validate one config after its epoch on one worker (a search's config, as its epoch ends there). */
  async validateConfig(config: number, epoch: number, worker: number): Promise<void> {
    const reply = await this.call(worker, (w) =>
      w.validate({
        config: this.ctx.workload.configs[config],
        modelIn: this.store.pathFor(config, this.versionOf(config)),
        epoch,
      }),
    );
    // Reading the checkpoint to validate it is part of validation, not a hop.
    for (const span of replySpans(reply, { segment: worker, config, epoch }))
      this.ctx.emit(span.kind === 'model-hop' ? { ...span, kind: 'valid' } : span);
    this.ctx.epochs.validated(epoch, { config, ...reply });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close().catch(() => undefined)));
  }
}
