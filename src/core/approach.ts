// The Approach contract (docs/architecture.md, "Approaches"): an approach declares its row of the
// paper's Table 2 and its options, and supplies only what is specific to it; the harness owns the
// phases, the run folder, resume and the timing.
import type { EpochBook } from './epoch-book.js';
import type { TrainEvent } from './events.js';
import type { OptionSpecs, OptionValue, OptionValues } from './options.js';
import type { DataBytes } from './records.js';
import type { Topology } from './topology.js';
import type { ResolvedWorkload } from './workload.js';

export interface Layers {
  scheduling: string;
  execution: string;
  dataAccess: string;
  modelsLive: string;
}

/** Something missing or wrong, said plainly, with the command that fixes it. */
export interface Problem {
  message: string;
  fix?: string;
}

export interface RunContext<O extends Record<string, OptionValue> = Record<string, OptionValue>> {
  runId: string;
  runDir: string;
  /** Scratch space for this run: exported files, the model store. Removed when the run completes. */
  workDir: string;
  workload: ResolvedWorkload;
  topology: Topology;
  /** The approach's declared options, parsed, defaults filled in. */
  options: O;
  /** Engine threads per worker. */
  threads: number;
  signal: AbortSignal;
  emit(event: TrainEvent): void;
  log(message: string): void;
  /**
   * Finished units and validations. Report every finished unit (`unitDone`) and validation
   * (`validated`) here, and every unit as it begins (`unitStarted`, for live displays); on
   * `--resume` it already holds what the earlier attempt finished (`completedUnits`, which the
   * scheduler skips).
   */
  epochs: EpochBook;
  /** Register a process this run started (engine workers) so the sampler counts its resources. */
  trackPid(pid: number): void;
}

/**
 * What an approach's ETL leaves: the sizes behind its storage blowup (docs/measurement.md,
 * "Storage blowup"). Training data only: validation copies count on neither side.
 */
export interface Prepared {
  /** The packed training data in the database, as stored and as logical bytes. */
  data: DataBytes;
  /** Copies of the training data this approach keeps besides the database (exports, replicas); NO_COPIES if none. */
  copies: DataBytes;
}

export const NO_COPIES: DataBytes = Object.freeze({ storedBytes: 0, logicalBytes: 0 });

export interface Approach<P extends Prepared = Prepared, S extends OptionSpecs = OptionSpecs> {
  id: string;
  title: string;
  layers: Layers;
  /** The options the approach reads (`--option key=value`); anything else is refused. */
  options: S;
  /**
   * Whether it runs a workload with a search (configs that arrive during the run and may stop
   * early, docs/search.md). One that does not is refused such a workload before the run starts.
   */
  searches?: boolean;
  check(topology: Topology): Promise<Problem[]>;
  /**
   * Before a resumed run does anything else: whether the state the earlier attempt left (models,
   * checkpoints) matches its recorded units. Problems refuse the resume, naming what is missing.
   */
  verifyResume?(ctx: RunContext<OptionValues<S>>): Promise<Problem[]>;
  /** The ETL; the harness times it as the ETL phase. */
  prepare(ctx: RunContext<OptionValues<S>>): Promise<P>;
  /**
   * Engine start-up (backends importing the engine, workers spawning, CUDA init); the harness
   * times it as the start-up phase, between ETL and execution.
   */
  startup?(ctx: RunContext<OptionValues<S>>, prepared: P): Promise<void>;
  /** All epochs. Emits spans, epoch metrics, counters and finished units through ctx.emit. */
  train(ctx: RunContext<OptionValues<S>>, prepared: P): Promise<void>;
  /** Always called; `outcome` says whether the run finished (an incomplete run keeps what resume needs). */
  cleanup(ctx: RunContext<OptionValues<S>>, prepared: P | undefined, outcome: 'complete' | 'incomplete'): Promise<void>;
}

/**
 * Erase an approach's Prepared and option types for the registry. Sound because the harness hands
 * the value prepare() returned back to the same approach's other methods, and the options it
 * parsed against the approach's own declarations.
 */
export function defineApproach<P extends Prepared, S extends OptionSpecs>(approach: Approach<P, S>): Approach {
  return approach as unknown as Approach;
}

/** Why `approach` cannot run `workload`, or undefined when it can; `capable` names those that could. */
export function searchRefusal(
  approach: Pick<Approach, 'id' | 'searches'>,
  workload: Pick<ResolvedWorkload, 'id' | 'search'>,
  capable: readonly string[],
): string | undefined {
  if (!workload.search || approach.searches) return undefined;
  return (
    `approach ${approach.id} cannot run workload ${workload.id}: ` +
    `its configs come from a ${workload.search.spec.searcher} search ` +
    `and arrive during the run, while ${approach.id} trains a fixed set of configs in lock step over every segment. ` +
    (capable.length > 0
      ? `Approaches that run searches: ${capable.join(', ')}`
      : 'Run it with an approach that declares searches') +
    ' (docs/search.md)'
  );
}
