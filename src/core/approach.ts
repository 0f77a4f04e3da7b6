// The Approach contract (DESIGN section 3): an approach declares its row of Table 2 and supplies
// only what is specific to it; the harness owns timing, the run folder and resume.
import type { TrainEvent } from './types.js';
import type { ResolvedWorkload } from './workload.js';
import type { Topology } from '../db/topology.js';
import type { EpochBook } from './epoch-book.js';

export interface Layers {
  scheduling: string;
  execution: string;
  dataAccess: string;
  modelsLive: string;
}

/** Something missing on this machine, said plainly, with the command that fixes it. */
export interface Problem {
  message: string;
  fix?: string;
}

export interface RunContext {
  runId: string;
  runDir: string;
  /** Scratch space for this run: exported files, the model store. Removed by cleanup. */
  workDir: string;
  workload: ResolvedWorkload;
  topology: Topology;
  /** Free-form approach options from the CLI (`--option key=value`, `--models-in db`). */
  options: Record<string, string>;
  /** Engine threads per worker. */
  threads: number;
  signal: AbortSignal;
  emit(event: TrainEvent): void;
  log(message: string): void;
  /**
   * Finished units and validations. Report every finished unit (`unitDone`) and validation
   * (`validated`) here; on `--resume` it already holds what the earlier attempt finished
   * (`completedUnits`, which the scheduler skips).
   */
  epochs: EpochBook;
  /** Register a process this run started (engine workers) so the sampler counts its resources. */
  trackPid(pid: number): void;
}

export interface Prepared {
  /** Bytes of the packed training data as the database stores it. */
  sourceBytes: number;
  /** Bytes of copies this approach made outside the database (exports, replicas). */
  extraBytes: number;
}

export interface Approach<P extends Prepared = Prepared> {
  id: string;
  title: string;
  layers: Layers;
  check(topology: Topology): Promise<Problem[]>;
  /** The ETL; the harness times it as ETL. */
  prepare(ctx: RunContext): Promise<P>;
  /**
   * Engine start-up (optional): import engines, open and warm connections and workers, so that
   * execution pays for none of it. Timed as its own phase between ETL and execution.
   */
  startup?(ctx: RunContext, prepared: P): Promise<void>;
  /**
   * Before a resume (optional): what would make continuing lose or duplicate trained work
   * (a model missing, duplicated, or at a version its recorded units do not explain). Reads only.
   */
  verifyResume?(ctx: RunContext): Promise<Problem[]>;
  /** All epochs. Emits spans, epoch metrics, counters and finished units through ctx.emit. */
  train(ctx: RunContext, prepared: P): Promise<void>;
  /** Always called; `outcome` says whether the run finished (an incomplete run keeps what resume needs). */
  cleanup(ctx: RunContext, prepared: P | undefined, outcome: 'complete' | 'incomplete'): Promise<void>;
}

/**
 * Erase an approach's Prepared type for the registry. Sound because the harness hands the value
 * prepare() returned back to the same approach's train() and cleanup().
 */
export function defineApproach<P extends Prepared>(approach: Approach<P>): Approach {
  return approach as unknown as Approach;
}
