// The canonical order in which a searcher hears results (docs/search.md, "Reproducible from the
// seed"). Units finish in an order that depends on timing; the searcher must not. So jobs are
// numbered in the order proposed, results are told strictly in job order, and job k is proposed
// after exactly the results of jobs 0..k-P were told (P = configs in flight): never more, even
// when later results have arrived. When the searcher answers 'wait' (ASHA: nothing to promote, no
// new config left), one more result is told before it is asked again. The sequence of tells and
// asks is then a function of the results alone, so the same seed and the same results give the
// same jobs, whatever order units finished in; a resumed run replays it from its events.
// At most P jobs are in flight: fewer while a later job finished before an earlier one.
import type { SearchParams } from '../core/search.js';
import type { Proposal, Searcher } from './types.js';

export interface SearchJob {
  /** The job's number: the order in which the searcher proposed it. */
  job: number;
  /** The config (the searcher's trial): new configs are numbered in the order they were proposed. */
  config: number;
  /** Epochs to train: [from, to) of the config's own epochs. */
  from: number;
  to: number;
  rung?: number;
  /** Results told before this job was proposed (jobs 0..told-1). */
  told: number;
  /** The point sampled, for a new config. */
  params?: SearchParams;
}

export interface ToldResult {
  job: SearchJob;
  value: number | null;
}

/** What one step of the search did: the jobs it proposed and the results it told the searcher. */
export interface SearchStep {
  jobs: SearchJob[];
  told: ToldResult[];
}

export class SearchSession {
  private readonly proposed: SearchJob[] = [];
  /** Per config: the epochs it is scheduled to have trained once its last job ends. */
  private readonly scheduledEpochs: number[] = [];
  private readonly arrived = new Map<number, number | null>();
  private told = 0;
  private waitedAt: number | undefined;
  private finished = false;
  private started = false;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly searcher: Searcher,
    /** P: jobs in flight at most. */
    readonly inFlight: number,
  ) {
    if (!Number.isInteger(inFlight) || inFlight < 1)
      throw new RangeError(`search: inFlight must be an integer >= 1, got ${inFlight}`);
  }

  /** The first jobs (up to P of them). Call once, before any report. */
  start(): Promise<SearchStep> {
    return this.serial(async () => {
      if (this.started) throw new Error('search: start() was called twice');
      this.started = true;
      return this.pump();
    });
  }

  /**
   * The result of job `job` (the validation loss after its last epoch; null if it was not finite).
   * It is told once every earlier job's result was; the step holds what that made possible. A
   * result given twice is ignored the second time.
   */
  report(job: number, value: number | null): Promise<SearchStep> {
    return this.serial(async () => {
      if (!this.started) throw new Error('search: report() before start()');
      if (!Number.isInteger(job) || job < 0) throw new RangeError(`search: no job ${job}`);
      if (job < this.told || this.arrived.has(job)) return { jobs: [], told: [] };
      this.arrived.set(job, value);
      return this.pump();
    });
  }

  /** No job will be proposed any more (jobs already proposed may still run). */
  get done(): boolean {
    return this.finished;
  }

  get jobs(): readonly SearchJob[] {
    return this.proposed;
  }

  /** The job that ends with `config`'s epoch `epoch` (its last epoch), if one does. */
  jobEndingAt(config: number, epoch: number): SearchJob | undefined {
    return this.proposed.find((j) => j.config === config && j.to === epoch + 1);
  }

  close(): Promise<void> {
    return this.searcher.close();
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.lock.then(work, work);
    this.lock = next.catch(() => undefined);
    return next;
  }

  private async pump(): Promise<SearchStep> {
    const step: SearchStep = { jobs: [], told: [] };
    while (!this.finished) {
      const required = Math.max(
        this.proposed.length - this.inFlight + 1,
        this.waitedAt === undefined ? 0 : this.waitedAt + 1,
      );
      while (this.told < required) {
        if (!this.arrived.has(this.told)) return step;
        await this.tellNext(step);
      }
      const ask = await this.searcher.ask();
      if (ask === 'done') {
        this.finished = true;
      } else if (ask === 'wait') {
        if (this.told === this.proposed.length)
          throw new Error(`search: ${this.searcher.name} waits for a result while no job runs`);
        this.waitedAt = this.told;
      } else {
        this.waitedAt = undefined;
        const job = this.jobOf(ask);
        this.proposed.push(job);
        step.jobs.push(job);
      }
    }
    // Done proposing: the rest of the results are told as they come, still in job order, so the
    // searcher (and the run's record) hears every one.
    while (this.arrived.has(this.told) && this.told < this.proposed.length) await this.tellNext(step);
    return step;
  }

  private async tellNext(step: SearchStep): Promise<void> {
    const value = this.arrived.get(this.told) ?? null;
    this.arrived.delete(this.told);
    await this.searcher.tell(this.told, value);
    step.told.push({ job: this.proposed[this.told], value });
    this.told++;
  }

  private jobOf(proposal: Proposal): SearchJob {
    const job = this.proposed.length;
    const told = this.told;
    if (proposal.kind === 'new') {
      const config = this.scheduledEpochs.length;
      this.scheduledEpochs.push(proposal.epochs);
      return { job, config, from: 0, to: proposal.epochs, rung: proposal.rung, told, params: proposal.params };
    }
    const from = this.scheduledEpochs[proposal.trial];
    if (from === undefined)
      throw new Error(`search: ${this.searcher.name} promoted trial ${proposal.trial}, which does not exist`);
    if (!(proposal.epochs > from))
      throw new Error(`search: trial ${proposal.trial} promoted to ${proposal.epochs} epochs, it has ${from}`);
    this.scheduledEpochs[proposal.trial] = proposal.epochs;
    return { job, config: proposal.trial, from, to: proposal.epochs, rung: proposal.rung, told };
  }
}
