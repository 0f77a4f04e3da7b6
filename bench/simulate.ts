// Times the virtual-clock simulation of the big case: 10,000 configs on 64 workers over 10 epochs
// (6.4M units), for both schedulers. Run: npx tsx bench/simulate.ts [--runs 3]
// Prints, per scheduler, the best and the median of the measured runs (wall clock and CPU time)
// after one warm-up run on a smaller case. No target: it shows the simulator's cost at paper scale.
import { performance } from 'node:perf_hooks';
import { median } from '../src/metrics/stats.js';
import { simulate } from '../src/sched/simulator.js';
import { runBench } from './lib/entry.js';

const CONFIGS = 10_000;
const WORKERS = 64;
const EPOCHS = 10;

function timeScheduler(scheduler: 'async' | 'sync', runs: number): string {
  simulate({ scheduler, configs: 1000, workers: WORKERS, epochs: 1, p: 0.9, ls: 1, lm: 8, seed: 7 });
  const wall: number[] = [];
  const cpu: number[] = [];
  let units = 0;
  let makespan = 0;
  let busy = 0;
  for (let r = 0; r < runs; r++) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const result = simulate({
      scheduler,
      configs: CONFIGS,
      workers: WORKERS,
      epochs: EPOCHS,
      p: 0.9,
      ls: 1,
      lm: 8,
      seed: 1,
    });
    wall.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
    ({ units, makespan, busyFraction: busy } = result);
  }
  return (
    `${scheduler.padEnd(5)}  ${CONFIGS} configs x ${WORKERS} workers x ${EPOCHS} epochs = ${units} units: ` +
    `best ${Math.min(...wall).toFixed(0)} ms, median ${median(wall).toFixed(0)} ms wall ` +
    `(CPU best ${Math.min(...cpu).toFixed(0)} ms) over ${runs} run(s); ` +
    `makespan ${makespan}, busy ${(100 * busy).toFixed(1)}%`
  );
}

await runBench({
  name: 'bench/simulate.ts',
  describe: "the simulator's cost on 6.4M units (10,000 configs x 64 workers x 10 epochs), both schedulers",
  options: (argv) => argv.option('runs', { type: 'number', default: 3, describe: 'measured runs per scheduler' }),
  main: async ({ runs }) => {
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not ${runs}`);
    for (const scheduler of ['async', 'sync'] as const) console.log(timeScheduler(scheduler, runs));
  },
});
