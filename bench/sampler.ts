// What the resource sampler costs the run it measures. Run: npx tsx bench/sampler.ts [--reps 5] [--seconds 3]
// (the shared benchmark entry, docs/benchmarks.md).
//
// 1. Cost of one sample, in CPU time of this process: our /proc reader (system + process tree)
//    against the same figures from systeminformation (currentLoad, mem, fsStats, networkStats).
// 2. The same CPU-bound workload (in this process, yielding to the event loop every few ms as
//    the harness does) without the sampler, with it at 1 Hz and at 10 Hz, in alternating
//    repetitions; prints median wall times and the slowdown ratios. Target: < 1% at 1 Hz.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import si from 'systeminformation';
import {
  SampleTaker,
  readCpuTimes,
  readDisks,
  readMemory,
  readNetwork,
  startSampler,
  type ProcessGroupRoots,
} from '../src/metrics/sampler.js';
import { median } from '../src/metrics/stats.js';
import { printTargets, runBench } from './lib/entry.js';
import type { Argv } from 'yargs';

interface Args {
  reps: number;
  seconds: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

// A process tree like a run's: this process plus a few idle "workers".
const workers: ChildProcess[] = Array.from({ length: 4 }, () => spawn('sleep', ['600'], { stdio: 'ignore' }));
const workerPids = (): number[] => workers.map((w) => w.pid!).filter(Boolean);
const roots = (): ProcessGroupRoots[] => [
  { name: 'engine workers', pids: workerPids() },
  { name: 'harness', pids: [process.pid] },
];

async function perSampleCost(): Promise<void> {
  const taker = new SampleTaker(roots);
  const n = 200;
  for (let i = 0; i < 20; i++) taker.take();
  let c0 = cpuMs();
  let w0 = performance.now();
  for (let i = 0; i < n; i++) taker.take();
  const procCpu = (cpuMs() - c0) / n;
  const procWall = (performance.now() - w0) / n;

  const systemOnly = (): void => {
    readCpuTimes();
    readMemory();
    readDisks();
    readNetwork();
  };
  for (let i = 0; i < 20; i++) systemOnly();
  c0 = cpuMs();
  w0 = performance.now();
  for (let i = 0; i < n; i++) systemOnly();
  const sysCpu = (cpuMs() - c0) / n;
  const sysWall = (performance.now() - w0) / n;

  const siSample = async (): Promise<void> => {
    await Promise.all([si.currentLoad(), si.mem(), si.fsStats(), si.networkStats('*')]);
  };
  for (let i = 0; i < 5; i++) await siSample();
  const m = 50;
  c0 = cpuMs();
  w0 = performance.now();
  for (let i = 0; i < m; i++) await siSample();
  const siCpu = (cpuMs() - c0) / m;
  const siWall = (performance.now() - w0) / m;
  console.log('cost of one sample (CPU time of this process; wall time)');
  const processes = workerPids().length + 1;
  const cost = `${procCpu.toFixed(3)} ms CPU, ${procWall.toFixed(3)} ms wall`;
  console.log(`  /proc reader (system + tree of ${processes} processes): ${cost}`);
  console.log(`  /proc reader (system only):             ${sysCpu.toFixed(3)} ms CPU, ${sysWall.toFixed(3)} ms wall`);
  console.log(`  systeminformation (system only):       ${siCpu.toFixed(3)} ms CPU, ${siWall.toFixed(3)} ms wall`);
  console.log(
    `  => at 1 Hz the /proc reader uses ${(procCpu / 10).toFixed(4)}% of one core, at 10 Hz ${procCpu.toFixed(3)}%` +
      ` (systeminformation: ${(siCpu / 10).toFixed(4)}% / ${siCpu.toFixed(3)}%)`,
  );
}

/** Fixed CPU work in ~2 ms slices, yielding between slices. Returns wall ms. */
async function workload(slices: number): Promise<number> {
  const start = performance.now();
  let x = 0;
  for (let s = 0; s < slices; s++) {
    for (let i = 0; i < 400_000; i++) x = (x * 1103515245 + 12345 + i) % 2147483647;
    await new Promise<void>((r) => setImmediate(r));
  }
  if (x === -1) console.log(x);
  return performance.now() - start;
}

async function calibrate(seconds: number): Promise<number> {
  await workload(50);
  const ms = await workload(200);
  return Math.max(50, Math.round((200 * seconds * 1000) / ms));
}

type Mode = 'none' | '1 Hz' | '10 Hz';
async function measure(mode: Mode, slices: number, dir: string, rep: number): Promise<number> {
  const out = join(dir, `${mode.replace(' ', '')}-${rep}.jsonl`);
  const intervalMs = mode === '1 Hz' ? 1000 : 100;
  const sampler = mode === 'none' ? null : startSampler({ out, intervalMs, processGroups: roots });
  const ms = await workload(slices);
  await sampler?.stop();
  return ms;
}

async function main({ reps, seconds }: Args): Promise<void> {
  await perSampleCost();
  const dir = mkdtempSync(join(tmpdir(), 'bench-sampler-'));
  try {
    if (!(reps >= 1) || !(seconds > 0))
      throw new Error(`--reps must be >= 1 and --seconds > 0, not ${reps} and ${seconds}`);
    const slices = await calibrate(seconds);
    const modes: Mode[] = ['none', '1 Hz', '10 Hz'];
    const times: Record<Mode, number[]> = { none: [], '1 Hz': [], '10 Hz': [] };
    console.log(`\nworkload: ${slices} slices (~${seconds} s), ${reps} alternating repetitions per mode`);
    for (let rep = 0; rep < reps; rep++) {
      // Rotate the order so drift (thermal, other load) does not favour one mode.
      const order = modes.map((_, i) => modes[(i + rep) % modes.length]);
      for (const mode of order) times[mode].push(await measure(mode, slices, dir, rep));
    }
    const base = median(times.none);
    for (const mode of modes) {
      const med = median(times[mode]);
      const ratio = med / base;
      console.log(
        `  ${mode.padEnd(6)} median ${med.toFixed(1)} ms  ratio ${ratio.toFixed(4)} ` +
          `(${((ratio - 1) * 100).toFixed(2)}%)  runs: ${times[mode].map((t) => t.toFixed(0)).join(' ')}`,
      );
    }
    const r1 = median(times['1 Hz']) / base;
    const target = { name: 'workload time with the sampler at 1 Hz / without', measured: r1, bound: 1.01 };
    const missed = printTargets(
      'Sampler',
      [{ ...target, direction: '<=', note: `median of ${reps} alternating reps` }],
      4,
    );
    if (missed > 0) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (const w of workers) w.kill();
  }
}

await runBench<Args>({
  name: 'bench/sampler.ts',
  describe: 'what the resource sampler costs the run it measures (target: < 1% at 1 Hz)',
  options: (argv) =>
    argv
      .option('reps', { type: 'number', default: 5, describe: 'alternating repetitions per mode' })
      .option('seconds', { type: 'number', default: 3, describe: 'length of one workload repetition' }) as Argv<Args>,
  main,
});
