// From what a user typed to what the harness runs (docs/architecture.md, "A run"): the approach and
// workload looked up in their registries, and each `--option key=value` routed to whichever of the two
// declares it. A key that neither declares is an error that lists both sets.
import { searchRefusal, type Approach } from '../src/core/approach.js';
import { declares, didYouMean, optionKeys, type OptionValue } from '../src/core/options.js';
import type { ResolvedWorkload } from '../src/core/workload.js';
import { getWorkload, resolveWorkload } from '../workloads/index.js';
import { readOptions } from '../workloads/grid.js';
import { APPROACHES, getApproach } from './index.js';
import { runApproach, type RunRequest, type RunResult } from '../src/run/harness.js';

export interface RunSpec {
  approach: string;
  workload: string;
  scale: string;
  seed?: number;
  /** `--option` pairs for the approach and the workload together. */
  options?: Readonly<Record<string, OptionValue>>;
}

export interface ResolvedRunSpec {
  approach: Approach;
  workload: ResolvedWorkload;
  /** The options the approach declares (parsed by the harness). */
  approachOptions: Record<string, OptionValue>;
  /** Every option the workload declares, defaults filled in. */
  workloadOptions: Record<string, string>;
}

export function resolveRunSpec(spec: RunSpec): ResolvedRunSpec {
  const approach = getApproach(spec.approach);
  const definition = getWorkload(spec.workload);
  const approachOptions: Record<string, OptionValue> = {};
  const workloadGiven: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.options ?? {})) {
    if (Object.hasOwn(definition.options, key)) workloadGiven[key] = String(value);
    else if (declares(approach.options, key)) approachOptions[key] = value;
    else {
      const valid = [...optionKeys(approach.options), ...Object.keys(definition.options)];
      throw new Error(
        `neither approach ${approach.id} nor workload ${definition.id} has option "${key}"${didYouMean(key, valid)} ` +
          `(approach options: ${optionKeys(approach.options).join(', ') || 'none'}; ` +
          `workload options: ${Object.keys(definition.options).join(', ') || 'none'})`,
      );
    }
  }
  const workloadOptions = readOptions(definition.id, definition.options, workloadGiven, true);
  const workload = resolveWorkload(definition.id, spec.scale, spec.seed ?? 1, workloadOptions);
  const refusal = searchRefusal(approach, workload, searchingApproaches());
  if (refusal) throw new Error(refusal);
  return { approach, workload, approachOptions, workloadOptions };
}

/** The registered approaches that run a workload with a search (`Approach.searches`). */
export function searchingApproaches(): string[] {
  return Object.values(APPROACHES)
    .filter((a) => a.searches)
    .map((a) => a.id);
}

export type RunSpecRequest = RunSpec & Omit<RunRequest, 'approach' | 'workload' | 'options' | 'workloadOptions'>;

/** Resolve a spec of names and run it: what the CLI, studies, benchmarks and tests call. */
export async function runSpec(request: RunSpecRequest): Promise<RunResult> {
  const { approach, workload, scale, seed, options, ...rest } = request;
  const resolved = resolveRunSpec({ approach, workload, scale, seed, options });
  return runApproach({
    ...rest,
    approach: resolved.approach,
    workload: resolved.workload,
    options: resolved.approachOptions,
    workloadOptions: resolved.workloadOptions,
  });
}
