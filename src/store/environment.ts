// The environment fingerprint of a run (docs/architecture.md, "Run folder"): what must match for two runs to be compared.
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
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

async function output(command: string, args: string[], cwd?: string): Promise<string | undefined> {
  try {
    return (await run(command, args, { cwd })).stdout.trim();
  } catch {
    return undefined;
  }
}

const FINGERPRINT_SETTINGS = ['server_version', 'jit', 'shared_buffers', 'synchronous_commit', 'max_parallel_workers_per_gather', 'enable_partitionwise_join', 'enable_partitionwise_aggregate'];

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

export async function captureEnvironment(topology: Topology): Promise<Environment> {
  const root = repoRoot();
  const [sha, dirty, python, gpu] = await Promise.all([
    output('git', ['rev-parse', 'HEAD'], root),
    output('git', ['status', '--porcelain', '--untracked-files=no'], root),
    output(PYTHON, ['-c', 'import sys, torch; print(sys.version.split()[0], torch.__version__)']),
    existsSync('/usr/bin/nvidia-smi') ? output('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader']) : Promise.resolve(undefined),
  ]);
  const [pythonVersion, torchVersion] = (python ?? 'unavailable unavailable').split(' ');
  const settings = await withClient(topology.coordinator, async (client) => {
    const { rows } = await client.query<{ name: string; setting: string }>('SELECT name, setting FROM pg_settings WHERE name = ANY($1)', [FINGERPRINT_SETTINGS]);
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
