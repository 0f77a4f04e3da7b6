// The environment fingerprint of a run (docs/architecture.md, "Run folder"): what must match for two runs to be
// compared.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { withClient } from '../db/connect.js';
import type { Topology } from '../db/topology.js';
import { repoRoot } from '../core/paths.js';
import type { Environment } from '../core/records.js';

const run = promisify(execFile);

/** Where a run's engine trains: engine worker processes, or PostgreSQL backends (PL/Python). */
export type EngineLocation = 'workers' | 'backends';

/** The interpreter engine workers run under (as src/engine/engine-python.ts chooses it). */
function workerPython(): string {
  return process.env.BENCH_PYTHON || '/usr/bin/python3';
}

async function output(command: string, args: string[], cwd?: string): Promise<string | undefined> {
  try {
    return (await run(command, args, { cwd })).stdout.trim();
  } catch {
    return undefined;
  }
}

const FINGERPRINT_SETTINGS = [
  'server_version',
  'jit',
  'shared_buffers',
  'synchronous_commit',
  'max_parallel_workers_per_gather',
  'enable_partitionwise_join',
  'enable_partitionwise_aggregate',
];

/**
 * The CPUs this process may run on, as Linux lists them (/proc/self/status Cpus_allowed_list,
 * what `taskset -p` and sched_getaffinity report); undefined where there is no such file.
 */
export function cpuAffinity(statusPath = '/proc/self/status'): string | undefined {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(statusPath, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** The Python and torch versions of the engine where it trains: the worker interpreter, or a segment backend. */
async function engineVersions(topology: Topology, engine: EngineLocation): Promise<{ python: string; torch: string }> {
  if (engine === 'backends') {
    const segment = topology.segments[0] ?? topology.coordinator;
    try {
      return await withClient(segment, async (client) => {
        const { rows } = await client.query<{ v: string }>('SELECT bench_engine_versions() AS v');
        return JSON.parse(rows[0].v) as { python: string; torch: string };
      });
    } catch (error) {
      return { python: 'unavailable', torch: `unavailable: ${(error as Error).message}` };
    }
  }
  const probe = 'import sys, torch; print(sys.version.split()[0], torch.__version__)';
  const versions = await output(workerPython(), ['-c', probe]);
  const [python, torch] = (versions ?? 'unavailable unavailable').split(' ');
  return { python, torch };
}

export async function captureEnvironment(topology: Topology, engine: EngineLocation = 'workers'): Promise<Environment> {
  const root = repoRoot();
  const [sha, dirty, versions, gpu] = await Promise.all([
    output('git', ['rev-parse', 'HEAD'], root),
    output('git', ['status', '--porcelain', '--untracked-files=no'], root),
    engineVersions(topology, engine),
    existsSync('/usr/bin/nvidia-smi')
      ? output('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'])
      : Promise.resolve(undefined),
  ]);
  const { python: pythonVersion, torch: torchVersion } = versions;
  const settings = await withClient(topology.coordinator, async (client) => {
    const { rows } = await client.query<{ name: string; setting: string }>(
      'SELECT name, setting FROM pg_settings WHERE name = ANY($1)',
      [FINGERPRINT_SETTINGS],
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  });
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const packages: Record<string, string> = {};
  for (const name of Object.keys(pkg.dependencies)) {
    const path = join(root, 'node_modules', name, 'package.json');
    if (existsSync(path)) packages[name] = (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  }
  return {
    gitSha: sha ?? 'unknown',
    gitDirty: (dirty ?? '').length > 0,
    node: process.version,
    python: pythonVersion,
    torch: torchVersion,
    postgres: settings.server_version ?? 'unknown',
    postgresSettings: settings,
    os: `${type()} ${release()}`,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCores: cpus().length,
    cpuAffinity: cpuAffinity(),
    memoryBytes: totalmem(),
    gpu: gpu ? gpu.split('\n')[0] : null,
    packages,
  };
}
