// What a resume must match (docs/resume.md): the request is compared with the interrupted run's
// run.json before anything else happens (before the cluster is resolved, so a resume never
// rebuilds it, and before the lock, the ETL or the dataset load).
import type { OptionValue } from '../core/options.js';
import type { RunInfo } from '../core/records.js';
import type { ResolvedWorkload } from '../core/workload.js';
import { RunFolder } from '../store/run-folder.js';

export interface ResumeRequest {
  approach: string;
  workload: Pick<ResolvedWorkload, 'id' | 'scale' | 'seed' | 'epochs'>;
  /** The approach's options as parsed (every declared one, defaults filled in). */
  options: Readonly<Record<string, OptionValue>>;
  workloadOptions?: Readonly<Record<string, OptionValue>>;
  /** Segments of the cluster the resume would run on; undefined: not known yet (the run's own count will be used). */
  segments?: number;
}

/** Each field of run.json the request differs in, as "name was X, now Y". */
export function resumeMismatches(info: RunInfo, request: ResumeRequest): string[] {
  const { workload } = request;
  const wanted: [string, unknown, unknown][] = [
    ['approach', info.approach, request.approach],
    ['workload', info.workload, workload.id],
    ['scale', info.scale, workload.scale],
    ['seed', info.seed, workload.seed],
    ['epochs', info.epochs, workload.epochs],
    ['options', JSON.stringify(info.options), JSON.stringify(request.options)],
  ];
  if (request.segments !== undefined) wanted.push(['segments', info.segments, request.segments]);
  if (info.workloadOptions && request.workloadOptions) {
    wanted.push(['workload options', JSON.stringify(info.workloadOptions), JSON.stringify(request.workloadOptions)]);
  }
  return wanted
    .filter(([, was, is]) => was !== is)
    .map(([name, was, is]) => `${name} was ${String(was)}, now ${String(is)}`);
}

/** Opens the run folder to resume, or throws saying why it cannot be resumed with this request. */
export function checkResumeRequest(dir: string, request: ResumeRequest): RunFolder {
  const folder = RunFolder.open(dir);
  const mismatches = resumeMismatches(folder.info, request);
  if (mismatches.length > 0) {
    throw new Error(
      `cannot resume ${folder.info.runId} with a different request: ${mismatches.join('; ')} (nothing was changed)`,
    );
  }
  return folder;
}
