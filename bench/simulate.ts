// Times the virtual-clock simulation of the big case: 10,000 configs on 64 workers over 10 epochs
// (6.4M units), for both schedulers. Run: npx tsx bench/simulate.ts [runs]
// Prints, per scheduler, the best and the median of the measured runs (wall clock and CPU time)
// after one warm-up run on a smaller case.
import { performance } from 'node:perf_hooks';
import { simulate } from '../src/sched/simulator.js';

const configs = 10_000;
const workers = 64;
const epochs = 10;
const runs = Math.max(1, Number(process.argv[2] ?? 3) || 3);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

for (const scheduler of ['async', 'sync'] as const) {
  simulate({ scheduler, configs: 1000, workers, epochs: 1, p: 0.9, ls: 1, lm: 8, seed: 7 });
  const wall: number[] = [];
  const cpu: number[] = [];
  let units = 0;
  let makespan = 0;
  let busy = 0;
  for (let r = 0; r < runs; r++) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const result = simulate({ scheduler, configs, workers, epochs, p: 0.9, ls: 1, lm: 8, seed: 1 });
    wall.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
    ({ units, makespan, busyFraction: busy } = result);
  }
  console.log(
    `${scheduler.padEnd(5)}  ${configs} configs x ${workers} workers x ${epochs} epochs = ${units} units: ` +
      `best ${Math.min(...wall).toFixed(0)} ms, median ${median(wall).toFixed(0)} ms wall ` +
      `(CPU best ${Math.min(...cpu).toFixed(0)} ms) over ${runs} run(s); ` +
      `makespan ${makespan}, busy ${(100 * busy).toFixed(1)}%`,
  );
}
