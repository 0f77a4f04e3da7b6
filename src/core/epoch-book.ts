// Per config and epoch: the training loss sums of finished units and whether the epoch was
// validated. Approaches report every finished unit and every validation here; the book emits the
// 'unit' and 'epoch' events. On resume it is rebuilt from the interrupted run's events, so an epoch
// split across two attempts still reports its full training loss, and an epoch whose units all
// finished before the interruption but was never validated is found and validated.
import type {
  EpochMetrics,
  RunEvent,
  SearchConfigEvent,
  SearchJobEvent,
  SearchResultEvent,
  TrainEvent,
  UnitDone,
} from './events.js';
import type { Unit } from './unit.js';

export interface UnitResult {
  lossSum: number;
  examples: number;
  /** The model's version after the unit (sub-epochs trained), where the approach stores one. */
  modelVersion?: number;
}

export interface ValidationResult {
  config: number;
  lossSum: number;
  correct: number;
  examples: number;
}

/** The shape of a run: configs (0 for a search, whose configs arrive during the run) and segments. */
export interface BookShape {
  configs: number;
  segments: number;
}

export type SearchEvent = SearchConfigEvent | SearchJobEvent | SearchResultEvent;

export class EpochBook {
  private readonly train = new Map<string, UnitResult>();
  private readonly unitsDone = new Map<number, number>();
  private readonly unitsDoneOf = new Map<string, number>();
  private readonly unitKeys = new Set<string>();
  private readonly validLosses = new Map<string, number>();
  readonly completedUnits: UnitDone[] = [];
  /** A search's events from an earlier attempt (resume replays the search from them). */
  readonly priorSearch: SearchEvent[] = [];
  private readonly unitsPerEpoch: number;

  constructor(
    private readonly emit: (event: TrainEvent) => void,
    private readonly shape: BookShape,
    prior: readonly RunEvent[] = [],
  ) {
    this.unitsPerEpoch = shape.configs * shape.segments;
    for (const event of prior) {
      if (event.type === 'unit') this.record(event);
      else if (event.type === 'epoch') this.recordValidation(event);
      else if (event.type === 'search-config' || event.type === 'search-job' || event.type === 'search-result') {
        this.priorSearch.push(event);
      }
    }
  }

  private record(unit: UnitDone): void {
    this.completedUnits.push(unit);
    const key = `${unit.config}/${unit.epoch}`;
    const sums = this.train.get(key) ?? { lossSum: 0, examples: 0 };
    sums.lossSum += unit.lossSum;
    sums.examples += unit.examples;
    this.train.set(key, sums);
    this.unitsDone.set(unit.epoch, (this.unitsDone.get(unit.epoch) ?? 0) + 1);
    const unitKey = `${key}/${unit.segment}`;
    if (!this.unitKeys.has(unitKey)) {
      this.unitKeys.add(unitKey);
      this.unitsDoneOf.set(key, (this.unitsDoneOf.get(key) ?? 0) + 1);
    }
  }

  private recordValidation(metrics: EpochMetrics): void {
    this.validLosses.set(`${metrics.config}/${metrics.epoch}`, metrics.validLoss);
  }

  /** A sub-epoch begins: emit the 'unit-start' event (for live displays; nothing is computed from it). */
  unitStarted(unit: Unit): void {
    this.emit({ type: 'unit-start', config: unit.config, segment: unit.segment, epoch: unit.epoch, at: Date.now() });
  }

  /** A sub-epoch finished: record its training loss and emit the 'unit' event (resume reads it). */
  unitDone(unit: Unit, result: UnitResult): void {
    const event: UnitDone = {
      type: 'unit',
      config: unit.config,
      segment: unit.segment,
      epoch: unit.epoch,
      lossSum: result.lossSum,
      examples: result.examples,
      ...(result.modelVersion === undefined ? {} : { modelVersion: result.modelVersion }),
      at: Date.now(),
    };
    this.record(event);
    this.emit(event);
  }

  /** A config was validated after an epoch: emit its epoch metrics. */
  validated(epoch: number, result: ValidationResult): EpochMetrics {
    const train = this.train.get(`${result.config}/${epoch}`);
    if (!train || train.examples === 0)
      throw new Error(`config ${result.config} trained on no examples in epoch ${epoch}`);
    if (result.examples === 0)
      throw new Error(`config ${result.config} was validated on no examples in epoch ${epoch}`);
    const metrics: EpochMetrics = {
      type: 'epoch',
      config: result.config,
      epoch,
      trainLoss: train.lossSum / train.examples,
      validLoss: result.lossSum / result.examples,
      validAccuracy: result.correct / result.examples,
      trainExamples: train.examples,
      at: Date.now(),
    };
    this.recordValidation(metrics);
    this.emit(metrics);
    return metrics;
  }

  isValidated(config: number, epoch: number): boolean {
    return this.validLosses.has(`${config}/${epoch}`);
  }

  /** The validation loss of a config after an epoch, once validated. */
  validLoss(config: number, epoch: number): number | undefined {
    return this.validLosses.get(`${config}/${epoch}`);
  }

  isUnitDone(unit: Unit): boolean {
    return this.unitKeys.has(`${unit.config}/${unit.epoch}/${unit.segment}`);
  }

  /** Whether a config's epoch has a finished unit on every segment. */
  epochTrained(config: number, epoch: number): boolean {
    return (this.unitsDoneOf.get(`${config}/${epoch}`) ?? 0) >= this.shape.segments;
  }

  /**
   * (config, epoch) pairs an earlier attempt finished training but did not validate (configs with their own
   * epochs).
   */
  unvalidatedConfigEpochs(): { config: number; epoch: number }[] {
    const out: { config: number; epoch: number }[] = [];
    for (const [key, done] of this.unitsDoneOf) {
      const [config, epoch] = key.split('/').map(Number);
      if (done >= this.shape.segments && !this.isValidated(config, epoch)) out.push({ config, epoch });
    }
    return out.sort((a, b) => a.config - b.config || a.epoch - b.epoch);
  }

  /** Epochs an earlier attempt finished training but did not finish validating. */
  unvalidatedCompleteEpochs(): number[] {
    const epochs: number[] = [];
    for (const [epoch, done] of [...this.unitsDone].sort((a, b) => a[0] - b[0])) {
      if (done < this.unitsPerEpoch) continue;
      for (let config = 0; config < this.shape.configs; config++) {
        if (!this.isValidated(config, epoch)) {
          epochs.push(epoch);
          break;
        }
      }
    }
    return epochs;
  }
}
