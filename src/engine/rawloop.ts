// Runs the raw engine loop (`python3 -m bench_engine.rawloop`): the baseline the approaches'
// training throughput is compared with.
import { spawn } from 'node:child_process';
import type { ModelConfig } from '../core/workload.js';
import { engineEnv, enginePython } from './engine-python.js';
import { parseHeader } from './protocol.js';

export interface RawLoopOptions {
  /** An engine data file (data-file.ts). */
  data: string;
  config: Omit<ModelConfig, 'id' | 'label'> & Partial<Pick<ModelConfig, 'id' | 'label'>>;
  threads: number;
  epochs: number;
  seed?: number;
  env?: NodeJS.ProcessEnv;
  python?: string;
}

export interface RawLoopResult {
  examples: number;
  trainSeconds: number;
  examplesPerSecond: number;
  epochs: number;
  epochSeconds: number[];
  lossSum: number;
  threads: number;
  device: string;
}

export async function runRawLoop(options: RawLoopOptions): Promise<RawLoopResult> {
  const python = options.python ?? enginePython();
  const args = [
    '-m',
    'bench_engine.rawloop',
    '--data',
    options.data,
    '--config',
    JSON.stringify(options.config),
    '--threads',
    String(options.threads),
    '--epochs',
    String(options.epochs),
    '--seed',
    String(options.seed ?? 0),
  ];
  const env = engineEnv({ threads: options.threads, base: { ...process.env, ...options.env } });
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(
          new Error(
            `bench_engine.rawloop exited with code ${code}: ${stderr.trim().split('\n').slice(-10).join('\n')}`,
          ),
        );
        return;
      }
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(parseHeader<RawLoopResult>(line));
      } catch {
        reject(new Error(`bench_engine.rawloop printed no result: ${stdout}${stderr}`));
      }
    });
  });
}
