// Replaying a search on the virtual clock (docs/search.md, "Simulation"): the jobs a run's search
// proposed, each arriving when the results it was proposed from are in, trained by a dynamic
// scheduler with each unit taking its config's sub-epoch time. Arrivals are closed-loop: job k
// arrives once jobs 0..told_k - 1 ended (and job k - 1 arrived), as the search's canonical order
// makes them, so one search replays under either scheduler. A job ends when its config has
// finished epoch to - 1 (under the rounds, at the end of that round); validation takes no time.
import type { RunEvent } from '../core/events.js';
import { createDynamicAsyncScheduler } from './async-dynamic.js';
import type { DynamicScheduler } from './dynamic.js';
import { wakeHintOf } from './hints.js';
import { createRoundScheduler } from './rounds.js';
import { EventQueue } from './simulator.js';

export interface ArrivingJob {
  job: number;
  config: number;
  from: number;
  to: number;
  /** It arrives once the jobs numbered below this ended. */
  told: number;
}

export interface ArrivalsResult {
  makespan: number;
  units: number;
  /** Busy worker-time over workers * makespan. */
  busyFraction: number;
  /** Per job: when it arrived and when it ended. */
  arrivals: number[];
  ends: number[];
}

/** The jobs of a run's search, from its 'search-job' events (in job order). */
export function searchJobsOf(events: readonly RunEvent[]): ArrivingJob[] {
  const jobs: ArrivingJob[] = [];
  for (const e of events) {
    if (e.type !== 'search-job' || jobs[e.job]) continue;
    jobs[e.job] = { job: e.job, config: e.config, from: e.from, to: e.to, told: e.told };
  }
  // biome-ignore lint/complexity/useIndexOf: indexOf skips the holes of a sparse array; findIndex visits them
  const missing = jobs.findIndex((j) => j === undefined);
  if (missing >= 0) throw new Error(`replay: job ${missing} of the search is missing from the events`);
  return jobs;
}

/** Runs the jobs through `scheduler` on `workers` segments, unit (config, ...) taking runtime(config). */
export function simulateArrivals(
  scheduler: DynamicScheduler,
  workers: number,
  jobs: readonly ArrivingJob[],
  runtime: (config: number) => number,
): ArrivalsResult {
  if (!Number.isInteger(workers) || workers < 1)
    throw new RangeError(`replay: workers must be an integer >= 1, got ${workers}`);
  jobs.forEach((j, k) => {
    if (j.job !== k || !(j.told >= 0 && j.told <= k))
      throw new RangeError(`replay: job ${k} is malformed (job ${j.job}, told ${j.told})`);
  });
  const queue = new EventQueue(workers);
  const hint = wakeHintOf(scheduler);
  const arrivals = new Array<number>(jobs.length).fill(Number.NaN);
  const ends = new Array<number>(jobs.length).fill(Number.NaN);
  const runningConfig = new Int32Array(workers).fill(-1);
  const runningEpoch = new Int32Array(workers);
  const finished = new Uint8Array(workers);
  let arrived = 0;
  let endedPrefix = 0;
  let now = 0;
  let busy = 0;
  let units = 0;
  let seenWakeups = -1;

  const settleJobs = (): void => {
    for (let k = 0; k < arrived; k++) {
      if (Number.isNaN(ends[k]) && scheduler.trainedEpochs(jobs[k].config) >= jobs[k].to) ends[k] = now;
    }
    while (endedPrefix < arrived && !Number.isNaN(ends[endedPrefix])) endedPrefix++;
    while (arrived < jobs.length && jobs[arrived].told <= endedPrefix) {
      const job = jobs[arrived];
      scheduler.add(job.config, { from: job.from, to: job.to });
      arrivals[arrived++] = now;
    }
    if (arrived === jobs.length) scheduler.close();
  };

  const askIdle = (): void => {
    if (hint !== undefined && hint.wakeups() === seenWakeups) return;
    if (hint !== undefined) seenWakeups = hint.wakeups();
    for (let s = 0; s < workers; s++) {
      if (runningConfig[s] >= 0 || finished[s]) continue;
      const decision = scheduler.next(s);
      if (decision === 'wait') continue;
      if (decision === 'done') {
        finished[s] = 1;
        continue;
      }
      const time = runtime(decision.config);
      if (!(time >= 0) || !Number.isFinite(time))
        throw new RangeError(`replay: config ${decision.config} has no runtime (${time})`);
      runningConfig[s] = decision.config;
      runningEpoch[s] = decision.epoch;
      busy += time;
      units++;
      queue.push(now + time, s);
    }
  };

  settleJobs();
  askIdle();
  while (queue.size > 0) {
    now = queue.minTime();
    const s = queue.pop();
    scheduler.completed({ config: runningConfig[s], segment: s, epoch: runningEpoch[s] });
    runningConfig[s] = -1;
    settleJobs();
    askIdle();
  }
  if (endedPrefix !== jobs.length) {
    throw new Error(`replay: the schedule stalled at time ${now} with ${jobs.length - endedPrefix} job(s) not ended`);
  }
  return { makespan: now, units, busyFraction: now > 0 ? busy / (workers * now) : 1, arrivals, ends };
}

/** simulateArrivals under UDAF's rounds ('sync') or Cerebro's async random scheduler ('async'). */
export function replaySearch(
  scheduler: 'sync' | 'async',
  workers: number,
  jobs: readonly ArrivingJob[],
  runtime: (config: number) => number,
  seed: number,
): ArrivalsResult {
  const make = scheduler === 'sync' ? createRoundScheduler : createDynamicAsyncScheduler;
  return simulateArrivals(make({ segments: workers, seed }), workers, jobs, runtime);
}
