// Shared by the resume and signal tests: the real CLI in a child process, a run folder's events,
// and a replay that trains each config alone, sub-epoch after sub-epoch in the order a run
// recorded, from the same seed and the same packed shards: what an uninterrupted run with that
// schedule computes.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { runEventSchema, type EpochMetrics, type RunEvent, type UnitDone } from '../../src/core/events.js';
import { runInfoSchema, summarySchema, type RunInfo, type Summary } from '../../src/core/records.js';
import { repoRoot } from '../../src/core/paths.js';
import { classCount, featureShape, modelSeed } from '../../src/core/workload.js';
import type { Topology } from '../../src/db/topology.js';
import { copyPackedBuffers } from '../../src/access/copy-export.js';
import { EngineWorker } from '../../src/engine/worker.js';
import { resolveWorkload } from '../../workloads/index.js';
import { packedTableNames } from '../../workloads/data/pack.js';

/** `node --import tsx src/cli/main.ts <args>`: the CLI without npx and bin/bench.js in front. */
export function cliCommand(args: string[]): string[] {
  const tsx = pathToFileURL(createRequire(join(repoRoot(), 'package.json')).resolve('tsx')).href;
  return [process.execPath, '--import', tsx, join(repoRoot(), 'src', 'cli', 'main.ts'), ...args];
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  ms: number;
}

/**
 * Starts a command in its own process group (as a shell starts a foreground job). After
 * `timeoutMs` the whole group is killed (SIGKILL), so a hang fails the test instead of leaving a
 * process behind that holds the cluster's lock.
 */
export function startCommand(
  command: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 240_000,
): { child: ChildProcess; done: Promise<Finished> } {
  const started = Date.now();
  const child = spawn(command[0], command.slice(1), {
    cwd: repoRoot(),
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => {
    stderr += `\n[test] killed after ${timeoutMs} ms`;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, timeoutMs);
  const done = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    }),
  );
  return { child, done };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs?: number): Promise<Finished> {
  return startCommand(cliCommand(args), env, timeoutMs).done;
}

/** Polls `probe` every 100 ms until it returns something other than undefined. */
export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function freshRunsDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `bench-${label}-`));
}

/** The one run folder in a runs directory. */
export function onlyRunFolder(runsDir: string): string {
  const dirs = readdirSync(runsDir).filter((name) => existsSync(join(runsDir, name, 'run.json')));
  if (dirs.length !== 1) throw new Error(`${runsDir} holds ${dirs.length} run folders, expected 1: ${dirs.join(', ')}`);
  return join(runsDir, dirs[0]);
}

export function readEvents(runDir: string): RunEvent[] {
  return readFileSync(join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => runEventSchema.parse(JSON.parse(line)));
}

export function readInfo(runDir: string): RunInfo {
  return runInfoSchema.parse(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')));
}

export function readSummary(runDir: string): Summary {
  return summarySchema.parse(JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')));
}

export function unitEvents(events: readonly RunEvent[]): UnitDone[] {
  return events.filter((e): e is UnitDone => e.type === 'unit');
}

/** The last epoch metrics per `config/epoch` (a resumed run may hold a pair twice; the last one counts). */
export function epochMetrics(events: readonly RunEvent[]): Map<string, EpochMetrics> {
  const out = new Map<string, EpochMetrics>();
  for (const e of events) if (e.type === 'epoch') out.set(`${e.config}/${e.epoch}`, e);
  return out;
}

export interface ReplayedUnit {
  config: number;
  segment: number;
  epoch: number;
  lossSum: number;
  examples: number;
}

export interface Replay {
  units: ReplayedUnit[];
  /** By `config/epoch`. */
  metrics: Map<string, { trainLoss: number; validLoss: number; validAccuracy: number }>;
}

/**
 * Trains every config of a run alone, in one worker, over the sub-epochs its events record (in
 * their order), validating after each of its epochs: the uninterrupted training of that schedule.
 */
export async function replayRun(runDir: string, topology: Topology): Promise<Replay> {
  const info = readInfo(runDir);
  const options = Object.fromEntries(Object.entries(info.workloadOptions ?? {}).map(([k, v]) => [k, String(v)]));
  const workload = resolveWorkload(info.workload, info.scale, info.seed, options);
  const tables = packedTableNames(workload);
  const worker = await EngineWorker.spawn({ threads: info.threads ?? 1, label: 'replay' });
  const dir = mkdtempSync(join(tmpdir(), 'bench-replay-'));
  try {
    const inputShape = featureShape(workload.dataset);
    const classes = classCount(workload.dataset);
    for (const [s, segment] of topology.segments.entries()) {
      await worker.load({
        dataset: `train_s${s}`,
        inputShape,
        classes,
        buffers: await copyPackedBuffers(segment, tables.train),
      });
    }
    await worker.load({
      dataset: 'valid',
      inputShape,
      classes,
      buffers: await copyPackedBuffers(topology.segments[0], tables.valid),
    });
    const recorded = unitEvents(readEvents(runDir));
    const replay: Replay = { units: [], metrics: new Map() };
    for (const config of workload.configs) {
      const units = recorded.filter((u) => u.config === config.id);
      let version = 0;
      const sums = new Map<number, { lossSum: number; examples: number }>();
      for (const [i, unit] of units.entries()) {
        const reply = await worker.train({
          config,
          seed: modelSeed(workload, config.id),
          modelIn: version > 0 ? join(dir, `c${config.id}.v${version}.pt`) : null,
          modelOut: join(dir, `c${config.id}.v${version + 1}.pt`),
          epoch: unit.epoch,
          dataset: `train_s${unit.segment}`,
          modelVersion: version + 1,
          segment: unit.segment,
        });
        version++;
        replay.units.push({
          config: config.id,
          segment: unit.segment,
          epoch: unit.epoch,
          lossSum: reply.lossSum,
          examples: reply.examples,
        });
        const sum = sums.get(unit.epoch) ?? { lossSum: 0, examples: 0 };
        sum.lossSum += reply.lossSum;
        sum.examples += reply.examples;
        sums.set(unit.epoch, sum);
        if (units[i + 1]?.epoch !== unit.epoch) {
          const valid = await worker.validate({
            config,
            modelIn: join(dir, `c${config.id}.v${version}.pt`),
            epoch: unit.epoch,
          });
          replay.metrics.set(`${config.id}/${unit.epoch}`, {
            trainLoss: sum.lossSum / sum.examples,
            validLoss: valid.lossSum / valid.examples,
            validAccuracy: valid.correct / valid.examples,
          });
        }
      }
    }
    return replay;
  } finally {
    await worker.close();
  }
}

/** Relative difference, safe at 0. */
export function relativeDifference(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-12, Math.abs(a), Math.abs(b));
}
