// Every approach that declares `searches` runs the hyperopt workload's search on the real cluster
// and engine (docs/search.md): the configs, jobs and epochs the run trained are exactly what the
// searcher decided (recorded in its events, and proposed again by a fresh searcher told the
// recorded results), each config's epoch trains once on every segment and is validated once,
// ASHA-stopped configs stop (and the simulator replays the recorded search to the same units), the
// same seed proposes the same configs in every approach, a run stopped mid-search resumes to the
// same proposals, and the others refuse a search up front.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APPROACHES } from '../../approaches/index.js';
import { resolveRunSpec, runSpec, searchingApproaches } from '../../approaches/resolve.js';
import { runEventSchema, type RunEvent } from '../../src/core/events.js';
import type { SearchParams } from '../../src/core/search.js';
import { runApproach } from '../../src/run/harness.js';
import { replaySearch, searchJobsOf } from '../../src/sched/replay.js';
import { createSearcher } from '../../src/search/index.js';
import { SearchSession } from '../../src/search/session.js';
import { resolveWorkload } from '../../workloads/index.js';
import { testTopology } from '../helpers/cluster.js';

const runsDir = mkdtempSync(join(tmpdir(), 'bench-search-'));
const SEARCHING = ['udaf', 'ctq', 'da', 'export', 'task-parallel'];

function readEvents(runDir: string): RunEvent[] {
  return readFileSync(join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => runEventSchema.parse(JSON.parse(line)));
}

type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;
const ofType =
  <T extends RunEvent['type']>(type: T) =>
  (e: RunEvent): e is Of<T> =>
    e.type === type;

/** The workload exactly as the run resolved it (its search spec: searcher, trials, seed). */
function workloadOf(options: Record<string, string>) {
  return resolveRunSpec({ approach: 'export', workload: 'hyperopt', scale: 'tiny', options }).workload;
}

/**
 * Asserts that the run trained what its search decided, and returns the proposals (per config, the
 * point sampled) for comparisons across runs.
 */
async function checkSearchRun(
  events: RunEvent[],
  options: Record<string, string>,
  segments: number,
): Promise<SearchParams[]> {
  const { search, epochs: maxEpochs } = workloadOf(options);
  const spec = search!.spec;
  const configs = events.filter(ofType('search-config'));
  const jobs = events.filter(ofType('search-job'));
  const results = events.filter(ofType('search-result'));
  const units = events.filter(ofType('unit'));
  const validations = events.filter(ofType('epoch'));

  // Every config the search proposed, once, numbered in proposal order.
  expect(configs.map((c) => c.config.id)).toEqual(Array.from({ length: spec.trials }, (_, i) => i));
  expect(jobs.map((j) => j.job)).toEqual(jobs.map((_, i) => i));
  expect(results.map((r) => r.job)).toEqual(jobs.map((_, i) => i));

  for (const { config } of configs) {
    const mine = jobs.filter((j) => j.config === config.id);
    // Its jobs continue one another: [0, a), [a, b), ...
    for (const [i, job] of mine.entries()) expect(job.from).toBe(i === 0 ? 0 : mine[i - 1].to);
    const trained = mine.at(-1)!.to;
    expect(trained).toBeLessThanOrEqual(maxEpochs);
    // Exactly its epochs, each once on every segment, each validated once.
    const own = units.filter((u) => u.config === config.id);
    expect(own).toHaveLength(trained * segments);
    for (let epoch = 0; epoch < trained; epoch++) {
      expect(
        own
          .filter((u) => u.epoch === epoch)
          .map((u) => u.segment)
          .sort(),
      ).toEqual(Array.from({ length: segments }, (_, s) => s));
    }
    expect(
      validations
        .filter((v) => v.config === config.id)
        .map((v) => v.epoch)
        .sort(),
    ).toEqual(Array.from({ length: trained }, (_, e) => e));
  }
  // The searcher heard each job's validation loss after its last epoch.
  for (const result of results) {
    const job = jobs[result.job];
    const loss = validations.find((v) => v.config === job.config && v.epoch === job.to - 1)!.validLoss;
    expect(result.value).toBeCloseTo(loss, 12);
  }

  // A fresh searcher from the same seed, told the recorded results in job order, proposes exactly
  // the recorded jobs and points: the run did what the searcher decided.
  const session = new SearchSession(await createSearcher(spec), spec.inFlight);
  try {
    await session.start();
    for (const result of results) await session.report(result.job, result.value);
    expect(session.done).toBe(true);
    expect(session.jobs.map(({ job, config, from, to, told }) => ({ job, config, from, to, told }))).toEqual(
      jobs.map(({ job, config, from, to, told }) => ({ job, config, from, to, told })),
    );
    expect(session.jobs.filter((j) => j.params).map((j) => j.params)).toEqual(configs.map((c) => c.params));
  } finally {
    await session.close();
  }
  return configs.map((c) => c.params);
}

const SEARCHES: [string, Record<string, string>][] = [
  ['random', { searcher: 'random', trials: '3' }],
  ['asha', { searcher: 'asha', eta: '2' }],
];
const proposals = new Map<string, SearchParams[]>();

describe.each(SEARCHING)('%s runs a search', (approach) => {
  it.each(SEARCHES)('hyperopt/tiny with %s: trains what the searcher decided', async (name, options) => {
    const topology = await testTopology();
    const segments = topology.segments.length;
    const { runDir, summary } = await runSpec({
      approach,
      workload: 'hyperopt',
      scale: 'tiny',
      topology,
      runsDir,
      options,
      sampleIntervalMs: 0,
    });
    expect(summary.status).toBe('complete');
    const events = readEvents(runDir);
    const params = await checkSearchRun(events, options, segments);

    if (name === 'asha') {
      // eta 2 over 4 configs: at most 2 go on past the first rung; the others stop there.
      const jobs = events.filter(ofType('search-job'));
      const trained = new Map(jobs.map((j) => [j.config, j.to]));
      const stopped = [...trained.values()].filter((to) => to === 1);
      expect(stopped.length).toBeGreaterThanOrEqual(2);
      expect(events.filter(ofType('unit')).filter((u) => trained.get(u.config) === 1 && u.epoch > 0)).toHaveLength(0);
      // The simulator replays the run's search (its arrivals and promotions) to the units the run trained.
      const trainedUnits = events.filter(ofType('unit')).length;
      for (const scheduler of ['sync', 'async'] as const) {
        expect(replaySearch(scheduler, segments, searchJobsOf(events), () => 1, 1).units).toBe(trainedUnits);
      }
    } else {
      // Random points do not depend on results: every approach proposes the same ones from the seed.
      const first = proposals.get(name);
      if (first) expect(params).toEqual(first);
      else proposals.set(name, params);
    }
  });
});

describe('resuming a search', () => {
  it.each(['ctq', 'udaf'])('%s stopped mid-search resumes, replays its proposals and completes', async (approach) => {
    const topology = await testTopology();
    const options = { searcher: 'asha', eta: '2' };
    const controller = new AbortController();
    let units = 0;
    let runDir: string | undefined;
    const first = runSpec({
      approach,
      workload: 'hyperopt',
      scale: 'tiny',
      topology,
      runsDir,
      options,
      sampleIntervalMs: 0,
      handleSignals: false,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'log' && event.message.startsWith('run folder '))
          runDir = event.message.slice('run folder '.length);
        if (event.type === 'unit' && ++units === 5) controller.abort(new Error('stopped by the test'));
      },
    });
    await expect(first).rejects.toThrow(/stopped by the test/);
    expect(runDir).toBeDefined();
    const before = readEvents(runDir!);
    expect(before.some((e) => e.type === 'interrupted')).toBe(true);
    const proposedBefore = before.filter(ofType('search-job'));
    expect(proposedBefore.length).toBeGreaterThan(0);

    const { summary } = await runSpec({
      approach,
      workload: 'hyperopt',
      scale: 'tiny',
      topology,
      runsDir,
      options,
      sampleIntervalMs: 0,
      handleSignals: false,
      resume: runDir,
    });
    expect(summary.status).toBe('complete');
    const events = readEvents(runDir!);
    // The jobs of the first attempt are recorded once and proposed again identically.
    const jobs = events.filter(ofType('search-job'));
    expect(jobs.slice(0, proposedBefore.length).map(({ at: _, ...job }) => job)).toEqual(
      proposedBefore.map(({ at: _, ...job }) => job),
    );
    expect(new Set(events.filter(ofType('unit')).map((u) => `${u.config}/${u.segment}/${u.epoch}`)).size).toBe(
      events.filter(ofType('unit')).length,
    );
    await checkSearchRun(events, options, topology.segments.length);
  });
});

describe('approaches that cannot search', () => {
  it('declares searches on exactly the approaches that train arriving configs', () => {
    expect(searchingApproaches().sort()).toEqual([...SEARCHING].sort());
  });

  it.each(['ma', 'ddp', 'da-ddp'])('%s refuses a search workload up front, naming those that can', (approach) => {
    expect(() => resolveRunSpec({ approach, workload: 'hyperopt', scale: 'tiny' })).toThrow(
      new RegExp(
        `approach ${approach} cannot run workload hyperopt: .*Approaches that run searches: udaf, export, ctq, ` +
          `task-parallel, da`,
      ),
    );
  });

  it('the harness refuses it too, before any run folder exists', async () => {
    const topology = await testTopology();
    const dir = mkdtempSync(join(tmpdir(), 'bench-search-refused-'));
    const workload = resolveWorkload('hyperopt', 'tiny', 1);
    await expect(
      runApproach({
        approach: APPROACHES.ma,
        workload,
        topology,
        runsDir: dir,
        sampleIntervalMs: 0,
        handleSignals: false,
      }),
    ).rejects.toThrow(/approach ma cannot run workload hyperopt/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
