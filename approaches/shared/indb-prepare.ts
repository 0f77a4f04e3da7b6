// What udaf, ctq and ma share around their training loops: the ETL (packing inside the database,
// nothing copied out), the `cache` option, the run's views and session (the start-up phase), the
// resume check of their models, and cleanup. docs/indb.md explains the design.
import { NO_COPIES, type Prepared, type Problem, type RunContext } from '../../src/core/approach.js';
import { booleanOption, type OptionValues } from '../../src/core/options.js';
import { dropDistributedTable, dropDistributedView } from '../../src/db/distributed.js';
import { createStepView, createWarmView, engineMeta, indbObjectName, type TaskSource } from '../../src/engine/indb.js';
import { IndbSession, type DirectRole } from './indb-session.js';
import {
  modelsTableExists,
  newConnections,
  planModelRecovery,
  readTableCopies,
  type ModelRecovery,
  type RecoveryOptions,
  type TableAccess,
} from './models-table.js';
import { PACKING_OPTIONS, packForRun, packedData } from './pack.js';

/** Options every in-DBMS approach declares. */
export const INDB_OPTIONS = {
  ...PACKING_OPTIONS,
  cache: booleanOption(
    true,
    "decoded training buffers stay in each segment backend's memory across statements (MADlib's use_caching)",
  ),
} as const;

export type InDbmsContext = RunContext<OptionValues<typeof INDB_OPTIONS>>;

export interface InDbmsPrepared extends Prepared {
  trainTable: string;
  validTable: string;
  /** The run's connections, opened and warmed by the approach's startup. */
  session?: IndbSession;
}

export async function prepareInDbms(ctx: InDbmsContext): Promise<InDbmsPrepared> {
  const packed = await packForRun(ctx);
  return { trainTable: packed.trainTable, validTable: packed.validTable, data: packedData(packed), copies: NO_COPIES };
}

export interface RunViews {
  train: string;
  valid: string;
  warm: string;
}

export function runViewNames(runId: string): RunViews {
  return {
    train: indbObjectName(runId, 'train'),
    valid: indbObjectName(runId, 'valid'),
    warm: indbObjectName(runId, 'warm'),
  };
}

/**
 * The start-up phase of an in-DBMS run: the run's views (training, validation, warm-up) on every
 * segment, then the session's connections, each segment backend importing the engine.
 */
export async function startInDbms(
  ctx: InDbmsContext,
  prepared: InDbmsPrepared,
  source: TaskSource,
  options: {
    connections: 'one' | 'perSegment';
    returnModel: boolean;
    averager: boolean;
    direct: readonly DirectRole[];
  },
): Promise<IndbSession> {
  if (prepared.session) return prepared.session;
  const { topology } = ctx;
  const meta = engineMeta(ctx.workload, ctx.threads);
  const views = runViewNames(ctx.runId);
  const cache = ctx.options.cache;
  const common = { source, meta, cache };
  await createStepView(topology, views.train, {
    ...common,
    data: prepared.trainTable,
    kind: 'train',
    writeBack: !options.returnModel,
    returnModel: options.returnModel,
  });
  await createStepView(topology, views.valid, {
    ...common,
    data: prepared.validTable,
    kind: 'valid',
    writeBack: false,
    returnModel: false,
  });
  await createWarmView(topology, views.warm, meta);
  prepared.session = await IndbSession.open(ctx, {
    connections: options.connections,
    warmView: views.warm,
    meta,
    averager: options.averager,
    direct: { roles: options.direct, table: source.kind === 'table' ? source.table : undefined },
    stepViews: [views.train, views.valid],
  });
  return prepared.session;
}

/**
 * The models table's recovery plan for a resume (udaf, ctq --models-in db, ma): over new
 * connections by default, or over a session's open ones (`access`, in execution).
 */
export async function recoverTableModels(
  ctx: RunContext,
  table: string,
  layout: RecoveryOptions['layout'],
  access: TableAccess = newConnections(ctx.topology),
): Promise<ModelRecovery> {
  const configs = ctx.workload.configs.map((c) => c.id);
  const options = { configs, segments: ctx.topology.segments.length, layout, absentMeansFresh: false };
  const fresh = ctx.epochs.completedUnits.length === 0;
  if (!(await modelsTableExists(access, table))) {
    // Nothing trained was recorded: prepare makes the table anew.
    if (fresh) return { problems: [], current: new Map(), unrecorded: [], drop: [], refresh: [] };
    const problems: Problem[] = [
      {
        message: `the run's models table ${table} is gone from the cluster, with every model it trained`,
        fix: 'start a new run',
      },
    ];
    return { problems, current: new Map(), unrecorded: [], drop: [], refresh: [] };
  }
  return planModelRecovery(await readTableCopies(access, table), ctx.epochs.completedUnits, options);
}

/** Close the session; when the run is complete, drop its views and models table. */
export async function cleanupInDbms(
  ctx: RunContext,
  prepared: InDbmsPrepared | undefined,
  outcome: 'complete' | 'incomplete',
  modelsTable?: string,
): Promise<void> {
  await prepared?.session?.close();
  if (prepared) prepared.session = undefined;
  // An interrupted run keeps everything (an instance may be down); a resume makes the views anew.
  if (outcome !== 'complete') return;
  const views = runViewNames(ctx.runId);
  await Promise.all([views.train, views.valid, views.warm].map((v) => dropDistributedView(ctx.topology, v)));
  if (modelsTable) await dropDistributedTable(ctx.topology, modelsTable);
}
