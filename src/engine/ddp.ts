// The data-parallel execution layer of `ddp` and `da-ddp` (paper 3.3/5.1: PytorchDDP): N engine
// workers, one per segment, each holding its segment's shard in memory, form one torch.distributed
// process group over loopback (infra/engine/bench_engine/ddp.py) and train ONE config at a time
// together, averaging the gradients of every mini-batch: by default through torch's
// DistributedDataParallel (bucketed all-reduces overlapped with backward, counted by a communication
// hook), or with one blocking all-reduce of the flat gradient after backward (`allreduce: 'flat'`).
// Every config's replica (model + optimizer) stays in the workers' memory between epochs: nothing
// hops, nothing is checkpointed.
//
// Unlike the MOP fleet, a failed rank cannot be replaced mid-step: the other ranks are blocked in
// (or already failed out of) a collective with it. So any rank's failure stops every worker and
// fails the step with one error that names the rank and what it said.
import { freePort } from '../db/postgres-os.js';
import type { RunContext } from '../core/approach.js';
import { withSpan } from '../core/spans.js';
import { classCount, featureShape, type ModelConfig, modelSeed } from '../core/workload.js';
import type { ShardSource } from './fleet.js';
import { packedBytes, toSpans, type EngineSpan, type ValidateReply } from './messages.js';
import { EngineWorker, WorkerCrashedError } from './worker.js';
import { firstLine } from '../core/errors.js';

/** What the group needs of a run: RunContext without the database (tests build one by hand). */
export type DdpContext = Pick<RunContext, 'workload' | 'threads' | 'emit' | 'log' | 'trackPid' | 'epochs'> & {
  signal?: AbortSignal;
};

export type DdpBackend = 'gloo' | 'nccl';
/** How the gradients are averaged: torch's DistributedDataParallel, or one all-reduce of the flat gradient. */
export const DDP_ALLREDUCE = ['ddp', 'flat'] as const;
export type DdpAllreduce = (typeof DDP_ALLREDUCE)[number];

export interface DdpGroupOptions {
  /** Bounds the rendezvous and every collective (seconds; default 300): a rank that stops
   * answering fails its peers' all_reduce instead of hanging them. A rank that dies fails them at once. */
  timeoutSeconds?: number;
  /** Default: nccl when every rank can have its own GPU, else gloo. */
  backend?: DdpBackend;
  /** Default 'ddp'. */
  allreduce?: DdpAllreduce;
  /** The rendezvous port on 127.0.0.1 (default: a free one). */
  masterPort?: number;
  /** Extra environment for the workers. */
  env?: NodeJS.ProcessEnv;
  /** After the first rank fails, how long to let the others report their own errors before
   * they are killed (ms; default 2000). */
  failureGraceMs?: number;
}

export interface DdpInitReply {
  ok: true;
  rank: number;
  world: number;
  backend: DdpBackend;
  allreduce: DdpAllreduce;
  device: string;
  initSeconds: number;
  spans: EngineSpan[];
}

/** One rank's epoch of one config (bench_engine.ddp.DdpState.train). */
export interface DdpTrainReply {
  ok: true;
  epoch: number | null;
  lossSum: number;
  examples: number;
  steps: number;
  /** Mini-batches trained: the minimum over the ranks of their shards' mini-batch counts. */
  batches: number;
  /** Mini-batches of this rank's shard; the last localBatches - batches were dropped. */
  localBatches: number;
  droppedExamples: number;
  allreduce: DdpAllreduce;
  /** Bytes handed to all_reduce by this rank: numel x element size per call, summed. */
  allreduceBytes: number;
  /** The gradient all-reduces' share: steps x parameters x 4 (ddp: the buckets the communication hook saw). */
  gradientBytes: number;
  /** The rest: the batch-count agreement, the replica check, batch norm statistics. */
  controlBytes: number;
  /** ddp, a replica's first epoch: the parameters and buffers DistributedDataParallel's constructor broadcasts. */
  broadcastBytes: number;
  allreduceCalls: number;
  /** Gradient all-reduces: ddp, one per bucket per step; flat, one per step. */
  gradientCalls: number;
  /**
   * Seconds with an all-reduce under way (part of the 'train' span): flat, inside the blocking calls; ddp, the
   * union of the buckets' all-reduces in flight (they overlap backward); plus the blocking control reductions.
   */
  allreduceSeconds: number;
  paramCount: number;
  backend: DdpBackend;
  /** engine-init (the replica is created, first epoch only), train (communication included). */
  spans: EngineSpan[];
}

export interface DdpChecksumReply {
  ok: true;
  checksum: string;
  steps: number;
  paramCount: number;
}

/** One config's epoch over every rank. */
export interface DdpEpochResult {
  config: number;
  epoch: number;
  /** Per rank, in rank order. */
  ranks: DdpTrainReply[];
  lossSum: number;
  examples: number;
  /** Optimizer steps (the same on every rank). */
  steps: number;
  /** Bytes handed to the collectives (all-reduces and DDP's broadcast), summed over the ranks. */
  allreduceBytes: number;
  /** Seconds inside all_reduce, per rank. */
  allreduceSeconds: number[];
  /** Training seconds (the 'train' spans, communication included), per rank. */
  trainSeconds: number[];
}

/** A rank failed: the step failed on every rank and the group is stopped. */
export class DdpError extends Error {
  override name = 'DdpError';
  constructor(
    message: string,
    /** The rank whose failure is the cause. */
    readonly rank: number,
    /** What was being done, e.g. "training config 2 in epoch 0". */
    readonly step: string,
    /** Every rank that failed on its own (before the group was stopped), with its error. */
    readonly failures: readonly { rank: number; error: unknown }[],
  ) {
    super(message);
  }
}

const DEFAULT_TIMEOUT_SECONDS = 300;

export class DdpGroup {
  /** The process group's backend and the ranks' device, from ddp_init. */
  readonly backend: DdpBackend;
  readonly allreduce: DdpAllreduce;
  readonly device: string;
  private broken: DdpError | undefined;
  private closed = false;

  private constructor(
    private readonly ctx: DdpContext,
    private readonly workers: EngineWorker[],
    init: DdpInitReply,
    private readonly failureGraceMs: number,
  ) {
    this.backend = init.backend;
    this.allreduce = init.allreduce;
    this.device = init.device;
  }

  /**
   * Spawn one worker per source (rank i = segment i), form the process group, then load every
   * rank's shard and the validation set (part of ETL: the data is cached in the workers). The
   * group is formed before the data is loaded: on a host with a GPU per rank, ddp_init picks the
   * rank's GPU and the data must land on it.
   */
  static async start(
    ctx: DdpContext,
    sources: readonly ShardSource[],
    options: DdpGroupOptions = {},
  ): Promise<DdpGroup> {
    if (sources.length === 0) throw new Error('ddp needs at least one shard');
    const world = sources.length;
    const env: NodeJS.ProcessEnv = {
      // Rendezvous and collectives over loopback, whatever the host name resolves to.
      GLOO_SOCKET_IFNAME: process.env.GLOO_SOCKET_IFNAME ?? 'lo',
      NCCL_SOCKET_IFNAME: process.env.NCCL_SOCKET_IFNAME ?? 'lo',
      ...options.env,
    };
    const spawned = await Promise.allSettled(
      sources.map(async (_, rank) => {
        const start = Date.now();
        const worker = await EngineWorker.spawn({ threads: ctx.threads, label: `seg${rank}`, env });
        ctx.trackPid(worker.pid);
        ctx.emit({ type: 'span', kind: 'engine-init', start, end: Date.now(), segment: rank });
        return worker;
      }),
    );
    const workers = spawned.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failedSpawn = spawned.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failedSpawn) {
      await Promise.all(workers.map((w) => w.close().catch(() => undefined)));
      throw failedSpawn.reason;
    }

    const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const masterPort = options.masterPort ?? (await freePort());
    const failureGraceMs = options.failureGraceMs ?? 2000;
    const inits = await everyRank(workers, 'forming the process group', failureGraceMs, (worker, rank) =>
      worker
        .request<DdpInitReply>({
          op: 'ddp_init',
          rank,
          world,
          masterPort,
          masterAddr: '127.0.0.1',
          backend: options.backend,
          allreduce: options.allreduce ?? 'ddp',
          timeoutSeconds,
        })
        .then((r) => r.header),
    ).catch(async (error: unknown) => {
      await Promise.all(workers.map((w) => w.close().catch(() => undefined)));
      throw error;
    });
    inits.forEach((reply, rank) => {
      for (const span of toSpans(reply.spans, { segment: rank })) ctx.emit(span);
    });
    const group = new DdpGroup(ctx, workers, inits[0], failureGraceMs);
    ctx.log(
      `ddp: ${world} ranks joined the process group on 127.0.0.1:${masterPort} ` +
        `(backend ${group.backend}, all-reduce ${group.allreduce}, device ${group.device}) ` +
        `in ${inits[0].initSeconds.toFixed(2)} s`,
    );

    const inputShape = featureShape(ctx.workload.dataset);
    const classes = classCount(ctx.workload.dataset);
    try {
      await group.onEveryRank('loading the shards', async (worker, rank) => {
        for (const { name, buffers } of await sources[rank].datasets()) {
          const bytes = packedBytes(buffers);
          const start = Date.now();
          await worker.load({ dataset: name, inputShape, classes, buffers });
          ctx.emit({ type: 'span', kind: 'data', start, end: Date.now(), segment: rank, bytes });
          ctx.emit({ type: 'counter', transport: 'pipe', bytes, at: Date.now(), segment: rank });
        }
      });
    } catch (error) {
      await group.close();
      throw error;
    }
    return group;
  }

  get size(): number {
    return this.workers.length;
  }

  pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  /** The ranks' workers (tests: kill one). */
  get rankWorkers(): readonly EngineWorker[] {
    return this.workers;
  }

  private config(index: number): ModelConfig {
    const config = this.ctx.workload.configs[index];
    if (!config) throw new Error(`no config ${index} in workload ${this.ctx.workload.id}`);
    return config;
  }

  /** Runs call on every rank at once; any failure stops the whole group (see everyRank). */
  private async onEveryRank<T>(step: string, call: (worker: EngineWorker, rank: number) => Promise<T>): Promise<T[]> {
    if (this.broken) throw this.broken;
    if (this.closed) throw new Error('the ddp group is closed');
    try {
      return await everyRank(this.workers, step, this.failureGraceMs, call);
    } catch (error) {
      if (error instanceof DdpError) this.broken = error;
      throw error;
    }
  }

  /**
   * One epoch of one config on every rank together. Emits each rank's spans (engine-init the
   * first time, then ONE 'train' span per rank covering its training with the all-reduces in it:
   * as in the paper's DDP, communication is part of Train+Valid) and an 'allreduce' counter per
   * rank, and reports one finished unit per rank to the epoch book (config, segment = rank, epoch,
   * with that rank's loss sum): every shard was trained on, by its rank, all at once, so a config's
   * epoch is its `size` sub-epochs and its training loss sums the ranks' loss sums.
   */
  async trainEpoch(configIndex: number, epoch: number): Promise<DdpEpochResult> {
    this.ctx.signal?.throwIfAborted();
    const config = this.config(configIndex);
    const seed = modelSeed(this.ctx.workload, config.id);
    for (let rank = 0; rank < this.size; rank++) {
      this.ctx.epochs.unitStarted({ config: config.id, segment: rank, epoch });
    }
    const replies = await this.onEveryRank(`training config ${config.id} in epoch ${epoch}`, async (worker, rank) =>
      // The request's round trip; the rank's train span (all-reduces included) takes the time it covers.
      withSpan(
        this.ctx.emit,
        'schedule',
        { segment: rank, config: config.id, epoch },
        async () => (await worker.request<DdpTrainReply>({ op: 'ddp_train', config, seed, epoch })).header,
      ),
    );
    const steps = replies[0].steps;
    if (replies.some((r) => r.steps !== steps)) {
      throw new Error(
        `ddp: the ranks took different numbers of steps for config ${config.id} in epoch ${epoch} ` +
          `(${replies.map((r) => r.steps).join(', ')}): their replicas differ now`,
      );
    }
    replies.forEach((reply, rank) => {
      for (const span of toSpans(reply.spans, { segment: rank, config: config.id, epoch })) this.ctx.emit(span);
      // Every byte this rank handed to a collective: the all-reduces and DDP's first broadcast.
      const bytes = reply.allreduceBytes + reply.broadcastBytes;
      this.ctx.emit({ type: 'counter', transport: 'allreduce', bytes, at: Date.now(), segment: rank });
    });
    replies.forEach((reply, rank) => {
      this.ctx.epochs.unitDone({ config: config.id, segment: rank, epoch }, reply);
    });
    return {
      config: config.id,
      epoch,
      ranks: replies,
      lossSum: replies.reduce((a, r) => a + r.lossSum, 0),
      examples: replies.reduce((a, r) => a + r.examples, 0),
      steps,
      allreduceBytes: replies.reduce((a, r) => a + r.allreduceBytes + r.broadcastBytes, 0),
      allreduceSeconds: replies.map((r) => r.allreduceSeconds),
      trainSeconds: replies.map((r) =>
        r.spans.filter((s) => s.kind === 'train').reduce((a, s) => a + (s.end - s.start) / 1000, 0),
      ),
    };
  }

  /** Validate every config once, spread over the ranks (each holds the validation set and an
   * identical replica of every config), and emit the epoch's metrics. */
  async validateAll(epoch: number): Promise<void> {
    this.ctx.signal?.throwIfAborted();
    const queue = this.ctx.workload.configs.map((_, index) => index);
    const results: { config: number; reply: ValidateReply; rank: number }[] = [];
    const ended = new Array<number>(this.workers.length).fill(0);
    await this.onEveryRank(`validating epoch ${epoch}`, async (worker, rank) => {
      for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
        const config = this.config(index);
        // The request's round trip; the rank's own spans take the time they cover.
        const reply = await withSpan(
          this.ctx.emit,
          'schedule',
          { segment: rank, config: config.id, epoch },
          async () => (await worker.request<ValidateReply>({ op: 'ddp_validate', config, epoch })).header,
        );
        for (const span of toSpans(reply.spans, { segment: rank, config: config.id, epoch })) this.ctx.emit(span);
        results.push({ config: config.id, reply, rank });
      }
      ended[rank] = Date.now();
    });
    // Ranks that ran out of configs to validate waited for the others.
    const last = Math.max(...ended);
    ended.forEach((end, rank) => {
      if (last > end) this.ctx.emit({ type: 'span', kind: 'idle', start: end, end: last, segment: rank });
    });
    for (const { config, reply } of results.sort((a, b) => a.config - b.config)) {
      this.ctx.epochs.validated(epoch, { config, ...reply });
    }
  }

  /** Each rank's checksum of a config's replica (weights, Adam state, buffers): all equal. */
  async checksums(configIndex: number): Promise<string[]> {
    const config = this.config(configIndex);
    return this.onEveryRank(
      `checksumming config ${config.id}`,
      async (worker) => (await worker.request<DdpChecksumReply>({ op: 'ddp_checksum', config })).header.checksum,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Leaving the group first lets gloo close its pairs in order; a broken group is just ended.
    if (!this.broken) await Promise.all(this.workers.map((w) => w.request({ op: 'ddp_close' }).catch(() => undefined)));
    await Promise.all(this.workers.map((w) => w.close().catch(() => undefined)));
  }
}

/**
 * Runs call on every worker concurrently and returns the results in rank order. When one rank
 * fails, the step has failed on every rank (data-parallel training cannot lose one): the others
 * get failureGraceMs to report their own errors (a dead peer fails their collective at once; a
 * hung one, within the process group's timeout), then every worker still running is killed, and
 * one DdpError names the rank that failed first on its own (a crashed process before a peer's
 * complaint about it) with what it said.
 */
async function everyRank<T>(
  workers: readonly EngineWorker[],
  step: string,
  failureGraceMs: number,
  call: (worker: EngineWorker, rank: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(workers.length);
  const failures: { rank: number; error: unknown; ownFault: boolean }[] = [];
  let stopping = false;
  let signalFailure: () => void = () => undefined;
  const failed = new Promise<void>((resolve) => {
    signalFailure = resolve;
  });
  const calls = workers.map((worker, rank) =>
    call(worker, rank).then(
      (value) => {
        results[rank] = value;
      },
      (error: unknown) => {
        failures.push({ rank, error, ownFault: !stopping });
        signalFailure();
      },
    ),
  );
  const all = Promise.all(calls);
  await Promise.race([all, failed]);
  if (failures.length === 0) return results;

  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, failureGraceMs)))]);
  clearTimeout(timer);
  stopping = true;
  for (const worker of workers) worker.kill();
  await all;
  await Promise.all(workers.map((w) => w.waitForExit()));

  const own = failures.filter((f) => f.ownFault);
  const cause = own.find((f) => f.error instanceof WorkerCrashedError) ?? own[0] ?? failures[0];
  const others = own.filter((f) => f !== cause).map((f) => `rank ${f.rank}: ${firstLine(f.error)}`);
  const why = cause.error instanceof Error ? cause.error.message : String(cause.error);
  const message =
    `ddp: rank ${cause.rank} (seg${cause.rank}) failed while ${step}: ${why}\n` +
    'Data-parallel training cannot go on without every rank: ' +
    `the step failed on all ${workers.length} ranks and the group was stopped.` +
    (others.length > 0 ? `\nThe other ranks said: ${others.join('; ')}` : '');
  throw new DdpError(
    message,
    cause.rank,
    step,
    own.map(({ rank, error }) => ({ rank, error })),
  );
}
