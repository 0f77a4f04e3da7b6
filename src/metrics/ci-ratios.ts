// A run's times as ratios to the raw engine loop measured in the same run (docs/ci.md, "Ratios to
// the raw loop"): what `bench compare --metric ratio-to-raw` and `npm run bench:ci` judge.
//
// Why ratios: seconds do not travel between machines (a CI runner, a laptop, a core pinned away),
// but "how many times longer than the bare training loop would take for the same work" mostly
// does, because the run's calibration phase measured the bare loop on the same machine, with the
// same workers and threads, a moment before execution.
//
// Definitions, for one run on `segments` workers (raw = the calibration's examples/s PER WORKER):
//   rawSeconds     = examplesTrained / raw / segments: how long the raw loop would take to train
//                    the run's examples (every config, every epoch) on the same number of workers
//   executionRatio = executionSeconds / rawSeconds
//   etlRatio       = etlSeconds / rawSeconds. ETL has no raw-loop counterpart; it is normalised by
//                    the same raw-loop time only so that a machine's speed cancels out. It is NOT
//                    "ETL is x times training"; compare it only with itself.
//   epochRatio     = mean(epochSeconds) / (rawSeconds / epochs): the mean epoch window against
//                    the raw loop's time for one epoch of every config (epochs = the distinct epoch
//                    numbers of the run's 'epoch' events)
// examplesTrained counts each (config, epoch) once (the last 'epoch' event wins, as in the summary).
import type { Calibration, RunEvent } from '../core/events.js';
import type { Summary } from '../core/records.js';
import { mean } from './stats.js';

export interface RunRatios {
  executionRatio: number;
  etlRatio: number;
  /** null when the run recorded no epoch windows. */
  epochRatio: number | null;
  /** The raw loop's seconds for the run's examples on its workers (the denominator). */
  rawSeconds: number;
  examplesTrained: number;
  epochs: number;
}

export interface RatioInput {
  summary: Pick<Summary, 'executionSeconds' | 'etlSeconds' | 'epochSeconds'>;
  /** What the run trained (trainedExamples). */
  trained: TrainedExamples;
  /** Workers the run trained on (run.json's segments). */
  segments: number;
}

export interface TrainedExamples {
  /** Examples trained, summed over configs and epochs. */
  examples: number;
  /** Distinct epoch numbers trained. */
  epochs: number;
}

/** Examples trained per epoch, each (config, epoch) once, the last 'epoch' event of each winning. */
export function examplesByEpoch(events: readonly RunEvent[]): Map<number, number> {
  const last = new Map<string, { epoch: number; examples: number }>();
  for (const e of events)
    if (e.type === 'epoch') last.set(`${e.config}/${e.epoch}`, { epoch: e.epoch, examples: e.trainExamples });
  const byEpoch = new Map<number, number>();
  for (const { epoch, examples } of last.values()) byEpoch.set(epoch, (byEpoch.get(epoch) ?? 0) + examples);
  return byEpoch;
}

/** Examples trained and epochs, from the run's 'epoch' events. */
export function trainedExamples(events: readonly RunEvent[]): TrainedExamples {
  const byEpoch = examplesByEpoch(events);
  return { examples: [...byEpoch.values()].reduce((a, b) => a + b, 0), epochs: byEpoch.size };
}

/** The run's last calibration (a resumed run calibrates again), or null when it has none. */
export function lastCalibration(events: readonly RunEvent[]): Calibration | null {
  let found: Calibration | null = null;
  for (const e of events) if (e.type === 'calibration') found = e;
  return found;
}

/** One run's ratios to the raw loop (rawExamplesPerSecond: per worker). */
export function runRatios(input: RatioInput, rawExamplesPerSecond: number): RunRatios {
  if (!(rawExamplesPerSecond > 0))
    throw new RangeError(`the raw loop's examples/s must be positive, got ${rawExamplesPerSecond}`);
  if (!(input.segments >= 1)) throw new RangeError(`segments must be at least 1, got ${input.segments}`);
  const { examples: examplesTrained, epochs } = input.trained;
  if (!(examplesTrained > 0) || !(epochs > 0))
    throw new RangeError('the run trained no examples (no epoch events): no ratio to the raw loop');
  const rawSeconds = examplesTrained / rawExamplesPerSecond / input.segments;
  const s = input.summary;
  return {
    executionRatio: s.executionSeconds / rawSeconds,
    etlRatio: s.etlSeconds / rawSeconds,
    epochRatio: s.epochSeconds.length > 0 ? mean(s.epochSeconds) / (rawSeconds / epochs) : null,
    rawSeconds,
    examplesTrained,
    epochs,
  };
}
