// The out-of-DBMS execution layer shared by `export`, `da` and `task-parallel`: one long-lived
// engine worker per segment that caches its shard in memory, MOP units run through the shared
// model store, validation spread over the workers, and a crashed worker replaced and reloaded.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext } from '../core/approach.js';
import { everySegment, withSpan } from '../core/spans.js';
import { classCount, featureShape, modelSeed } from '../core/workload.js';
import type { Unit } from '../sched/types.js';
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

export class WorkerFleet {
  readonly store: ModelStore;
  private constructor(
    private readonly ctx: RunContext,
    private readonly sources: ShardSource[],
    private readonly workers: EngineWorker[],
  ) {
    const dir = join(ctx.workDir, 'models');
    mkdirSync(dir, { recursive: true });
    this.store = new ModelStore(dir);
  }

  /** Spawn one worker per source and load its shard (part of ETL: the data is cached in the workers). */
  static async start(ctx: RunContext, sources: ShardSource[]): Promise<WorkerFleet> {
    const workers = await Promise.all(sources.map((source, segment) => WorkerFleet.spawnLoaded(ctx, source, segment)));
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
        this.ctx.log(`engine worker seg${segment} (pid ${worker.pid}) died; starting a new one and reloading its shard`);
        await this.replace(segment);
      }
      throw error;
    }
  }

  /**
   * One sub-epoch: the unit's config trains over a cached dataset (by default the segment's own
   * shard on the segment's worker), through the model store.
   */
  async trainUnit(unit: Unit, where: { worker: number; dataset: string } = { worker: unit.segment, dataset: 'train' }): Promise<void> {
    const config = this.ctx.workload.configs[unit.config];
    const modelPath = this.store.pathFor(unit.config);
    const reply = await this.call(where.worker, (worker) =>
      worker.train({
        config,
        seed: modelSeed(this.ctx.workload, unit.config),
        modelIn: this.store.exists(unit.config) ? modelPath : null,
        modelOut: modelPath,
        epoch: unit.epoch,
        dataset: where.dataset,
      }),
    );
    // Spans are the worker's machine time.
    for (const span of replySpans(reply, { segment: where.worker, config: unit.config, epoch: unit.epoch })) this.ctx.emit(span);
    this.ctx.emit({ type: 'counter', transport: 'model-store', bytes: reply.modelBytesIn + reply.modelBytesOut, at: Date.now(), segment: where.worker });
    this.ctx.epochs.unitDone(unit, reply);
  }

  /** Validate every config once, spread over the workers (each holds the validation set). */
  async validateAll(epoch: number): Promise<void> {
    const queue = this.ctx.workload.configs.map((c) => c.id);
    await everySegment(this.ctx.emit, this.workers.length, async (segment) => {
      for (let config = queue.shift(); config !== undefined; config = queue.shift()) {
        // The request's round trip; the worker's own spans take the time they cover.
        const request = { config: this.ctx.workload.configs[config], modelIn: this.store.pathFor(config), epoch };
        const reply = await withSpan(this.ctx.emit, 'schedule', { segment, config, epoch }, () =>
          this.call(segment, (worker) => worker.validate(request)),
        );
        // Reading the checkpoint to validate it is part of validation, not a hop.
        for (const span of replySpans(reply, { segment, config, epoch })) {
          this.ctx.emit(span.kind === 'model-hop' ? { ...span, kind: 'valid' } : span);
        }
        this.ctx.epochs.validated(epoch, { config, ...reply });
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close().catch(() => undefined)));
  }
}
