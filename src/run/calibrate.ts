// The calibration of a run (docs/ci.md, "Ratios to the raw loop"): the raw engine loop measured in
// the same run, on the same machine, a moment before execution, so that `bench compare --metric
// ratio-to-raw` can divide the run's times by how fast this machine trains the same configs.
//
// One `python3 -m bench_engine.calibrate` process per worker, all at once (as the approaches'
// workers run), each with the run's engine threads, trains every config of the workload on
// synthetic data of the workload's shape for about BENCH_CALIBRATION_SECONDS of train-loop time
// (default 1; 0 turns calibration off). Process start-up (importing torch) is not measured.
import { spawn } from 'node:child_process';
import type { RunContext } from '../core/approach.js';
import type { Calibration } from '../core/events.js';
import { classCount, featureShape } from '../core/workload.js';
import { engineEnv, enginePython } from '../engine/engine-python.js';
import { parseHeader } from '../engine/protocol.js';

export const DEFAULT_CALIBRATION_SECONDS = 1;

/** Train-loop seconds per worker from BENCH_CALIBRATION_SECONDS (default 1); 0 turns calibration off. */
export function calibrationSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.BENCH_CALIBRATION_SECONDS;
  if (text === undefined || text.trim() === '') return DEFAULT_CALIBRATION_SECONDS;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(
      `BENCH_CALIBRATION_SECONDS must be a number of seconds >= 0 (0 turns calibration off), got "${text}"`,
    );
  }
  return value;
}

interface WorkerCalibration {
  configs: { id: number; examples: number; trainSeconds: number; examplesPerSecond: number }[];
  examplesPerSecond: number;
  threads: number;
  device: string;
}

/** n / sum(1/x): the rate of equal amounts of work done at each of the rates. */
export function harmonicMean(rates: readonly number[]): number {
  if (rates.length === 0 || rates.some((r) => !(r > 0))) return 0;
  return rates.length / rates.reduce((sum, r) => sum + 1 / r, 0);
}

/** One worker's raw-loop throughputs into the run's calibration event. */
export function combineCalibrations(
  workers: readonly WorkerCalibration[],
  budgetSeconds: number,
  at: number,
): Calibration {
  if (workers.length === 0) throw new Error('calibration: no worker reported');
  const configIds = workers[0].configs.map((c) => c.id);
  return {
    type: 'calibration',
    examplesPerSecond: harmonicMean(workers.map((w) => w.examplesPerSecond)),
    workers: workers.length,
    threads: workers[0].threads,
    budgetSeconds,
    configs: configIds.map((id) => ({
      config: id,
      examplesPerSecond: harmonicMean(workers.map((w) => w.configs.find((c) => c.id === id)?.examplesPerSecond ?? 0)),
    })),
    device: workers[0].device,
    at,
  };
}

function runWorker(
  spec: string,
  threads: number,
  signal: AbortSignal,
  trackPid: (pid: number) => void,
): Promise<WorkerCalibration> {
  return new Promise((resolve, reject) => {
    const child = spawn(enginePython(), ['-m', 'bench_engine.calibrate', '--spec', spec], {
      env: engineEnv({ threads }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) trackPid(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const onAbort = (): void => {
      child.kill('SIGKILL');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(new Error(`calibration: cannot start ${enginePython()}: ${error.message}`));
    });
    child.on('close', (code) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) {
        reject(signal.reason instanceof Error ? signal.reason : new Error('calibration interrupted'));
        return;
      }
      if (code !== 0) {
        reject(
          new Error(
            `calibration: bench_engine.calibrate exited with code ${code}: ` +
              stderr.trim().split('\n').slice(-5).join('\n'),
          ),
        );
        return;
      }
      try {
        resolve(parseHeader<WorkerCalibration>(stdout.trim().split('\n').pop() ?? ''));
      } catch {
        reject(new Error(`calibration: bench_engine.calibrate printed no result: ${stdout}${stderr}`));
      }
    });
  });
}

/**
 * Measures the raw loop as the run's workers would run it: one process per segment at once, the
 * run's threads, every config of the workload. Resolves with the event the harness records.
 */
export async function calibrateRawLoop(
  ctx: Pick<RunContext, 'workload' | 'topology' | 'threads' | 'signal' | 'trackPid'>,
  seconds: number = calibrationSeconds(),
): Promise<Calibration> {
  ctx.signal.throwIfAborted();
  const { workload } = ctx;
  const spec = JSON.stringify({
    inputShape: featureShape(workload.dataset),
    classes: classCount(workload.dataset),
    rowsPerBuffer: workload.dataset.rowsPerBuffer,
    configs: workload.configs,
    seconds,
    seed: workload.seed,
    threads: ctx.threads,
  });
  // One worker failing stops the others; every process has exited when this returns or throws.
  const local = new AbortController();
  const onAbort = (): void => local.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const settled = await Promise.allSettled(
    ctx.topology.segments.map(() =>
      runWorker(spec, ctx.threads, local.signal, ctx.trackPid).catch((error: unknown) => {
        local.abort(error);
        throw error;
      }),
    ),
  );
  ctx.signal.removeEventListener('abort', onAbort);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const workers = settled.map((r) => (r as PromiseFulfilledResult<WorkerCalibration>).value);
  return combineCalibrations(workers, seconds, Date.now());
}
