// The engine worker process: learning, checkpoints through the model store, bytes mode, errors
// and crashes. Everything tiny: 1 thread, a few hundred examples.
import { mkdtempSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/core/workload.js';
import { replySpans, type TrainReply } from '../../src/engine/messages.js';
import { ModelStore, readCheckpointHeader } from '../../src/engine/model-store.js';
import {
  EngineRequestError,
  EngineUnavailableError,
  EngineWorker,
  WorkerClosedError,
  WorkerCrashedError,
} from '../../src/engine/worker.js';
import { imageBuffers, learnableBuffers } from './synthetic.js';
import { zooMember } from '../../workloads/zoo.js';

const FEATURES = 16;
const MLP: ModelConfig = {
  id: 1,
  arch: 'mlp',
  batchSize: 32,
  learningRate: 0.01,
  l2: 1e-4,
  hidden: [16],
  label: 'tiny mlp',
};

let dir: string;
let worker: EngineWorker;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bench-engine-test-'));
  worker = await EngineWorker.spawn({ threads: 1, label: 'test' });
  await worker.load({
    dataset: 'train',
    inputShape: [FEATURES],
    classes: 2,
    buffers: learnableBuffers(4, 128, FEATURES, 1),
  });
  await worker.load({
    dataset: 'valid',
    inputShape: [FEATURES],
    classes: 2,
    buffers: learnableBuffers(1, 256, FEATURES, 2),
  });
});

afterAll(async () => {
  await worker?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('EngineWorker', () => {
  it('says hello with its pid, torch version and device', async () => {
    expect(worker.info.pid).toBe(worker.pid);
    expect(worker.info.torch).toMatch(/^\d+\.\d+/);
    expect(worker.info.device).toMatch(/^(cpu|cuda)/);
    expect(worker.info.threads).toBe(1);
    expect(worker.info.importSeconds).toBeGreaterThan(0);
    expect(worker.readyAt).toBeGreaterThanOrEqual(worker.spawnedAt);
  });

  it('trains a tiny MLP through the model store, one file per model version, and validation loss falls', async () => {
    const store = new ModelStore(join(dir, 'models'));
    const fresh = join(dir, 'fresh.pt');
    const init = await worker.init({ config: MLP, seed: 7, modelOut: fresh });
    expect(statSync(fresh).size).toBe(init.modelBytesOut);
    const before = await worker.validate({ config: MLP, modelIn: fresh });
    expect(before.examples).toBe(256);

    let last: TrainReply | undefined;
    for (let version = 1; version <= 4; version++) {
      const modelIn = version === 1 ? fresh : store.pathFor(MLP.id, version - 1);
      const modelOut = store.pathFor(MLP.id, version);
      const request = { config: MLP, seed: 7, modelIn, modelOut, epoch: version, modelVersion: version, segment: 0 };
      last = await worker.train(request);
      expect(last.examples).toBe(4 * 128);
      expect(last.steps).toBe(4 * 4);
      expect(last.modelVersion).toBe(version);
      expect(last.spans.map((s) => s.kind)).toEqual(['model-hop', 'train', 'model-hop']);
      expect(last.modelBytesOut).toBe(statSync(store.pathFor(MLP.id, version)).size);
      // The header carries the version; the file is whole.
      expect(readCheckpointHeader(store.pathFor(MLP.id, version)).units).toBe(version);
      expect(store.problemWith(MLP.id, version)).toBeUndefined();
    }
    expect(store.problemWith(MLP.id, 3)).toBeUndefined();
    expect(store.problemWith(MLP.id, 5)).toMatch(/checkpoint after 5 sub-epochs is missing/);
    const after = await worker.validate({ config: MLP, modelIn: store.pathFor(MLP.id, 4), epoch: 4 });
    expect(after.spans.map((s) => s.kind)).toEqual(['model-hop', 'valid']);
    expect(after.lossSum / after.examples).toBeLessThan((0.6 * before.lossSum) / before.examples);
    expect(after.correct / after.examples).toBeGreaterThan(0.85);
    expect(store.configs()).toEqual([MLP.id]);
    store.keepOnly(MLP.id, 4);
    expect(store.versions().map((v) => v.version)).toEqual([4]);

    const spans = replySpans(last!, { segment: 0, config: MLP.id, epoch: 4 });
    expect(spans[0]).toMatchObject({
      type: 'span',
      kind: 'model-hop',
      segment: 0,
      config: 1,
      epoch: 4,
      bytes: last!.modelBytesIn,
    });
    expect(spans[2].bytes).toBe(last!.modelBytesOut);
    for (const s of spans) expect(s.end).toBeGreaterThanOrEqual(s.start);
  });

  it('trains the same through files and through bytes (weights and optimizer state hop)', async () => {
    const path = join(dir, 'equiv.pt');
    const viaFile1 = await worker.train({ config: MLP, seed: 11, modelIn: null, modelOut: path, epoch: 1 });
    expect(viaFile1.spans[0].kind).toBe('engine-init');
    const viaFile2 = await worker.train({ config: MLP, seed: 11, modelIn: path, modelOut: path, epoch: 2 });
    const viaBytes1 = await worker.trainBytes({ config: MLP, seed: 11, epoch: 1 }, null);
    const viaBytes2 = await worker.trainBytes({ config: MLP, seed: 11, epoch: 2 }, viaBytes1.model);
    expect(viaBytes1.lossSum).toBe(viaFile1.lossSum);
    expect(viaBytes2.lossSum).toBe(viaFile2.lossSum);
    expect(viaBytes2.model.length).toBe(viaBytes2.modelBytesOut);
    expect(viaBytes2.modelBytesIn).toBe(viaBytes1.model.length);
    const validFile = await worker.validate({ config: MLP, modelIn: path });
    const validBytes = await worker.validateBytes({ config: MLP }, viaBytes2.model);
    expect(validBytes.lossSum).toBe(validFile.lossSum);
    expect(validBytes.correct).toBe(validFile.correct);
  });

  it('trains a step of each CNN family on 3x16x16 images', async () => {
    const cnn = await EngineWorker.spawn({ threads: 1, label: 'cnn' });
    try {
      await cnn.load({ dataset: 'train', inputShape: [3, 16, 16], classes: 4, buffers: imageBuffers(8, 16, 4, 3) });
      await cnn.load({ dataset: 'valid', inputShape: [3, 16, 16], classes: 4, buffers: imageBuffers(4, 16, 4, 4) });
      for (const arch of ['vgg16', 'resnet50', 'mobilenetv2'] as const) {
        const config: ModelConfig = {
          id: 2,
          ...zooMember(arch, 'tiny'),
          batchSize: 4,
          learningRate: 1e-3,
          l2: 1e-4,
          label: arch,
        };
        const first = await cnn.trainBytes({ config, seed: 1, epoch: 1 }, null);
        expect(first.steps).toBe(2);
        expect(Number.isFinite(first.lossSum)).toBe(true);
        const second = await cnn.trainBytes({ config, seed: 1, epoch: 2 }, first.model);
        expect(second.examples).toBe(8);
        const valid = await cnn.validateBytes({ config }, second.model);
        expect(valid.examples).toBe(4);
      }
    } finally {
      await cnn.close();
    }
  });

  it('reports a diverged loss as NaN instead of breaking the protocol', async () => {
    const wild: ModelConfig = { ...MLP, id: 9, learningRate: 1e30 };
    const reply = await worker.trainBytes({ config: wild, seed: 3, epoch: 1 }, null);
    expect(reply.lossSum).toBeNaN();
    const valid = await worker.validateBytes({ config: wild }, reply.model);
    expect(valid.lossSum).toBeNaN();
    expect((await worker.hello()).ok).toBe(true);
  });

  it('answers a failed request with EngineRequestError and keeps serving', async () => {
    await expect(worker.request({ op: 'no-such-op' })).rejects.toThrow(EngineRequestError);
    const missing = worker.validate({ config: MLP, modelIn: join(dir, 'missing.pt') });
    await expect(missing).rejects.toThrow(/missing\.pt/);
    await expect(missing).rejects.toMatchObject({ op: 'validate', traceback: expect.stringContaining('Traceback') });
    await expect(
      worker.load({ dataset: 'train', inputShape: [FEATURES + 1], classes: 2, buffers: [] }),
    ).rejects.toThrow(/clear it/);
    expect((await worker.hello()).pid).toBe(worker.pid);
    expect(worker.bytesSent).toBeGreaterThan(4 * 128 * FEATURES * 4);
    expect(worker.bytesReceived).toBeGreaterThan(0);
  });
});

describe('EngineWorker failures', () => {
  it('rejects the pending and later requests with WorkerCrashedError when the process exits', async () => {
    const w = await EngineWorker.spawn({ threads: 1, label: 'crashy' });
    const pending = w.request({ op: 'debug_exit', code: 42 });
    const queued = w.hello();
    await expect(pending).rejects.toThrow(WorkerCrashedError);
    await expect(pending).rejects.toThrow(/exited with code 42[\s\S]*debug_exit requested/);
    await expect(queued).rejects.toThrow(WorkerCrashedError);
    await expect(w.hello()).rejects.toMatchObject({ name: 'WorkerCrashedError', code: 42 });
    expect(w.alive).toBe(false);
    await w.close();
  });

  it('rejects a pending request when the worker is killed by its pid', async () => {
    const w = await EngineWorker.spawn({ threads: 1, label: 'victim' });
    await w.load({
      dataset: 'train',
      inputShape: [FEATURES],
      classes: 2,
      buffers: learnableBuffers(2, 64, FEATURES, 5),
    });
    const pending = w.train({ config: MLP, seed: 1, modelIn: null, modelOut: join(dir, 'victim.pt'), epoch: 1 });
    process.kill(w.pid, 'SIGKILL');
    await expect(pending).rejects.toMatchObject({ name: 'WorkerCrashedError', signal: 'SIGKILL' });
    await expect(
      w.train({ config: MLP, seed: 1, modelIn: null, modelOut: join(dir, 'victim.pt'), epoch: 1 }),
    ).rejects.toThrow(WorkerCrashedError);
  });

  it('closes cleanly; later requests reject with WorkerClosedError', async () => {
    const w = await EngineWorker.spawn({ threads: 1, label: 'closing' });
    const before = w.hello();
    await w.close();
    await expect(before).resolves.toMatchObject({ ok: true });
    expect(w.alive).toBe(false);
    await expect(w.hello()).rejects.toThrow(WorkerClosedError);
  });

  it('says how to install the engine when Python is missing', async () => {
    const error = await EngineWorker.spawn({ threads: 1, python: '/nonexistent/python3' }).catch((e) => e);
    expect(error).toBeInstanceOf(EngineUnavailableError);
    expect(error.message).toMatch(/\/nonexistent\/python3[\s\S]*bash infra\/setup\.sh/);
  });

  it('says how to install the engine when torch is missing', async () => {
    const fake = join(dir, 'no-torch');
    mkdirSync(join(fake, 'torch'), { recursive: true });
    writeFileSync(join(fake, 'torch', '__init__.py'), "raise ImportError('simulated: no torch here')\n");
    const error = await EngineWorker.spawn({ threads: 1, env: { PYTHONPATH: fake } }).catch((e) => e);
    expect(error).toBeInstanceOf(EngineUnavailableError);
    expect(error.message).toMatch(/apt-get install python3-torch/);
    expect(error.message).toMatch(/simulated: no torch here/);
  });
});
