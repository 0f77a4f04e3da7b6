// Where the Python engine lives and how to start it (docs/architecture.md, "Vocabulary": the engine).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Problem } from '../core/approach.js';

/** Debian's interpreter: `python3` on PATH may be a pyenv build that cannot import Debian's torch. */
export const DEFAULT_PYTHON = '/usr/bin/python3';

/** The interpreter the engine runs under: BENCH_PYTHON when set, else /usr/bin/python3. */
export function enginePython(): string {
  return process.env.BENCH_PYTHON || DEFAULT_PYTHON;
}

/** infra/engine: the directory holding the `bench_engine` package (goes on PYTHONPATH). */
export const ENGINE_PYTHONPATH = fileURLToPath(new URL('../../infra/engine', import.meta.url));

/** The command that installs what the engine needs. */
export const ENGINE_INSTALL_FIX =
  'bash infra/setup.sh (or: apt-get install python3-torch python3-torchvision python3-numpy libopenblas0-openmp)';

export interface EngineEnvOptions {
  /** Threads for torch / OpenMP / OpenBLAS in the process. */
  threads?: number;
  /** Environment to extend (default process.env). */
  base?: NodeJS.ProcessEnv;
}

/** The environment of an engine process: PYTHONPATH with infra/engine first, thread counts,
 * unbuffered output, no bytecode files written into the repository. */
export function engineEnv(options: EngineEnvOptions = {}): NodeJS.ProcessEnv {
  const base = options.base ?? process.env;
  const env: NodeJS.ProcessEnv = { ...base };
  env.PYTHONPATH = base.PYTHONPATH ? `${ENGINE_PYTHONPATH}:${base.PYTHONPATH}` : ENGINE_PYTHONPATH;
  env.PYTHONUNBUFFERED = '1';
  env.PYTHONDONTWRITEBYTECODE = '1';
  if (options.threads !== undefined) {
    const n = String(Math.max(1, Math.floor(options.threads)));
    env.BENCH_ENGINE_THREADS = n;
    env.OMP_NUM_THREADS = n;
    env.OPENBLAS_NUM_THREADS = n;
    env.MKL_NUM_THREADS = n;
  }
  return env;
}

/** What is missing for the engine on this machine (empty when it can run). */
export async function checkEngine(python: string = enginePython()): Promise<Problem[]> {
  if (python.includes('/') && !existsSync(python)) {
    return [{ message: `Python not found at ${python} (set BENCH_PYTHON to use another)`, fix: ENGINE_INSTALL_FIX }];
  }
  const probe = 'import torch, numpy, bench_engine.trainer; print(torch.__version__)';
  const result = await new Promise<{ code: number | null; stderr: string; error?: Error }>((resolve) => {
    const child = spawn(python, ['-c', probe], { env: engineEnv({ threads: 1 }), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (error) => resolve({ code: null, stderr, error }));
    child.on('close', (code) => resolve({ code, stderr }));
  });
  if (result.error) {
    return [{ message: `cannot run ${python}: ${result.error.message}`, fix: ENGINE_INSTALL_FIX }];
  }
  if (result.code !== 0) {
    const last = result.stderr.trim().split('\n').slice(-1)[0] ?? '';
    return [
      { message: `${python} cannot import the engine (torch, numpy, bench_engine): ${last}`, fix: ENGINE_INSTALL_FIX },
    ];
  }
  return [];
}
