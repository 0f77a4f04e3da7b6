// Data-parallel training over 2 engine workers (src/engine/ddp.ts, bench_engine/ddp.py), through
// torch's DistributedDataParallel (allreduce 'ddp') and the flat all-reduce ('flat'): the replicas
// stay identical, the loss falls, the gradient bytes are exactly steps x gradient bytes per rank
// (plus the small control reductions), and a killed rank fails the step at once with an error that
// names it, instead of hanging its peer. No database: tiny synthetic shards, 1 thread per worker.
import { afterAll, describe, expect, it } from 'vitest';
import { EpochBook } from '../../src/core/epoch-book.js';
import type { RunEvent, Span, TrainEvent } from '../../src/core/events.js';
import type { ModelConfig, ResolvedWorkload } from '../../src/core/workload.js';
import { DDP_ALLREDUCE, DdpError, DdpGroup, type DdpContext } from '../../src/engine/ddp.js';
import { shardSource } from '../../src/engine/fleet.js';
import type { PackedBuffer } from '../../src/engine/messages.js';
import { learnableBuffers } from './synthetic.js';

// A Criteo-shaped dataset of 13 * 1 + 26 * 1 = 39 features.
const FEATURES = 39;
const mlp = (id: number, learningRate: number): ModelConfig => ({
  id,
  arch: 'mlp',
  batchSize: 32,
  learningRate,
  l2: 1e-4,
  hidden: [16],
  label: `mlp ${id}`,
});
const CONFIGS = [mlp(0, 0.01), mlp(1, 0.003)];
// 39 * 16 + 16 + 16 * 2 + 2
const PARAMS = 674;

function workload(epochs: number, configs: ModelConfig[]): ResolvedWorkload {
  return {
    id: 'ddp-test',
    scale: 'tiny',
    datasetName: 'ddp_test',
    dataset: {
      kind: 'criteo',
      trainRows: 0,
      validRows: 0,
      intBuckets: 1,
      hashBuckets: 1,
      rowsPerBuffer: 128,
      labelNoise: 0,
    },
    configs,
    epochs,
    seed: 1,
  };
}

function context(
  epochs: number,
  ranks: number,
  configs: ModelConfig[] = CONFIGS,
): { ctx: DdpContext; events: RunEvent[]; pids: number[] } {
  const events: RunEvent[] = [];
  const pids: number[] = [];
  const emit = (event: TrainEvent): void => {
    events.push(event);
  };
  const ctx: DdpContext = {
    workload: workload(epochs, configs),
    threads: 1,
    emit,
    log: (message) => emit({ type: 'log', level: 'info', message, at: Date.now() }),
    trackPid: (pid) => pids.push(pid),
    epochs: new EpochBook(emit, { configs: configs.length, segments: ranks }),
  };
  return { ctx, events, pids };
}

const valid = learnableBuffers(1, 256, FEATURES, 99);
const source = (train: PackedBuffer[]) =>
  shardSource(
    async () => train,
    async () => valid,
  );

const groups: DdpGroup[] = [];
afterAll(async () => {
  await Promise.all(groups.map((g) => g.close()));
});

describe('DdpGroup', () => {
  it.each(DDP_ALLREDUCE)(
    'trains every config on 2 ranks in lock step (allreduce %s): identical replicas, falling loss, exact bytes',
    async (allreduce) => {
      const epochs = 3;
      const { ctx, events, pids } = context(epochs, 2);
      // Rank 1's shard has an extra buffer of 40 examples (2 more mini-batches): both ranks train
      // rank 0's 12 mini-batches and rank 1 drops its last 2.
      const shards = [
        learnableBuffers(3, 128, FEATURES, 1),
        [...learnableBuffers(3, 128, FEATURES, 2), ...learnableBuffers(1, 40, FEATURES, 3)],
      ];
      const group = await DdpGroup.start(ctx, shards.map(source), { timeoutSeconds: 60, allreduce });
      groups.push(group);
      expect(group.size).toBe(2);
      expect(group.backend).toBe('gloo');
      expect(group.allreduce).toBe(allreduce);
      expect(pids).toEqual(expect.arrayContaining(group.pids()));
      const etlSpans = events.filter((e): e is Span => e.type === 'span');
      expect(
        etlSpans
          .filter((s) => s.kind === 'engine-init')
          .map((s) => s.segment)
          .sort(),
      ).toEqual([0, 0, 1, 1]); // spawn + process group
      expect(etlSpans.filter((s) => s.kind === 'data')).toHaveLength(4);
      expect(events.filter((e) => e.type === 'counter' && e.transport === 'pipe')).toHaveLength(4);

      for (let epoch = 0; epoch < epochs; epoch++) {
        for (let config = 0; config < CONFIGS.length; config++) {
          const result = await group.trainEpoch(config, epoch);
          expect(result.steps).toBe(12);
          for (const [rank, reply] of result.ranks.entries()) {
            expect(reply.batches).toBe(12);
            expect(reply.localBatches).toBe(rank === 0 ? 12 : 14);
            expect(reply.droppedExamples).toBe(rank === 0 ? 0 : 40);
            expect(reply.examples).toBe(3 * 128);
            expect(reply.paramCount).toBe(PARAMS);
            expect(reply.allreduce).toBe(allreduce);
            // The whole float32 gradient all-reduced every step (one bucket: a small model)...
            expect(reply.gradientBytes).toBe(reply.steps * PARAMS * 4);
            expect(reply.gradientCalls).toBe(reply.steps);
            // ...plus the batch-count agreement (one int64), and in the first epoch the replica check (6 float64).
            expect(reply.controlBytes).toBe(8 + (epoch === 0 ? 48 : 0));
            expect(reply.allreduceBytes).toBe(reply.gradientBytes + reply.controlBytes);
            // DistributedDataParallel's constructor broadcasts rank 0's parameters once.
            expect(reply.broadcastBytes).toBe(allreduce === 'ddp' && epoch === 0 ? PARAMS * 4 : 0);
            expect(reply.allreduceSeconds).toBeGreaterThan(0);
            expect(reply.allreduceSeconds).toBeLessThanOrEqual(result.trainSeconds[rank] + 0.01);
          }
          expect(result.allreduceBytes).toBe(result.ranks.reduce((a, r) => a + r.allreduceBytes + r.broadcastBytes, 0));
          const [a, b] = await group.checksums(config);
          expect(a).toBe(b);
        }
        await group.validateAll(epoch);
      }

      const spans = events.filter((e): e is Span => e.type === 'span' && e.epoch !== undefined);
      // One 'train' span per (rank, config, epoch), communication included.
      expect(spans.filter((s) => s.kind === 'train')).toHaveLength(2 * CONFIGS.length * epochs);
      expect(spans.filter((s) => s.kind === 'valid')).toHaveLength(CONFIGS.length * epochs);
      const counters = events.filter((e) => e.type === 'counter' && e.transport === 'allreduce');
      expect(counters).toHaveLength(2 * CONFIGS.length * epochs);
      const units = events.filter((e) => e.type === 'unit');
      expect(units).toHaveLength(2 * CONFIGS.length * epochs);
      expect(new Set(units.map((u) => (u.type === 'unit' ? `${u.config}/${u.segment}/${u.epoch}` : ''))).size).toBe(
        units.length,
      );

      const metrics = events.filter((e) => e.type === 'epoch');
      expect(metrics).toHaveLength(CONFIGS.length * epochs);
      for (const config of CONFIGS) {
        const curve = metrics
          .filter((m) => m.type === 'epoch' && m.config === config.id)
          .sort((x, y) => (x.type === 'epoch' && y.type === 'epoch' ? x.epoch - y.epoch : 0));
        const first = curve[0];
        const last = curve[curve.length - 1];
        if (first.type !== 'epoch' || last.type !== 'epoch') throw new Error('unreachable');
        expect(first.trainExamples).toBe(2 * 3 * 128);
        expect(last.validLoss).toBeLessThan(first.validLoss);
        expect(last.trainLoss).toBeLessThan(first.trainLoss);
      }
      const best = metrics.reduce((acc, m) => (m.type === 'epoch' ? Math.max(acc, m.validAccuracy) : acc), 0);
      expect(best).toBeGreaterThan(0.8);
    },
  );

  it('fails the step at once with an error naming a rank that was killed before it', async () => {
    const { ctx } = context(1, 2);
    const shards = [learnableBuffers(2, 128, FEATURES, 1), learnableBuffers(2, 128, FEATURES, 2)];
    const group = await DdpGroup.start(ctx, shards.map(source), { timeoutSeconds: 120 });
    groups.push(group);
    await group.trainEpoch(0, 0);
    const victim = group.rankWorkers[1];
    victim.kill();
    await victim.waitForExit();

    const started = Date.now();
    const step = group.trainEpoch(1, 0);
    await expect(step).rejects.toThrow(DdpError);
    await expect(step).rejects.toThrow(
      new RegExp(
        /rank 1 \(seg1\) failed while training config 1 in epoch 0/.source +
          /[\s\S]*killed by SIGKILL[\s\S]*cannot go on without every rank/.source,
      ),
    );
    await expect(step).rejects.toMatchObject({ rank: 1 });
    expect(Date.now() - started).toBeLessThan(30_000);
    // Every worker is stopped and the group stays failed.
    expect(group.rankWorkers.every((w) => !w.alive)).toBe(true);
    await expect(group.validateAll(0)).rejects.toThrow(/rank 1 \(seg1\) failed/);
    await group.close();
  });

  it('fails the step, not hangs, when a rank dies in the middle of its all-reduces', async () => {
    // A wide MLP (1.1 M parameters: milliseconds per step) over 512 mini-batches: the kill lands mid-epoch.
    const { ctx } = context(1, 2, [{ ...mlp(0, 0.001), hidden: [1024, 1024] }]);
    const shards = [learnableBuffers(64, 256, FEATURES, 1), learnableBuffers(64, 256, FEATURES, 2)];
    const group = await DdpGroup.start(ctx, shards.map(source), { timeoutSeconds: 120, failureGraceMs: 5000 });
    groups.push(group);
    const started = Date.now();
    const step = group.trainEpoch(0, 0);
    const outcome = step.then(
      () => 'finished',
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    group.rankWorkers[0].kill();
    const error = await outcome;
    expect(error).toBeInstanceOf(DdpError);
    expect((error as DdpError).rank).toBe(0);
    expect((error as Error).message).toMatch(
      /rank 0 \(seg0\) failed while training config 0 in epoch 0[\s\S]*killed by SIGKILL/,
    );
    // The survivor's own complaint (gloo saw its peer's sockets close) is reported beside it.
    expect((error as Error).message).toMatch(/The other ranks said: rank 1: .*'ddp_train' failed/);
    expect(Date.now() - started).toBeLessThan(30_000);
    await group.close();
  });

  it('times a collective out when a live rank does not take part', async () => {
    const { ctx } = context(1, 2);
    const shards = [learnableBuffers(2, 128, FEATURES, 1), learnableBuffers(2, 128, FEATURES, 2)];
    const group = await DdpGroup.start(ctx, shards.map(source), { timeoutSeconds: 3 });
    groups.push(group);
    // Only rank 0 is asked to train: its first all_reduce waits for rank 1 until the timeout.
    const started = Date.now();
    const lonely = group.rankWorkers[0].request({ op: 'ddp_train', config: CONFIGS[0], seed: 1, epoch: 0 });
    await expect(lonely).rejects.toThrow(/'ddp_train' failed: RuntimeError: .*[Tt]imed out/);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThan(2_500);
    expect(waited).toBeLessThan(30_000);
    await group.close();
  });
});
