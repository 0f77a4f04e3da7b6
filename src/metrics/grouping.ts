// Which runs may be averaged together (docs/measurement.md, "Grouping"): runs are pooled only when
// every input that changes what they measure is the same. Pure: run.json in, keys and labels out.
//
// - The section inputs (one table section, one figure): workload, scale, segments, epochs, the
//   configs, and every workload option.
// - The row inputs (one row, one bar): the approach, its options (every declared one, defaults
//   included), engine threads, the code version (git sha, dirty flag) and the machine (each field
//   of the environment fingerprint that describes hardware or software versions).
// The seed is not an input here: repeats of a run are the same inputs, whatever seed they used.
import { createHash } from 'node:crypto';
import type { Environment, RunInfo } from '../core/records.js';

/** Fingerprint fields that say which code ran. */
export const CODE_FIELDS = ['gitSha', 'gitDirty'] as const;
/** Fingerprint fields that say which machine and software versions it ran on. */
export const MACHINE_FIELDS = [
  'cpuModel',
  'cpuCores',
  'memoryBytes',
  'gpu',
  'os',
  'node',
  'python',
  'torch',
  'postgres',
] as const;

export type Inputs = Record<string, string>;

function prefixed(prefix: string, values: Readonly<Record<string, unknown>>): Inputs {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [`${prefix}${key}`, String(value)]));
}

function environmentValue(env: Environment, field: (typeof MACHINE_FIELDS)[number]): string {
  const value = env[field];
  return value === null ? 'none' : String(value);
}

/** Inputs shared by every row of a table section or figure. */
export function sectionInputs(info: RunInfo): Inputs {
  return {
    workload: info.workload,
    scale: info.scale,
    segments: String(info.segments),
    epochs: String(info.epochs),
    configs: createHash('sha1').update(JSON.stringify(info.configs)).digest('hex').slice(0, 12),
    ...prefixed('workload option ', info.workloadOptions ?? {}),
  };
}

/** Inputs that tell the rows of one section apart. */
export function rowInputs(info: RunInfo): Inputs {
  const env = info.environment;
  return {
    approach: info.approach,
    ...prefixed('', info.options),
    threads: info.threads === undefined ? 'unrecorded' : String(info.threads),
    code: `${env.gitSha.slice(0, 10)}${env.gitDirty ? '+dirty' : ''}`,
    ...Object.fromEntries(MACHINE_FIELDS.map((f) => [`machine ${f}`, environmentValue(env, f)])),
  };
}

/** A stable key of a set of inputs. */
export function inputsKey(inputs: Inputs): string {
  return JSON.stringify(Object.entries(inputs).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The inputs whose values are not the same in every one of `all`. A key some lack counts, by
 * default, only among those that have it (an option of one approach never names the rows of
 * another); with `absentDiffers`, lacking it is a value of its own (a workload option set in one
 * section and not in another).
 */
export function varyingInputs(all: readonly Inputs[], absentDiffers = false): string[] {
  const keys = [...new Set(all.flatMap((i) => Object.keys(i)))];
  const valuesOf = (key: string): (string | undefined)[] =>
    absentDiffers ? all.map((i) => i[key]) : all.filter((i) => key in i).map((i) => i[key]);
  return keys.filter((key) => new Set(valuesOf(key)).size > 1).sort();
}

/** "compression=none, threads=1, code 1a2b3c4d5e": the named inputs of one row or section. */
export function describeInputs(inputs: Inputs, keys: readonly string[]): string {
  return keys
    .filter((key) => key in inputs)
    .map((key) => (key === 'code' || key.startsWith('machine ') ? `${key} ${inputs[key]}` : `${key}=${inputs[key]}`))
    .join(', ');
}
