import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/core/events.js';
import { replaySearch, searchJobsOf, type ArrivingJob } from '../../src/sched/replay.js';

/** Jobs of a search with P in flight: job k was proposed from the results of jobs 0..k-P. */
function searchOf(epochs: number[], inFlight: number): ArrivingJob[] {
  return epochs.map((to, k) => ({ job: k, config: k, from: 0, to, told: Math.max(0, k - inFlight + 1) }));
}

describe('replaySearch', () => {
  it.each(['sync', 'async'] as const)(
    '%s: every job arrives once the results it was proposed from are in',
    (scheduler) => {
      const segments = 3;
      const jobs = searchOf([2, 1, 3, 1, 2, 1, 1, 2], 3);
      const runtime = (config: number) => 1 + (config % 3);
      const result = replaySearch(scheduler, segments, jobs, runtime, 4);
      expect(result.units).toBe(jobs.reduce((s, j) => s + (j.to - j.from) * segments, 0));
      jobs.forEach((job, k) => {
        const after = Math.max(0, ...result.ends.slice(0, job.told), k > 0 ? result.arrivals[k - 1] : 0);
        expect(result.arrivals[k]).toBe(after);
        expect(result.ends[k]).toBeGreaterThan(result.arrivals[k]);
      });
      expect(result.makespan).toBe(Math.max(...result.ends));
      // One config alone trains its units one after another: no two segments at once.
      const alone = replaySearch(scheduler, segments, searchOf([2], 1), () => 1, 1);
      expect(alone.makespan).toBe(2 * segments);
    },
  );

  it('replays a run: jobs from its search-job events, ASHA promotions continuing a config', () => {
    const at = 0;
    const events: RunEvent[] = [
      { type: 'search-job', job: 0, config: 0, from: 0, to: 1, rung: 0, told: 0, at },
      { type: 'search-job', job: 1, config: 1, from: 0, to: 1, rung: 0, told: 0, at },
      { type: 'search-job', job: 2, config: 0, from: 1, to: 3, rung: 1, told: 1, at },
      { type: 'search-job', job: 2, config: 0, from: 1, to: 3, rung: 1, told: 1, at },
    ];
    const jobs = searchJobsOf(events);
    expect(jobs.map((j) => [j.config, j.from, j.to, j.told])).toEqual([
      [0, 0, 1, 0],
      [1, 0, 1, 0],
      [0, 1, 3, 1],
    ]);
    const result = replaySearch('async', 2, jobs, () => 1, 1);
    expect(result.units).toBe((1 + 1 + 2) * 2);
    expect(result.arrivals[2]).toBe(result.ends[0]);
    expect(() => searchJobsOf(events.slice(1))).toThrow(/job 0/);
  });

  it('the rounds wait for their slowest config, the async scheduler does not', () => {
    // Eight configs in flight on four segments, one slow config in each batch of arrivals.
    const jobs = searchOf(Array(16).fill(1), 8);
    const runtime = (config: number) => (config % 8 === 0 ? 8 : 1);
    const sync = replaySearch('sync', 4, jobs, runtime, 1);
    const async = replaySearch('async', 4, jobs, runtime, 1);
    expect(async.makespan).toBeLessThan(sync.makespan);
  });
});
