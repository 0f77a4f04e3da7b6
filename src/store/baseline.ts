// Stored baselines (docs/ci.md, "Baselines"): `bench baseline save NAME RUNS...` keeps what
// `bench compare` needs of each run (its ComparableRun: the work, the environment, the times and
// the raw loop's throughput) in one small JSON file, so a CI job can cache it or commit it and
// compare later runs with `bench compare --baseline-name NAME`.
//
// Where: <dir>/<NAME>.json, dir = --dir, else BENCH_BASELINES, else <BENCH_HOME or .bench>/baselines.
// A NAME that ends in .json or holds a path separator is a file path instead.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { benchHome } from '../core/paths.js';
import { comparableRunSchema, type ComparableRun } from '../metrics/compare.js';

export const BASELINE_FORMAT = 'bench-baseline';
export const BASELINE_VERSION = 1;

export const baselineSchema = z.object({
  format: z.literal(BASELINE_FORMAT),
  version: z.literal(BASELINE_VERSION),
  name: z.string(),
  createdAt: z.string(),
  runs: z.array(comparableRunSchema),
});
export type Baseline = z.infer<typeof baselineSchema>;

export class BaselineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BaselineError';
  }
}

export function defaultBaselineDir(): string {
  return process.env.BENCH_BASELINES ? resolve(process.env.BENCH_BASELINES) : join(benchHome(), 'baselines');
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The file a baseline name stands for (see the header). */
export function baselinePath(name: string, dir: string = defaultBaselineDir()): string {
  if (name.endsWith('.json') || name.includes('/') || name.includes(sep)) return resolve(name);
  if (!NAME.test(name)) {
    throw new BaselineError(
      `baseline name "${name}" must be letters, digits, '.', '_' or '-' (or a path to a .json file)`,
    );
  }
  return join(resolve(dir), `${name}.json`);
}

/** Writes the baseline; refuses incomplete runs and an empty list. Resolves with the file written. */
export function saveBaseline(
  name: string,
  runs: readonly ComparableRun[],
  options: { dir?: string; now?: Date } = {},
): string {
  if (runs.length === 0) throw new BaselineError('a baseline needs at least one run');
  const incomplete = runs.filter((r) => r.status !== 'complete');
  if (incomplete.length > 0) {
    throw new BaselineError(
      `only complete runs make a baseline; incomplete: ${incomplete.map((r) => `${r.runId} (${r.source})`).join(', ')}`,
    );
  }
  const path = baselinePath(name, options.dir);
  const baseline: Baseline = {
    format: BASELINE_FORMAT,
    version: BASELINE_VERSION,
    name: basename(path, '.json'),
    createdAt: (options.now ?? new Date()).toISOString(),
    runs: [...runs],
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(baseline, null, 2) + '\n');
  return path;
}

/** Parses a baseline file's text; throws a BaselineError naming the file and the problem. */
export function parseBaseline(text: string, file: string): Baseline {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BaselineError(`${file}: not JSON (${(error as Error).message})`);
  }
  const parsed = baselineSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.length > 0 ? i.path.join('.') + ': ' : ''}${i.message}`);
    throw new BaselineError(
      `${file}: not a bench baseline (${issues.join('; ')}); write one with \`bench baseline save\``,
    );
  }
  return parsed.data;
}

/** Reads a baseline by name (or path); every run's source names the baseline file. */
export function loadBaseline(name: string, dir?: string): Baseline {
  const path = baselinePath(name, dir);
  if (!existsSync(path)) {
    const where = dirname(path);
    const known = listBaselines(where);
    throw new BaselineError(
      `no baseline ${name} at ${path}${known.length > 0 ? ` (baselines there: ${known.join(', ')})` : ''}; ` +
        `save one with \`bench baseline save ${name} RUNS...\``,
    );
  }
  const baseline = parseBaseline(readFileSync(path, 'utf8'), path);
  return { ...baseline, runs: baseline.runs.map((r) => ({ ...r, source: `${path}#${r.runId}` })) };
}

/** The names of the baselines in dir. */
export function listBaselines(dir: string = defaultBaselineDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}
