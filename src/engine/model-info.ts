// What the engine says about a workload's models without training them: each config's parameter
// count, computed by torch from the model the engine would build (bench_engine.models, op
// 'param_count'), for the run's summary and reports (the paper's model sizes).
import { classCount, featureShape, type ModelConfig, type ResolvedWorkload } from '../core/workload.js';
import { EngineWorker } from './worker.js';

interface ParamCountReply {
  ok: true;
  paramCounts: number[];
}

/** Each config's parameter count by config id, asked of a running worker. */
export async function requestParameterCounts(
  worker: EngineWorker,
  configs: readonly ModelConfig[],
  inputShape: readonly number[],
  classes: number,
): Promise<Map<number, number>> {
  const { header } = await worker.request<ParamCountReply>({ op: 'param_count', configs, inputShape, classes });
  return new Map(configs.map((c, i) => [c.id, header.paramCounts[i]]));
}

/**
 * Each config's parameter count by config id, from a worker spawned for the purpose (importing
 * torch takes 1-3 s; building a paper-scale VGG16 about 2 s more, once per architecture).
 */
export async function parameterCounts(
  workload: Pick<ResolvedWorkload, 'configs' | 'dataset'>,
  threads = 1,
): Promise<Map<number, number>> {
  const worker = await EngineWorker.spawn({ threads, label: 'param-count' });
  const { configs, dataset } = workload;
  try {
    return await requestParameterCounts(worker, configs, featureShape(dataset), classCount(dataset));
  } finally {
    await worker.close();
  }
}
