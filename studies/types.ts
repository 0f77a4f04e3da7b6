// The vocabulary of studies (docs/studies.md): a study declares the runs it needs (a grid of
// approach x workload x segments x options x repeats at one scale) and renders its tables and
// figures from the stored runs. Nothing here runs anything; studies/execute.ts does.
import type { Problem } from '../src/core/approach.js';
import type { RunEvent } from '../src/core/events.js';
import type { LoadedRun } from '../src/core/records.js';
import type { ResolvedWorkload, ScaleName } from '../src/core/workload.js';
import type { Figure } from '../reports/figure9.js';

/** One run a study needs. Two studies that need the same request share one stored run. */
export interface RunRequest {
  approach: string;
  workload: string;
  scale: ScaleName;
  segments: number;
  /** Approach and workload options together, as `--option key=value` would give them. */
  options: Readonly<Record<string, string>>;
  /** The run's seed; repeat r of a grid has seed r + 1. */
  seed: number;
}

export interface StudyContext {
  scale: ScaleName;
  /** Runs per grid cell (seeds 1..repeats). */
  repeats: number;
}

/** A request with the stored run that answers it, if there is one. */
export interface Answered {
  request: RunRequest;
  run: LoadedRun | undefined;
  /** Why there is no run: the error of the attempt made in this invocation. */
  failure?: string;
}

/** What a study renders: files by name (Markdown, CSV, JSON) and figures. */
export interface StudyArtifacts {
  files: { name: string; content: string }[];
  figures: Figure[];
  /** Things a reader must know: runs that failed, numbers that could not be computed and why. */
  notes: string[];
}

export interface Study {
  id: string;
  /** The paper's artifacts it reproduces: "Table 6, Figure 9 (section 5.1)". */
  artifact: string;
  description: string;
  /** The runs it needs at this scale and number of repeats; the same list every time (resumable). */
  runs(ctx: StudyContext): RunRequest[];
  /** Why the study cannot run here at all (checked before any run starts). */
  check?(ctx: StudyContext): Problem[];
  /** Tables and figures from the answered requests (in the order `runs` gave them). */
  render(answered: Answered[], ctx: StudyContext): StudyArtifacts | Promise<StudyArtifacts>;
}

/** How a study's runs are shown while it executes (the CLI passes its progress display). */
export interface StudyObserver {
  runStarting(
    request: RunRequest,
    workload: ResolvedWorkload,
    segments: number,
  ): { onEvent(event: RunEvent): void; finish(): void };
  /** Runs found stored, so not run again. */
  runsReused(count: number): void;
  note(message: string): void;
}

const describeProblem = (p: Problem): string => (p.fix ? `${p.message} (fix: ${p.fix})` : p.message);

/** A study that cannot run here: the message says what is missing and what would fix it. */
export class StudyError extends Error {
  constructor(
    readonly study: string,
    readonly problems: Problem[],
  ) {
    super(`study ${study} cannot run: ${problems.map(describeProblem).join('; ')}`);
    this.name = 'StudyError';
  }
}

/** Segment counts of the end-to-end studies at each scale (the paper: 8 workers). */
export const SEGMENTS_AT_SCALE: Record<ScaleName, number> = { tiny: 2, small: 4, medium: 8, paper: 8 };

/** The requests of a grid, repeats expanded (seed r + 1). */
export function grid(
  ctx: StudyContext,
  cells: { approach: string; workload: string; segments: number; options?: Record<string, string> }[],
): RunRequest[] {
  const out: RunRequest[] = [];
  for (const cell of cells) {
    for (let r = 0; r < ctx.repeats; r++) {
      out.push({ ...cell, options: cell.options ?? {}, scale: ctx.scale, seed: r + 1 });
    }
  }
  return out;
}
