// Times the virtual-clock simulation of the big case: 10,000 configs on 64 workers over 10 epochs
// (6.4M units), for both schedulers. Run: npx tsx bench/simulate.ts
import { performance } from 'node:perf_hooks';
import { simulate } from '../src/sched/simulator.js';

const configs = 10_000;
const workers = 64;
const epochs = 10;

for (const scheduler of ['async', 'sync'] as const) {
  // One warm-up on a smaller case so the timing is of optimized code, then the measured run.
  simulate({ scheduler, configs: 1000, workers, epochs: 1, p: 0.9, ls: 1, lm: 8, seed: 7 });
  const start = performance.now();
  const result = simulate({ scheduler, configs, workers, epochs, p: 0.9, ls: 1, lm: 8, seed: 1 });
  const ms = performance.now() - start;
  console.log(
    `${scheduler.padEnd(5)}  ${configs} configs x ${workers} workers x ${epochs} epochs = ${result.units} units: ` +
      `${ms.toFixed(0)} ms (makespan ${result.makespan}, busy ${(100 * result.busyFraction).toFixed(1)}%)`,
  );
}
