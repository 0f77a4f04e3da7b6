// Parameter counts from the engine: the Criteo MLP's by formula, the zoo's tiny members as torch
// counts them, paper-scale ResNet50 as published (25.6M; infra/engine/tests/test_models.py checks
// every paper-scale member).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classCount, featureShape, type ResolvedWorkload } from '../../src/core/workload.js';
import { parameterCounts, requestParameterCounts } from '../../src/engine/model-info.js';
import { EngineWorker } from '../../src/engine/worker.js';
import { resolveWorkload } from '../../workloads/index.js';

let worker: EngineWorker;
beforeAll(async () => {
  worker = await EngineWorker.spawn({ threads: 1, label: 'model-info' });
});
afterAll(async () => {
  await worker.close();
});

const countsOf = (w: Pick<ResolvedWorkload, 'configs' | 'dataset'>) =>
  requestParameterCounts(worker, w.configs, featureShape(w.dataset), classCount(w.dataset));

describe('parameter counts', () => {
  it('of the Criteo MLP, by config id (parameterCounts spawns its own worker)', async () => {
    const criteo = resolveWorkload('criteo', 'tiny', 1);
    const counts = await parameterCounts(criteo);
    expect([...counts.keys()]).toEqual(criteo.configs.map((c) => c.id));
    // 260 features -> 32 -> 16 -> 2, every config.
    expect(new Set(counts.values())).toEqual(new Set([260 * 32 + 32 + 32 * 16 + 16 + 16 * 2 + 2]));
  });

  it('of the zoo members of tiny ImageNet and of paper-scale ResNet50', async () => {
    const imagenet = resolveWorkload('imagenet', 'tiny', 1);
    const counts = await countsOf(imagenet);
    const byArch = new Map(imagenet.configs.map((c) => [c.arch, counts.get(c.id)]));
    // The members of workloads/zoo.ts at 3x16x16 and 4 classes (bench_engine.models).
    expect(byArch.get('vgg16')).toBe(359444);
    expect(byArch.get('resnet50')).toBe(128460);
    const paper = resolveWorkload('imagenet', 'paper', 1);
    const resnet50 = paper.configs.filter((c) => c.arch === 'resnet50').slice(0, 1);
    expect([...(await countsOf({ ...paper, configs: resnet50 })).values()]).toEqual([25_557_032]);
  });
});
