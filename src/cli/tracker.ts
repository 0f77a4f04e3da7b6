// What a live display knows about a run and a job, built from run events only (docs/terminal.md):
// the phase, units done, each epoch's validation figures, the units running now, and an estimate
// of the time left from measured unit times. Pure: the caller passes the clock.
import type { EpochMetrics, Phase, RunEvent } from '../core/events.js';
import type { ResolvedWorkload } from '../core/workload.js';

export interface RunShape {
  configs: number;
  segments: number;
  epochs: number;
  /**
   * A search (docs/search.md): configs arrive during the run, each with its own epochs. `trials`
   * new configs are planned, each first trained for `firstEpochs`; the units of jobs proposed so far
   * come from the 'search-job' events.
   */
  search?: { trials: number; firstEpochs: number };
}

/** The shape of a run of `workload` on `segments` segments. */
export function runShape(workload: ResolvedWorkload, segments: number): RunShape {
  const spec = workload.search?.spec;
  if (!spec) return { configs: workload.configs.length, segments, epochs: workload.epochs };
  const firstEpochs = spec.searcher === 'asha' ? Math.min(spec.minEpochs ?? 1, spec.maxEpochs) : spec.maxEpochs;
  return { configs: spec.trials, segments, epochs: spec.maxEpochs, search: { trials: spec.trials, firstEpochs } };
}

/** The harness's phases, plus what the display tells apart around and inside them. */
export type DisplayPhase = 'preparing' | Phase | 'validation' | 'finishing';

export interface EpochStats {
  epoch: number;
  configs: number;
  bestLoss: number;
  medianLoss: number;
  bestAccuracy: number;
  medianAccuracy: number;
  /** The config with the lowest validation loss. */
  bestConfig: number;
  /** From the end of the previous epoch (or the start of execution) to this epoch's last validation. */
  seconds: number | undefined;
}

/** Something worth a line of its own, above the live part of a display. */
export type Notice =
  | { kind: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { kind: 'phase-end'; phase: Phase; seconds: number }
  | { kind: 'epoch'; stats: EpochStats }
  | { kind: 'config'; metrics: EpochMetrics }
  | { kind: 'interrupted'; reason: string };

export interface ActiveUnit {
  config: number;
  segment: number;
  epoch: number;
  since: number;
}

export interface RunSnapshot {
  phase: DisplayPhase;
  unitsDone: number;
  unitsTotal: number;
  /** The epoch being trained or validated (0-based); `epochs` once every epoch is validated. */
  epoch: number;
  epochs: number;
  elapsedMs: number;
  /** Units per second, from this attempt's measurements; undefined until a unit finished. */
  rate: number | undefined;
  /** Time left to the end of execution; undefined until execution measured a unit. */
  leftMs: number | undefined;
  /** Units running now, by segment. */
  active: ActiveUnit[];
  /** A search: configs proposed so far of those planned. */
  search?: { configs: number; trials: number };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export type ConfigFigures = Pick<EpochMetrics, 'config' | 'validLoss' | 'validAccuracy'>;

/** Best and median validation figures of one epoch's configs. */
export function epochStats(epoch: number, metrics: readonly ConfigFigures[], seconds: number | undefined): EpochStats {
  let best = metrics[0];
  for (const m of metrics)
    if (m.validLoss < best.validLoss || (m.validLoss === best.validLoss && m.config < best.config)) best = m;
  return {
    epoch,
    configs: metrics.length,
    bestLoss: best.validLoss,
    medianLoss: median(metrics.map((m) => m.validLoss)),
    bestAccuracy: Math.max(...metrics.map((m) => m.validAccuracy)),
    medianAccuracy: median(metrics.map((m) => m.validAccuracy)),
    bestConfig: best.config,
    seconds,
  };
}

const unitKey = (u: { config: number; segment: number; epoch: number }): string =>
  `${u.config}/${u.segment}/${u.epoch}`;

export class RunTracker {
  private phase: DisplayPhase = 'preparing';
  private readonly unitsPerEpoch: number;
  private readonly done = new Set<string>();
  private readonly doneByEpoch = new Map<number, number>();
  private readonly validated = new Map<number, Map<number, EpochMetrics>>();
  private readonly complete = new Set<number>();
  private readonly active = new Map<string, ActiveUnit>();
  private readonly phaseStart = new Map<Phase, number>();
  /** This attempt's measurements (prior attempts' events are not timed against this clock). */
  private executionStart: number | undefined;
  private lastEpochEnd: number | undefined;
  private unitsThisAttempt = 0;
  private unitSeconds = 0;
  private unitsTimed = 0;
  private readonly validationStart = new Map<number, number>();
  private validationMs = 0;
  private validationsTimed = 0;
  /** A search's jobs seen (by number) and the units they plan, and its configs proposed. */
  private readonly searchJobs = new Set<number>();
  private searchUnits = 0;
  private searchConfigs = 0;

  constructor(
    readonly shape: RunShape,
    private readonly startedAt: number,
  ) {
    this.unitsPerEpoch = shape.configs * shape.segments;
  }

  get unitsTotal(): number {
    const { search, segments } = this.shape;
    if (!search) return this.unitsPerEpoch * this.shape.epochs;
    return this.searchUnits + Math.max(0, search.trials - this.searchConfigs) * search.firstEpochs * segments;
  }

  private applySearchJob(job: { job: number; from: number; to: number }): void {
    if (this.searchJobs.has(job.job)) return;
    this.searchJobs.add(job.job);
    this.searchUnits += (job.to - job.from) * this.shape.segments;
    if (job.from === 0) this.searchConfigs++;
  }

  /** An earlier attempt's events (--resume): what was done counts, its times do not. */
  restore(prior: readonly RunEvent[]): void {
    for (const event of prior) {
      if (event.type === 'unit') this.countUnit(event);
      else if (event.type === 'epoch') this.recordValidation(event);
      else if (event.type === 'search-job') this.applySearchJob(event);
    }
    for (const [epoch, configs] of this.validated) if (configs.size >= this.shape.configs) this.complete.add(epoch);
  }

  /** Units running now. */
  get activeCount(): number {
    return this.active.size;
  }

  apply(event: RunEvent): Notice[] {
    switch (event.type) {
      case 'phase':
        return this.applyPhase(event.phase, event.edge, event.at);
      case 'unit-start':
        this.active.set(unitKey(event), {
          config: event.config,
          segment: event.segment,
          epoch: event.epoch,
          since: event.at,
        });
        return [];
      case 'unit': {
        const started = this.active.get(unitKey(event));
        if (started) {
          this.active.delete(unitKey(event));
          this.unitSeconds += Math.max(0, event.at - started.since) / 1000;
          this.unitsTimed++;
        }
        if (this.countUnit(event)) this.unitsThisAttempt++;
        if (this.doneByEpoch.get(event.epoch) === this.unitsPerEpoch && !this.complete.has(event.epoch)) {
          this.validationStart.set(event.epoch, event.at);
        }
        return [];
      }
      case 'epoch':
        return this.applyValidation(event);
      case 'search-job':
        this.applySearchJob(event);
        return [];
      case 'log':
        return [{ kind: 'log', level: event.level, message: event.message }];
      case 'interrupted':
        this.active.clear();
        return [{ kind: 'interrupted', reason: event.reason }];
      default:
        return [];
    }
  }

  private applyPhase(phase: Phase, edge: 'start' | 'end', at: number): Notice[] {
    if (edge === 'start') {
      this.phase = phase;
      this.phaseStart.set(phase, at);
      if (phase === 'execution') {
        this.executionStart = at;
        this.lastEpochEnd = at;
      }
      return [];
    }
    this.phase = phase === 'execution' ? 'finishing' : this.phase;
    this.active.clear();
    const start = this.phaseStart.get(phase);
    return start === undefined ? [] : [{ kind: 'phase-end', phase, seconds: (at - start) / 1000 }];
  }

  /** Counts a unit once (a retried or re-trained unit is not counted twice); true if it was new. */
  private countUnit(unit: { config: number; segment: number; epoch: number }): boolean {
    const key = unitKey(unit);
    if (this.done.has(key)) return false;
    this.done.add(key);
    this.doneByEpoch.set(unit.epoch, (this.doneByEpoch.get(unit.epoch) ?? 0) + 1);
    return true;
  }

  private recordValidation(metrics: EpochMetrics): Map<number, EpochMetrics> {
    let configs = this.validated.get(metrics.epoch);
    if (!configs) {
      configs = new Map();
      this.validated.set(metrics.epoch, configs);
    }
    configs.set(metrics.config, metrics);
    return configs;
  }

  private applyValidation(metrics: EpochMetrics): Notice[] {
    const configs = this.recordValidation(metrics);
    const notices: Notice[] = [{ kind: 'config', metrics }];
    // A search's configs reach their epochs at different times: no epoch is ever the whole run's.
    if (this.shape.search) return notices;
    if (configs.size < this.shape.configs || this.complete.has(metrics.epoch)) return notices;
    this.complete.add(metrics.epoch);
    const validationStart = this.validationStart.get(metrics.epoch);
    if (validationStart !== undefined) {
      this.validationStart.delete(metrics.epoch);
      this.validationMs += Math.max(0, metrics.at - validationStart);
      this.validationsTimed++;
    }
    const seconds = this.lastEpochEnd === undefined ? undefined : (metrics.at - this.lastEpochEnd) / 1000;
    this.lastEpochEnd = metrics.at;
    notices.push({ kind: 'epoch', stats: epochStats(metrics.epoch, [...configs.values()], seconds) });
    return notices;
  }

  /** The epoch being worked on: the first one not validated entirely. */
  private currentEpoch(): number {
    for (let epoch = 0; epoch < this.shape.epochs; epoch++) if (!this.complete.has(epoch)) return epoch;
    return this.shape.epochs;
  }

  private displayPhase(): DisplayPhase {
    if (this.phase !== 'execution' || this.shape.search) return this.phase;
    const epoch = this.currentEpoch();
    return epoch < this.shape.epochs && this.doneByEpoch.get(epoch) === this.unitsPerEpoch ? 'validation' : 'execution';
  }

  /**
   * Units per second while training. Until every segment finished a unit, from measured unit
   * times and the segments working in parallel (the first units all end near one unit time, so a
   * throughput would read low); after that, this attempt's units over its training time.
   */
  private rate(now: number): number | undefined {
    if (this.executionStart === undefined || this.unitsThisAttempt === 0) return undefined;
    if (this.unitsThisAttempt < this.shape.segments && this.unitsTimed > 0) {
      return this.shape.segments / (this.unitSeconds / this.unitsTimed);
    }
    const validating = [...this.validationStart.values()].reduce((sum, start) => sum + Math.max(0, now - start), 0);
    const trainingMs = now - this.executionStart - this.validationMs - validating;
    return trainingMs > 0 ? this.unitsThisAttempt / (trainingMs / 1000) : undefined;
  }

  /**
   * Time left: the units still to train at the measured rate, plus one validation per epoch not
   * yet validated at the measured mean validation time (nothing for validation until one was
   * timed).
   */
  private left(now: number, rate: number | undefined): number | undefined {
    if (rate === undefined || this.phase !== 'execution') return this.phase === 'finishing' ? 0 : undefined;
    const trainingMs = ((this.unitsTotal - this.done.size) / rate) * 1000;
    if (this.validationsTimed === 0 || this.shape.search) return trainingMs;
    const meanValidation = this.validationMs / this.validationsTimed;
    let validationMs = 0;
    for (let epoch = 0; epoch < this.shape.epochs; epoch++) {
      if (this.complete.has(epoch)) continue;
      const started = this.validationStart.get(epoch);
      validationMs += started === undefined ? meanValidation : Math.max(0, meanValidation - (now - started));
    }
    return trainingMs + validationMs;
  }

  snapshot(now: number): RunSnapshot {
    const rate = this.rate(now);
    return {
      phase: this.displayPhase(),
      unitsDone: this.done.size,
      unitsTotal: this.unitsTotal,
      epoch: this.currentEpoch(),
      epochs: this.shape.epochs,
      elapsedMs: now - this.startedAt,
      rate,
      leftMs: this.left(now, rate),
      active: [...this.active.values()].sort((a, b) => a.segment - b.segment || a.config - b.config),
      ...(this.shape.search ? { search: { configs: this.searchConfigs, trials: this.shape.search.trials } } : {}),
    };
  }
}

export interface JobSnapshot {
  label: string;
  noun: string;
  done: number;
  total: number;
  elapsedMs: number;
  leftMs: number | undefined;
}

/**
 * A job of several items (runs of a study, studies of a reproduction). Time left: what the
 * current item says it has left (or the mean item time less its elapsed time), plus the items not
 * started at the mean measured item time (the current item's projected time until one finished).
 */
export class JobTracker {
  private done = 0;
  private readonly itemMs: number[] = [];
  private currentStart: number | undefined;

  constructor(
    readonly label: string,
    readonly total: number,
    readonly noun: string,
    private readonly startedAt: number,
  ) {}

  begin(now: number): void {
    this.currentStart = now;
  }

  /** The current item ended (finished or failed: either way it is not to be done again). */
  end(now: number): void {
    if (this.currentStart !== undefined) this.itemMs.push(now - this.currentStart);
    this.currentStart = undefined;
    this.done++;
  }

  /** Items that needed no work (reused results): counted, not timed. */
  skip(count = 1): void {
    this.done += count;
  }

  snapshot(now: number, currentLeftMs?: number): JobSnapshot {
    const base = {
      label: this.label,
      noun: this.noun,
      done: this.done,
      total: this.total,
      elapsedMs: now - this.startedAt,
    };
    const mean = this.itemMs.length > 0 ? this.itemMs.reduce((a, b) => a + b, 0) / this.itemMs.length : undefined;
    const running = this.currentStart === undefined ? 0 : 1;
    const notStarted = Math.max(0, this.total - this.done - running);
    if (running === 0)
      return { ...base, leftMs: mean === undefined ? (notStarted === 0 ? 0 : undefined) : notStarted * mean };
    const currentElapsed = now - this.currentStart!;
    const currentLeft = currentLeftMs ?? (mean === undefined ? undefined : Math.max(0, mean - currentElapsed));
    if (currentLeft === undefined) return { ...base, leftMs: undefined };
    const perItem = mean ?? currentElapsed + currentLeft;
    return { ...base, leftMs: currentLeft + notStarted * perItem };
  }
}
