// The workload registry: Table 5's grids and the drill-downs of section 5.2, each resolvable at
// every scale preset (docs/architecture.md, "Adding a workload").
import type { ResolvedWorkload, ScaleName } from '../src/core/workload.js';
import { SCALES } from '../src/core/workload.js';
import { criteoWorkload } from './definitions/criteo.js';
import { heteroWorkload } from './definitions/hetero.js';
import { hyperoptWorkload } from './definitions/hyperopt.js';
import { imagenetWorkload } from './definitions/imagenet.js';
import { modelsizeWorkload } from './definitions/modelsize.js';
import { scalabilityWorkload } from './definitions/scalability.js';
import type { BenchWorkloadDefinition, WorkloadOptions } from './grid.js';
import { isScale } from './presets.js';

export type { BenchWorkloadDefinition, WorkloadOptions } from './grid.js';

export const WORKLOADS: Record<string, BenchWorkloadDefinition> = {
  criteo: criteoWorkload,
  imagenet: imagenetWorkload,
  hetero: heteroWorkload,
  modelsize: modelsizeWorkload,
  scalability: scalabilityWorkload,
  hyperopt: hyperoptWorkload,
};

export const WORKLOAD_IDS = Object.keys(WORKLOADS);

export function getWorkload(id: string): BenchWorkloadDefinition {
  const def = Object.hasOwn(WORKLOADS, id) ? WORKLOADS[id] : undefined;
  if (!def) throw new Error(`Unknown workload '${id}'. Valid workloads: ${WORKLOAD_IDS.join(', ')}`);
  return def;
}

/** A workload at one scale and seed. Options (e.g. hetero's `p`) that the workload does not read are ignored. */
export function resolveWorkload(id: string, scale: string, seed: number, options?: WorkloadOptions): ResolvedWorkload {
  const def = getWorkload(id);
  if (!isScale(scale)) throw new Error(`Unknown scale '${scale}'. Valid scales: ${SCALES.join(', ')}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`The seed must be an integer, got ${seed}`);
  return def.resolve(scale as ScaleName, seed, options);
}
