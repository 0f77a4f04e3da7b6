// A search inside a run (docs/search.md): the searcher's session, the configs it proposes appended to
// the workload as they arrive, every proposal and told result recorded as an event, and on resume
// the search replayed from the earlier attempt's events (refused when it proposes differently).
// The approaches ask it for the jobs to start and tell it each validated epoch.
import type { RunContext } from '../../src/core/approach.js';
import type { SearchJobEvent } from '../../src/core/events.js';
import type { ModelConfig, WorkloadSearch } from '../../src/core/workload.js';
import { createSearcher } from '../../src/search/index.js';
import { SearchSession, type SearchJob, type SearchStep } from '../../src/search/session.js';
import { samePoint } from '../../src/search/space.js';

/** What the scheduler is to do after a step of the search. */
export interface Arrivals {
  /** Jobs to add to the scheduler, in job order. */
  jobs: SearchJob[];
  /** No job will arrive any more: close the scheduler. */
  closed: boolean;
}

export interface SearchHooks {
  /**
   * A new config arrived: make its model where the approach keeps models (a models-table row, a
   * row of the configs the step views read). Awaited before the config is recorded, so a config in
   * the events always has its model; it may be called again for one whose event was lost (resume).
   */
  onConfig?(config: ModelConfig): Promise<void>;
}

export function searchOf(ctx: RunContext): WorkloadSearch {
  const search = ctx.workload.search;
  if (!search) throw new Error(`workload ${ctx.workload.id} has no search`);
  return search;
}

export class SearchRun {
  private readonly toldJobs = new Set<number>();
  private readonly recordedJobs = new Set<number>();
  private serial: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly ctx: RunContext,
    private readonly search: WorkloadSearch,
    private readonly session: SearchSession,
    private readonly hooks: SearchHooks,
  ) {}

  /**
   * Starts the searcher and replays what an earlier attempt recorded: the first jobs, then every
   * recorded result. Returns the run and the jobs that still have epochs to train.
   */
  static async open(ctx: RunContext, hooks: SearchHooks = {}): Promise<{ run: SearchRun; arrivals: Arrivals }> {
    const search = searchOf(ctx);
    const searcher = await createSearcher(search.spec);
    const run = new SearchRun(ctx, search, new SearchSession(searcher, search.spec.inFlight), hooks);
    try {
      return { run, arrivals: await run.replay() };
    } catch (error) {
      await run.close();
      throw error;
    }
  }

  private async replay(): Promise<Arrivals> {
    const prior = this.ctx.epochs.priorSearch;
    const recorded: SearchJobEvent[] = [];
    for (const e of prior) {
      if (e.type === 'search-job') recorded[e.job] ??= e;
      else if (e.type === 'search-result') this.toldJobs.add(e.job);
    }
    const steps: SearchStep[] = [await this.session.start()];
    for (const job of recorded) {
      const value = job ? this.ctx.epochs.validLoss(job.config, job.to - 1) : undefined;
      if (value !== undefined) steps.push(await this.session.report(job.job, finite(value)));
    }
    const proposed = this.session.jobs;
    recorded.forEach((was, k) => {
      const now = proposed[k];
      if (
        !was ||
        !now ||
        was.config !== now.config ||
        was.from !== now.from ||
        was.to !== now.to ||
        was.told !== now.told
      ) {
        throw new Error(
          `cannot resume the search: job ${k} was ${was ? describe(was) : 'missing'} in the earlier attempt and is ` +
            `${now ? describe(now) : 'not proposed'} now; the searcher did not reproduce its proposals ` +
            `(changed code or spec?)`,
        );
      }
      this.recordedJobs.add(k);
    });
    const recordedConfigs = new Map(prior.flatMap((e) => (e.type === 'search-config' ? [[e.config.id, e]] : [])));
    for (const job of proposed) {
      if (!job.params) continue;
      const was = recordedConfigs.get(job.config);
      if (was && !samePoint(was.params, job.params)) {
        throw new Error(
          `cannot resume the search: config ${job.config} was ${JSON.stringify(was.params)} in the earlier attempt ` +
            `and is ${JSON.stringify(job.params)} now; the searcher did not reproduce its proposals ` +
            `(changed code or spec?)`,
        );
      }
      await this.register(job, was === undefined);
    }
    for (const job of proposed) if (!this.recordedJobs.has(job.job)) this.recordJob(job);
    for (const step of steps) this.recordTold(step);
    const open = proposed.filter((job) => this.ctx.epochs.validLoss(job.config, job.to - 1) === undefined);
    return { jobs: open, closed: this.session.done };
  }

  /** Makes a new config's model config, appends it to the workload and records it. */
  private async register(job: SearchJob, emit: boolean): Promise<ModelConfig> {
    const config = this.search.configOf(job.config, job.params!);
    if (config.id !== job.config) throw new Error(`the workload made config ${config.id} for trial ${job.config}`);
    const configs = this.ctx.workload.configs;
    const restored = configs[job.config];
    if (restored !== undefined) {
      // Put back from the earlier attempt's events before the run started (src/run/search-resume.ts).
      if (JSON.stringify(restored) !== JSON.stringify(config)) {
        throw new Error(
          `cannot resume the search: config ${job.config} was ${restored.label}, the search now makes ${config.label}`,
        );
      }
    } else {
      if (configs.length !== job.config)
        throw new Error(`config ${job.config} arrived while the workload has ${configs.length} configs`);
      configs.push(config);
    }
    if (emit) {
      await this.hooks.onConfig?.(config);
      this.ctx.emit({ type: 'search-config', config, params: job.params!, at: Date.now() });
    }
    return config;
  }

  private recordJob(job: SearchJob): void {
    this.recordedJobs.add(job.job);
    this.ctx.emit({
      type: 'search-job',
      job: job.job,
      config: job.config,
      from: job.from,
      to: job.to,
      ...(job.rung === undefined ? {} : { rung: job.rung }),
      told: job.told,
      at: Date.now(),
    });
    const what =
      job.from === 0
        ? `config ${job.config} (${this.ctx.workload.configs[job.config]?.label ?? '?'})`
        : `config ${job.config} goes on`;
    this.ctx.log(
      `search: job ${job.job}: ${what}, ` +
        `epochs ${job.from + 1}..${job.to}${job.rung === undefined ? '' : ` (rung ${job.rung})`}`,
    );
  }

  private recordTold(step: SearchStep): void {
    for (const { job, value } of step.told) {
      if (this.toldJobs.has(job.job)) continue;
      this.toldJobs.add(job.job);
      this.ctx.emit({ type: 'search-result', job: job.job, config: job.config, epochs: job.to, value, at: Date.now() });
    }
  }

  /**
   * A config's epoch was validated: when it was the last epoch of one of its jobs, the searcher
   * hears the result (in job order) and may propose jobs. Safe to call twice for one epoch. Calls
   * run one after another, so the events record configs, jobs and results in the order the search
   * made them even while a new config's model is being made (SearchHooks.onConfig).
   */
  validated(config: number, epoch: number): Promise<Arrivals> {
    const next = this.serial.then(() => this.validatedNow(config, epoch));
    this.serial = next.catch(() => undefined);
    return next;
  }

  private async validatedNow(config: number, epoch: number): Promise<Arrivals> {
    const job = this.session.jobEndingAt(config, epoch);
    const value = this.ctx.epochs.validLoss(config, epoch);
    if (!job || value === undefined) return { jobs: [], closed: this.session.done };
    const step = await this.session.report(job.job, finite(value));
    for (const next of step.jobs) {
      if (next.params) await this.register(next, true);
      this.recordJob(next);
    }
    this.recordTold(step);
    return { jobs: step.jobs, closed: this.session.done };
  }

  /** Every job proposed so far. */
  get jobs(): readonly SearchJob[] {
    return this.session.jobs;
  }

  get done(): boolean {
    return this.session.done;
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function describe(job: Pick<SearchJob, 'config' | 'from' | 'to' | 'told'>): string {
  return `config ${job.config} epochs [${job.from}, ${job.to}) after ${job.told} result(s)`;
}
