// CTQ, Concurrent Targeted Queries (paper 3.2): one coordinator connection per segment, open for the
// whole run (so each segment's backend imports the engine once, in the start-up phase); each
// (config, segment) unit of Cerebro's async random scheduler is ONE query through the coordinator
// that reads only that segment's partition of the run's training view (`WHERE seg = i AND config =
// c AND version = v`, pruned to that segment, the quals shipped there), where `bench_step` trains
// the config's model over the partition's buffers. No barrier between segments.
// Models live in the shared model store (files, the default), or with `--option models-in=db` in a
// distributed models table (the governance variant of paper 4.2), hopping to the unit's segment
// (copy, verify, delete) before it trains there. docs/indb.md. A search's configs arrive during the
// run (docs/search.md): their rows are added to the models table, or with files to a configs table
// the step views read, and each is validated by the unit that completes its epoch.
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { defineApproach, type Problem, type RunContext } from '../src/core/approach.js';
import { choiceOption, stringOption, type OptionValues } from '../src/core/options.js';
import { modelSeed, type ModelConfig } from '../src/core/workload.js';
import { createDistributedTable, dropDistributedTable, onEverySegment } from '../src/db/distributed.js';
import { ident } from '../src/db/connect.js';
import { postgresOwner, sharedModelDir } from '../src/db/cluster.js';
import { createAsyncRandomScheduler } from '../src/sched/async-random.js';
import { runSchedule } from '../src/sched/driver.js';
import type { Unit } from '../src/core/unit.js';
import type { Interval } from '../src/metrics/summarize.js';
import {
  configSpec,
  emitEngineSpans,
  indbObjectName,
  modelBytesMoved,
  parseStepFrame,
  type StepRow,
  type Task,
  type TaskSource,
} from '../src/engine/indb.js';
import {
  cleanupInDbms,
  INDB_OPTIONS,
  prepareInDbms,
  recoverTableModels,
  runViewNames,
  startInDbms,
  type InDbmsPrepared,
  type RunViews,
} from './shared/indb-prepare.js';
import type { IndbSession } from './shared/indb-session.js';
import { checkInDbms } from './shared/checks.js';
import {
  applyModelRecovery,
  createModelsTable,
  hopModels,
  insertConfigRows,
  planModelRecovery,
  readFileCopies,
  removeUnfinishedCheckpoints,
  type ModelCopy,
  type ModelRecovery,
  modelsTable,
  type TableAccess,
} from './shared/models-table.js';
import { injectionPoint } from './shared/injection-points.js';
import { runAsyncSearch } from './shared/search-drive.js';
import { emitStatementSpans, timed, type SegmentSpans } from './shared/indb-spans.js';
import { everySegment } from '../src/core/spans.js';
import { errorMessage } from '../src/core/errors.js';

const CTQ_OPTIONS = {
  ...INDB_OPTIONS,
  modelsIn: choiceOption(
    ['files', 'db'],
    'files',
    'where models live between units: the shared model store (files) or a distributed table, hopping to each unit (db)',
  ),
  modelStore: stringOption(
    '',
    'with models-in=files: a directory every segment server can read and write (default: beside the embedded cluster)',
  ),
} as const;

type CtqContext = RunContext<OptionValues<typeof CTQ_OPTIONS>>;

function modelStoreDir(ctx: CtqContext): string {
  if (ctx.options.modelStore) return ctx.options.modelStore;
  if (!ctx.topology.embedded) {
    throw new Error(
      'ctq with models in files needs a directory every segment server can read and write: ' +
        'pass --option model-store=<shared path> (or --option models-in=db)',
    );
  }
  return sharedModelDir(ctx.runId);
}

/** With models in files, a search's configs: one row per config on every segment, read by the step views. */
function configsTable(ctx: CtqContext): string {
  return indbObjectName(ctx.runId, 'configs');
}

async function createConfigsTable(ctx: CtqContext): Promise<void> {
  const table = configsTable(ctx);
  await createDistributedTable(ctx.topology, table, 'config int NOT NULL, seed int NOT NULL, spec json NOT NULL');
  await onEverySegment(ctx.topology, async (client, segment) => {
    await client.query(`ALTER TABLE ${ident(table)} ADD PRIMARY KEY (config)`);
    // A resumed search's configs, put back from its events.
    for (const config of ctx.workload.configs)
      await insertConfigRows(async () => client, table, ctx.workload, config, [segment]);
  });
}

function taskSource(ctx: CtqContext): TaskSource {
  if (ctx.options.modelsIn === 'db') return { kind: 'table', table: modelsTable(ctx) };
  const { workload } = ctx;
  return {
    kind: 'files',
    dir: modelStoreDir(ctx),
    configs: workload.search
      ? { table: configsTable(ctx) }
      : workload.configs.map((c) => ({ id: c.id, seed: modelSeed(workload, c.id), spec: configSpec(c) })),
    maxVersion: workload.epochs * ctx.topology.segments.length,
  };
}

async function recover(ctx: CtqContext, access?: TableAccess): Promise<ModelRecovery> {
  if (ctx.options.modelsIn === 'db') return recoverTableModels(ctx, modelsTable(ctx), 'one', access);
  const configs = ctx.workload.configs.map((c) => c.id);
  const copies: ModelCopy[] = readFileCopies(modelStoreDir(ctx), configs);
  return planModelRecovery(copies, ctx.epochs.completedUnits, {
    configs,
    segments: ctx.topology.segments.length,
    layout: 'one',
    absentMeansFresh: true,
  });
}

async function startup(ctx: CtqContext, prepared: InDbmsPrepared): Promise<IndbSession> {
  return startInDbms(ctx, prepared, taskSource(ctx), {
    connections: 'perSegment',
    returnModel: false,
    averager: false,
    // Models in the table hop between segments; a search adds its configs' rows as they arrive.
    direct: ctx.options.modelsIn === 'db' ? ['out', 'in'] : ctx.workload.search ? ['out'] : [],
  });
}

class CtqRun {
  private readonly mode: CtqContext['options']['modelsIn'];
  private readonly views: RunViews;

  constructor(
    private readonly ctx: CtqContext,
    private readonly session: IndbSession,
    /** Each model's version and, in a table, its segment. */
    private readonly models: Map<number, { version: number; segment?: number }>,
  ) {
    this.mode = ctx.options.modelsIn;
    this.views = runViewNames(ctx.runId);
  }

  private model(config: number): { version: number; segment?: number } {
    const model = this.models.get(config);
    if (!model) throw new Error(`config ${config} has no model`);
    return model;
  }

  private async run(view: string, tasks: Task[]): Promise<StepRow[]> {
    return this.session.step(await this.session.coordinator(tasks[0].segment), view, tasks);
  }

  async trainUnit(unit: Unit): Promise<void> {
    const { ctx } = this;
    ctx.epochs.unitStarted(unit);
    const where = { segment: unit.segment, config: unit.config, epoch: unit.epoch };
    const model = this.model(unit.config);
    if (this.mode === 'db' && model.segment !== unit.segment) {
      const start = Date.now();
      const move = { config: unit.config, from: model.segment ?? 0, to: unit.segment, version: model.version };
      const bytes = await this.session.directly((segment) =>
        hopModels(modelsTable(ctx), segment, [move], (point) =>
          injectionPoint(ctx.topology, point, { source: `seg${move.from}`, destination: `seg${move.to}` }),
        ),
      );
      model.segment = unit.segment;
      ctx.emit({ type: 'span', kind: 'model-hop', start, end: Date.now(), bytes, ...where });
      ctx.emit({ type: 'counter', transport: 'model-table', bytes: 2 * bytes, at: Date.now(), segment: unit.segment });
    }
    let statement: { result: StepRow[]; interval: Interval };
    try {
      const task = { segment: unit.segment, config: unit.config, version: model.version };
      statement = await timed(() => this.run(this.views.train, [task]));
    } catch (error) {
      if (await this.committedBeforeFailure(unit, model.version)) return;
      throw error;
    }
    await injectionPoint(ctx.topology, 'ctq:unit-done');
    const { result } = parseStepFrame(statement.result[0].result);
    emitEngineSpans(ctx, result.spans, where);
    // The targeted statement's dispatch, the executor's gaps and its return, on its one segment.
    const shape = { segments: [unit.segment], epoch: unit.epoch };
    emitStatementSpans(ctx, statement.interval, [{ segment: unit.segment, spans: result.spans }], shape);
    // In the model store the model hops with every unit; in a table it hopped already (above) and the
    // aggregate reads and writes the row on its own segment.
    const transport = this.mode === 'db' ? 'model-state' : 'model-store';
    const bytes = modelBytesMoved(result.spans);
    ctx.emit({ type: 'counter', transport, bytes, at: Date.now(), segment: unit.segment });
    model.version = result.version;
    ctx.epochs.unitDone(unit, { lossSum: result.lossSum, examples: result.examples, modelVersion: result.version });
  }

  /**
   * A unit whose statement failed may still have committed its model (the connection broke after
   * the segment's commit): then the model says so, and the unit is recorded instead of trained twice.
   */
  private async committedBeforeFailure(unit: Unit, version: number): Promise<boolean> {
    let recovery: ModelRecovery;
    try {
      recovery = await recover(this.ctx);
    } catch {
      return false;
    }
    const committed = recovery.unrecorded.find(
      (u) => u.config === unit.config && u.segment === unit.segment && u.epoch === unit.epoch,
    );
    if (!committed || committed.modelVersion !== version + 1) return false;
    this.ctx.log(
      `config ${unit.config} on seg${unit.segment}: the sub-epoch committed before its statement failed; recorded, ` +
        `not trained again`,
    );
    this.model(unit.config).version = version + 1;
    this.ctx.epochs.unitDone(unit, committed);
    return true;
  }

  /**
   * A config that arrived during the run: its row in the models table (on the segment it would
   * have started on) or, with files, in the configs table on every segment; its model at version 0.
   */
  async addConfig(config: ModelConfig): Promise<void> {
    const segments = this.ctx.topology.segments.length;
    const home = config.id % segments;
    const [table, on] =
      this.mode === 'db'
        ? [modelsTable(this.ctx), [home]]
        : [configsTable(this.ctx), Array.from({ length: segments }, (_, s) => s)];
    await this.session.directly((segment) => insertConfigRows(segment, table, this.ctx.workload, config, on));
    if (!this.models.has(config.id))
      this.models.set(config.id, this.mode === 'db' ? { version: 0, segment: home } : { version: 0 });
  }

  /** One config validated after its epoch: where its model is in a table, on `segment` with files. */
  async validateConfig(config: number, epoch: number, segment: number): Promise<void> {
    const model = this.model(config);
    const at = this.mode === 'db' ? (model.segment ?? 0) : segment;
    for (const row of await this.run(this.views.valid, [{ segment: at, config, version: model.version }])) {
      const { result } = parseStepFrame(row.result);
      emitEngineSpans(this.ctx, result.spans, { segment: row.seg, config: row.config, epoch });
      this.ctx.epochs.validated(epoch, result);
    }
  }

  /**
   * Every config validated once: a model in a table where it is, a model-store file on any segment
   * (each holds the validation set); one statement per segment, the segments concurrently.
   */
  async validateAll(epoch: number): Promise<void> {
    const segments = this.ctx.topology.segments.length;
    const bySegment = new Map<number, Task[]>();
    for (const config of this.ctx.workload.configs) {
      const model = this.model(config.id);
      const segment = this.mode === 'db' ? (model.segment ?? 0) : config.id % segments;
      bySegment.set(segment, [
        ...(bySegment.get(segment) ?? []),
        { segment, config: config.id, version: model.version },
      ]);
    }
    // A segment whose statement ended first (or that had none) waits for the others: idle.
    await everySegment(this.ctx.emit, segments, async (segment) => {
      const tasks = bySegment.get(segment);
      if (!tasks) return;
      const statement = await timed(() => this.run(this.views.valid, tasks));
      const reported: SegmentSpans[] = [];
      for (const row of statement.result) {
        const { result } = parseStepFrame(row.result);
        emitEngineSpans(this.ctx, result.spans, { segment: row.seg, config: row.config, epoch });
        reported.push({ segment: row.seg, spans: result.spans });
        this.ctx.epochs.validated(epoch, result);
      }
      emitStatementSpans(this.ctx, statement.interval, reported, { segments: [segment], epoch });
    });
  }
}

export const ctq = defineApproach<InDbmsPrepared, typeof CTQ_OPTIONS>({
  id: 'ctq',
  title: 'CTQ: concurrent targeted queries, one per (config, segment), async random scheduler',
  layers: {
    scheduling: 'async random (Cerebro), no barrier between segments',
    execution: 'in-DBMS aggregate, one targeted query per unit over N concurrent coordinator connections',
    dataAccess: 'DBMS scan of one partition',
    modelsLive: 'shared model store (files); models-in=db: a distributed DB table, hopping',
  },
  options: CTQ_OPTIONS,
  searches: true,
  check: checkInDbms,

  async prepare(ctx) {
    const mode = ctx.options.modelsIn;
    const prepared = await prepareInDbms(ctx);
    const fresh = ctx.epochs.completedUnits.length === 0;
    if (mode === 'db') {
      if (fresh) await createModelsTable(ctx, modelsTable(ctx), (config) => [config % ctx.topology.segments.length]);
    } else {
      const dir = modelStoreDir(ctx);
      if (fresh) rmSync(dir, { recursive: true, force: true });
      if (fresh && ctx.workload.search) await createConfigsTable(ctx);
      mkdirSync(dir, { recursive: true });
      if (!fresh) removeUnfinishedCheckpoints(dir);
      const owner = postgresOwner();
      if (owner) chownSync(dir, owner.uid, owner.gid);
      chmodSync(dir, 0o770);
    }
    return prepared;
  },

  async startup(ctx, prepared) {
    await startup(ctx, prepared);
  },

  async verifyResume(ctx): Promise<Problem[]> {
    return (await recover(ctx)).problems;
  },

  async train(ctx, prepared) {
    const session = await startup(ctx, prepared);
    const recovery = await recover(ctx, session);
    await applyModelRecovery(ctx, recovery, ctx.options.modelsIn === 'db' ? modelsTable(ctx) : undefined, (work) =>
      session.directly(work),
    );
    const run = new CtqRun(ctx, session, recovery.current);
    const { workload } = ctx;
    const segments = ctx.topology.segments.length;
    if (workload.search) {
      return runAsyncSearch(ctx, segments, {
        trainUnit: (unit) => run.trainUnit(unit),
        validate: (config, epoch, segment) => run.validateConfig(config, epoch, segment),
        onConfig: (config) => run.addConfig(config),
      });
    }
    const scheduler = createAsyncRandomScheduler({
      configs: workload.configs.length,
      segments,
      epochs: workload.epochs,
      seed: workload.seed,
    });
    scheduler.restore?.(ctx.epochs.completedUnits);
    for (const epoch of ctx.epochs.unvalidatedCompleteEpochs()) await run.validateAll(epoch);
    await runSchedule({
      scheduler,
      segments,
      signal: ctx.signal,
      runUnit: (unit) => run.trainUnit(unit),
      emit: ctx.emit,
      onUnitFailed: (unit, error, attempt) =>
        ctx.emit({
          type: 'log',
          level: 'warn',
          message:
            `unit config ${unit.config} on seg${unit.segment} epoch ${unit.epoch} failed ` +
            `(attempt ${attempt}): ${errorMessage(error)}`,
          at: Date.now(),
        }),
      onEpochComplete: (epoch) => run.validateAll(epoch),
    });
  },

  async cleanup(ctx, prepared, outcome) {
    const db = ctx.options.modelsIn === 'db';
    await cleanupInDbms(ctx, prepared, outcome, db ? modelsTable(ctx) : undefined);
    if (outcome === 'complete' && !db && ctx.workload.search)
      await dropDistributedTable(ctx.topology, configsTable(ctx));
    if (outcome === 'complete' && !db && !ctx.options.modelStore)
      rmSync(modelStoreDir(ctx), { recursive: true, force: true });
  },
});
