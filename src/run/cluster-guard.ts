// Whether `bench run` may rebuild the embedded cluster (docs/resume.md, "Rebuilding the cluster"):
// asking for another segment count than the cluster has rebuilds it from scratch, which deletes its
// loaded datasets, packed tables and the models of in-database runs. A resume never does that; a
// new run does it only when no interrupted run on the current cluster could be resumed, unless told
// to anyway. Read-only: it looks at the cluster's recorded topology and the runs directory.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runInfoSchema, summarySchema, type RunInfo } from '../core/records.js';
import { clusterStatus, refuseWhileRunHolds } from '../db/cluster.js';
import { RUN_FILES } from '../store/run-folder.js';

export interface ClusterChoice {
  /** --db: an existing coordinator (then nothing is rebuilt). */
  db?: string;
  /** The segments asked for (for a resume: the run's). */
  segments?: number;
  /** The run being resumed. */
  resume?: RunInfo;
  /** Where interrupted runs that could depend on the cluster are looked for. */
  runsDir: string;
  /** --rebuild-cluster: rebuild even though interrupted runs depend on the current cluster. */
  rebuild?: boolean;
}

/** An interrupted run that recorded sub-epochs: a rebuild would take what it resumes from. */
export interface DependentRun {
  dir: string;
  info: RunInfo;
}

/** The same rule as src/db/resolve.ts: --db or PG* variables name an existing coordinator. */
function usesEmbeddedCluster(db: string | undefined): boolean {
  const env = process.env;
  return db === undefined && !env.PGHOST && !env.PGPORT && !env.PGDATABASE;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Interrupted runs in `runsDir` on `segments` segments that recorded at least one sub-epoch. */
export function resumableRuns(runsDir: string, segments: number): DependentRun[] {
  if (!existsSync(runsDir)) return [];
  const out: DependentRun[] = [];
  for (const name of readdirSync(runsDir).sort()) {
    const dir = join(runsDir, name);
    const info = runInfoSchema.safeParse(readJson(join(dir, RUN_FILES.info)));
    if (!info.success || info.data.segments !== segments) continue;
    const summary = summarySchema.safeParse(readJson(join(dir, RUN_FILES.summary)));
    if (summary.success && summary.data.status === 'complete') continue;
    let events = '';
    try {
      events = readFileSync(join(dir, RUN_FILES.events), 'utf8');
    } catch {
      continue;
    }
    if (events.includes('"type":"unit"')) out.push({ dir, info: info.data });
  }
  return out;
}

const DELETES = 'its loaded datasets, packed tables and the models of in-database runs';

/**
 * Throws when the cluster would be rebuilt and must not be; returns a line to print when it will be
 * rebuilt, undefined when it will not be.
 */
export async function checkClusterRebuild(choice: ClusterChoice): Promise<string | undefined> {
  if (!usesEmbeddedCluster(choice.db)) return undefined;
  const status = await clusterStatus();
  if (!status) return undefined;
  const current = status.length - 1;
  const wanted = choice.segments;
  if (wanted === undefined || wanted === current) return undefined;
  if (choice.resume) {
    throw new Error(
      `cannot resume ${choice.resume.runId}: it ran on ${wanted} segments ` +
        `and the embedded cluster now has ${current}. ` +
        `A resume never rebuilds the cluster (that deletes ${DELETES}); nothing was changed. ` +
        `To rebuild it on purpose: bench db up --segments ${wanted}, then resume again`,
    );
  }
  await refuseWhileRunHolds(`be rebuilt from ${current} to ${wanted} segments for this run`);
  const dependents = resumableRuns(choice.runsDir, current);
  if (dependents.length > 0 && !choice.rebuild) {
    throw new Error(
      `--segments ${wanted} would rebuild the embedded cluster (it has ${current} segments), deleting ${DELETES}; ` +
        `these interrupted runs on it could then not be resumed as they are:\n` +
        dependents.map((d) => `  - ${d.dir} (${d.info.approach})`).join('\n') +
        '\nResume them first (bench run ... --resume <folder>), or pass --rebuild-cluster to rebuild anyway; ' +
        'nothing was changed',
    );
  }
  return `rebuilding the embedded cluster from ${current} to ${wanted} segments: this deletes ${DELETES}`;
}
