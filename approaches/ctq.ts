// CTQ, Concurrent Targeted Queries (paper 3.2): one coordinator connection per segment, open for the
// whole run (so each segment's backend imports the engine once); each (config, segment) unit of
// Cerebro's async random scheduler is ONE query through the coordinator that touches only that
// segment's partition (`WHERE seg = i`, pruned and pushed down) and calls the `bench_train`
// aggregate, which loads the config's checkpoint from the model store, trains over the partition's
// buffers and writes it back. No barrier between segments.
// `--models-in db` keeps the checkpoints in a coordinator table instead of files (the governance
// variant of paper 4.2): the model travels as a query parameter and comes back as the result.
import { parseHeader } from '../src/engine/protocol.js';
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { defineApproach, type RunContext } from '../src/core/approach.js';
import { everySegment } from '../src/core/spans.js';
import { statementSpans } from '../src/metrics/attribution.js';
import type { Interval } from '../src/metrics/summarize.js';
import { choiceOption, stringOption, type OptionValues } from '../src/core/options.js';
import { PACKING_OPTIONS } from './shared/pack.js';
import { connect, literal, withClient } from '../src/db/connect.js';
import { postgresOwner, sharedModelDir } from '../src/db/cluster.js';
import { createAsyncRandomScheduler } from '../src/sched/async-random.js';
import { runSchedule } from '../src/sched/driver.js';
import type { Unit } from '../src/sched/types.js';
import { assertPushedDown, configSpec, emitEngineSpans, engineMeta, modelTableBytes, type TrainResult, type ValidResult } from '../src/engine/indb.js';
import { prepareInDbms, type InDbmsPrepared } from './shared/indb-prepare.js';
import { checkInDbms } from './shared/checks.js';
import { parseInlineResult } from './shared/inline.js';
import { modelSeed } from '../src/core/workload.js';

const CTQ_OPTIONS = {
  ...PACKING_OPTIONS,
  modelsIn: choiceOption(['files', 'db'], 'files', 'where checkpoints live between units: a shared model store (files) or a coordinator table (db)'),
  modelStore: stringOption('', 'with models-in=files: a directory every segment server can read and write (default: beside the embedded cluster)'),
} as const;

type CtqContext = RunContext<OptionValues<typeof CTQ_OPTIONS>>;
type ModelsIn = CtqContext['options']['modelsIn'];

/** The coordinator table of `models-in=db`: named after the run, so cleanup finds it from the context alone. */
function modelsTableOf(ctx: CtqContext): string {
  return `bench_ctq_models_${ctx.runId.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`.slice(0, 63);
}

/** The targeted query for one unit: only segment `segment`'s partition, aggregate pushed down. */
export function targetedStatement(table: string, segment: number, aggregate: string): string {
  return `SELECT seg, ${aggregate} AS result FROM ${table} WHERE seg = ${Math.trunc(segment)} GROUP BY seg`;
}

function modelStoreDir(ctx: CtqContext): string {
  if (ctx.options.modelStore) return ctx.options.modelStore;
  if (!ctx.topology.embedded) {
    throw new Error('ctq with models in files needs a directory every segment server can read and write: pass --option modelStore=<shared path> (or use --models-in db)');
  }
  return sharedModelDir(ctx.runId);
}

class CtqRun {
  private readonly meta: string;
  private readonly connections: pg.Client[] = [];
  private readonly storeDir: string | undefined;
  private readonly modelsTable: string;

  constructor(
    private readonly ctx: CtqContext,
    private readonly prepared: InDbmsPrepared,
    private readonly mode: ModelsIn,
  ) {
    this.meta = engineMeta(ctx.workload, ctx.threads);
    this.modelsTable = modelsTableOf(ctx);
    if (mode === 'files') {
      this.storeDir = modelStoreDir(ctx);
      mkdirSync(this.storeDir, { recursive: true });
      const owner = postgresOwner();
      if (owner) chownSync(this.storeDir, owner.uid, owner.gid);
      chmodSync(this.storeDir, 0o770);
    }
  }

  private planChecked = false;

  /** The first unit's plan must be pruned to its segment with the aggregate pushed there. */
  private async checkPlanOnce(client: pg.Client, statement: string, params: unknown[] = []): Promise<void> {
    if (this.planChecked) return;
    await assertPushedDown(client, statement, 1, params);
    this.planChecked = true;
  }

  async open(): Promise<void> {
    for (const segment of this.ctx.topology.segments) this.connections.push(await connect(this.ctx.topology.coordinator, `bench-ctq-${segment.name}`));
    if (this.mode === 'db') {
      await withClient(this.ctx.topology.coordinator, async (client) => {
        const exists = (await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [this.modelsTable])).rows[0].ok;
        if (exists && this.ctx.epochs.completedUnits.length > 0) return;
        await client.query(`DROP TABLE IF EXISTS ${this.modelsTable}`);
        await client.query(`CREATE TABLE ${this.modelsTable} (config int PRIMARY KEY, state bytea NOT NULL)`);
        await client.query(`ALTER TABLE ${this.modelsTable} ALTER COLUMN state SET STORAGE EXTERNAL`);
        for (const config of this.ctx.workload.configs) {
          await client.query(`INSERT INTO ${this.modelsTable} VALUES ($1, bench_init_model($2::json, $3::json, $4))`, [config.id, configSpec(config), this.meta, this.seed(config.id)]);
        }
      });
    }
  }

  private seed(config: number): number {
    return modelSeed(this.ctx.workload, config);
  }

  private source(config: number): string {
    return JSON.stringify({ file: join(this.storeDir as string, `config-${config}.pt`), seed: this.seed(config) });
  }

  /** A connection that broke (its backend died) is replaced before the unit is retried. */
  private async connection(segment: number): Promise<pg.Client> {
    const client = this.connections[segment];
    try {
      await client.query('SELECT 1');
      return client;
    } catch {
      await client.end().catch(() => undefined);
      this.ctx.log(`ctq connection for seg${segment} broke; reconnecting`);
      this.connections[segment] = await connect(this.ctx.topology.coordinator, `bench-ctq-seg${segment}`);
      return this.connections[segment];
    }
  }

  async trainUnit(unit: Unit): Promise<void> {
    const client = await this.connection(unit.segment);
    const config = this.ctx.workload.configs[unit.config];
    const where = { segment: unit.segment, config: unit.config, epoch: unit.epoch };
    let result: TrainResult;
    if (this.mode === 'files') {
      const aggregate = `bench_train(${literal(this.source(unit.config))}::json, ${unit.config}, ${literal(configSpec(config))}::json, ${literal(this.meta)}::json, x, y, n)`;
      const statement = targetedStatement(this.prepared.trainTable, unit.segment, aggregate);
      await this.checkPlanOnce(client, statement);
      const started = Date.now();
      const { rows } = await client.query<{ result: string }>(statement);
      result = parseHeader<TrainResult>(rows[0].result);
      this.emitStatementSpans({ start: started, end: Date.now() }, result.spans, unit.segment, unit.epoch);
      this.ctx.emit({ type: 'counter', transport: 'model-store', bytes: modelTableBytes(result.spans), at: Date.now(), segment: unit.segment });
    } else {
      const fetchStart = Date.now();
      const model = (await client.query<{ state: Buffer }>(`SELECT state FROM ${this.modelsTable} WHERE config = $1`, [unit.config])).rows[0].state;
      this.ctx.emit({ type: 'span', kind: 'model-hop', start: fetchStart, end: Date.now(), bytes: model.length, ...where });
      const aggregate = `bench_train_inline($1::bytea, ${unit.config}, ${literal(configSpec(config))}::json, ${literal(this.meta)}::json, x, y, n)`;
      const statement = targetedStatement(this.prepared.trainTable, unit.segment, aggregate);
      await this.checkPlanOnce(client, statement, [model]);
      const started = Date.now();
      const { rows } = await client.query<{ result: Buffer }>(statement, [model]);
      const parsed = parseInlineResult(rows[0].result);
      result = parsed.result;
      this.emitStatementSpans({ start: started, end: Date.now() }, result.spans, unit.segment, unit.epoch);
      const storeStart = Date.now();
      await client.query(`UPDATE ${this.modelsTable} SET state = $1 WHERE config = $2`, [parsed.model, unit.config]);
      this.ctx.emit({ type: 'span', kind: 'model-hop', start: storeStart, end: Date.now(), bytes: parsed.model.length, ...where });
      this.ctx.emit({ type: 'counter', transport: 'model-table', bytes: 2 * (model.length + parsed.model.length), at: Date.now(), segment: unit.segment });
    }
    emitEngineSpans(this.ctx, result.spans, where);
    this.ctx.epochs.unitDone(unit, result);
  }

  /** A targeted statement's dispatch, gaps and return (its one segment's share of it). */
  private emitStatementSpans(statement: Interval, spans: readonly Interval[], segment: number, epoch: number): void {
    const engineSpans = spans.map((s) => ({ segment, start: s.start, end: s.end }));
    for (const span of statementSpans({ statement, engineSpans, segments: [segment], epoch })) this.ctx.emit(span);
  }

  /** Every config validated once, spread over the segment connections (each segment holds the validation set). */
  async validateAll(epoch: number): Promise<void> {
    const queue = this.ctx.workload.configs.map((c) => c.id);
    await everySegment(this.ctx.emit, this.ctx.topology.segments.length, async (segment) => {
      for (let config = queue.shift(); config !== undefined; config = queue.shift()) {
        const started = Date.now();
        const client = await this.connection(segment);
        const spec = literal(configSpec(this.ctx.workload.configs[config]));
        let result: ValidResult;
        if (this.mode === 'files') {
          const aggregate = `bench_validate(${literal(this.source(config))}::json, ${config}, ${spec}::json, ${literal(this.meta)}::json, x, y, n)`;
          result = parseHeader<ValidResult>((await client.query<{ result: string }>(targetedStatement(this.prepared.validTable, segment, aggregate))).rows[0].result);
        } else {
          const model = (await client.query<{ state: Buffer }>(`SELECT state FROM ${this.modelsTable} WHERE config = $1`, [config])).rows[0].state;
          const aggregate = `bench_validate_inline($1::bytea, ${config}, ${spec}::json, ${literal(this.meta)}::json, x, y, n)`;
          result = parseHeader<ValidResult>((await client.query<{ result: string }>(targetedStatement(this.prepared.validTable, segment, aggregate), [model])).rows[0].result);
        }
        // Reading the checkpoint to validate it is part of validation, not a hop.
        emitEngineSpans(this.ctx, result.spans.map((s) => (s.kind === 'model-hop' ? { ...s, kind: 'valid' as const } : s)), { segment, config, epoch });
        this.emitStatementSpans({ start: started, end: Date.now() }, result.spans, segment, epoch);
        this.ctx.epochs.validated(epoch, result);
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.end().catch(() => undefined)));
  }
}

/** A finished run's models: the coordinator table or the model store bench made (never a user's --option model-store). */
async function dropModels(ctx: CtqContext): Promise<void> {
  if (ctx.options.modelsIn === 'db') await withClient(ctx.topology.coordinator, (c) => c.query(`DROP TABLE IF EXISTS ${modelsTableOf(ctx)}`));
  else if (!ctx.options.modelStore && ctx.topology.embedded) rmSync(sharedModelDir(ctx.runId), { recursive: true, force: true });
}

export const ctq = defineApproach<InDbmsPrepared, typeof CTQ_OPTIONS>({
  id: 'ctq',
  title: 'CTQ: concurrent targeted queries, one per (config, segment), async random scheduler',
  layers: {
    scheduling: 'async random (Cerebro), no barrier between segments',
    execution: 'in-DBMS aggregate, one targeted query per unit over N concurrent coordinator connections',
    dataAccess: 'DBMS scan of one partition',
    modelsLive: 'shared model store (files); models-in=db: a coordinator table',
  },
  options: CTQ_OPTIONS,
  check: checkInDbms,

  prepare: prepareInDbms,

  async train(ctx, prepared) {
    const run = new CtqRun(ctx, prepared, ctx.options.modelsIn);
    try {
      await run.open();
      const { workload } = ctx;
      const segments = ctx.topology.segments.length;
      const scheduler = createAsyncRandomScheduler({ configs: workload.configs.length, segments, epochs: workload.epochs, seed: workload.seed });
      scheduler.restore?.(ctx.epochs.completedUnits);
      for (const epoch of ctx.epochs.unvalidatedCompleteEpochs()) await run.validateAll(epoch);
      await runSchedule({
        scheduler,
        segments,
        signal: ctx.signal,
        runUnit: (unit) => run.trainUnit(unit),
        emit: ctx.emit,
        onUnitFailed: (unit, error, attempt) =>
          ctx.emit({ type: 'log', level: 'warn', message: `unit config ${unit.config} on seg${unit.segment} epoch ${unit.epoch} failed (attempt ${attempt}): ${error instanceof Error ? error.message : String(error)}`, at: Date.now() }),
        onEpochComplete: (epoch) => run.validateAll(epoch),
      });
    } finally {
      await run.close();
    }
  },

  async cleanup(ctx, _prepared, outcome) {
    if (outcome === 'complete') await dropModels(ctx);
  },
});
