// The TS side of the in-DBMS engine (infra/sql/20-train.sql, bench_engine.indb): the models table,
// the meta argument, and turning an aggregate's JSON result into spans. Shared by udaf, ctq and ma.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { RunContext } from '../core/approach.js';
import type { SpanKind, TrainEvent } from '../core/events.js';
import { classCount, featureShape, type ModelConfig, type ResolvedWorkload, modelSeed } from '../core/workload.js';
import { analyzeDistributed, createDistributedTable, dropDistributedTable, tableExists } from '../db/distributed.js';
import { literal, withClient } from '../db/connect.js';

export interface EngineSpan {
  kind: SpanKind;
  start: number;
  end: number;
  bytes?: number;
}

export interface TrainResult {
  config: number;
  lossSum: number;
  examples: number;
  modelBytes: number;
  spans: EngineSpan[];
}

export interface ValidResult {
  config: number;
  lossSum: number;
  correct: number;
  examples: number;
  spans: EngineSpan[];
}

/** The JSON the aggregates take as their `meta` argument. */
export function engineMeta(workload: ResolvedWorkload, threads: number): string {
  return JSON.stringify({ inputShape: featureShape(workload.dataset), classes: classCount(workload.dataset), threads });
}

export function configSpec(config: ModelConfig): string {
  return JSON.stringify(config);
}

/** A models table name unique to the run, stable across resume. */
export function modelsTableName(ctx: RunContext): string {
  return `bench_models_${createHash('sha1').update(ctx.runId).digest('hex').slice(0, 10)}`;
}

/**
 * Create the run's distributed models table `(seg, config, spec, state)` with every config's freshly
 * initialised model on the segment `placement` gives it. On resume, an existing table is kept.
 */
export async function createModelsTable(ctx: RunContext, placement: (config: number) => number): Promise<string> {
  const table = modelsTableName(ctx);
  if (ctx.epochs.completedUnits.length > 0 && (await tableExists(ctx.topology, table))) return table;
  await createDistributedTable(ctx.topology, table, 'config int NOT NULL, spec json NOT NULL, state bytea');
  // Checkpoints are float32 noise to a compressor: storing them uncompressed saves a pglz pass on
  // every read and write of a model.
  await Promise.all(ctx.topology.segments.map((s) => withClient(s, (c) => c.query(`ALTER TABLE ${table} ALTER COLUMN state SET STORAGE EXTERNAL`))));
  const meta = engineMeta(ctx.workload, ctx.threads);
  // Initialising the models (the coordinator imports the engine for it) holds every segment up.
  const start = Date.now();
  await withClient(ctx.topology.coordinator, async (client) => {
    for (const config of ctx.workload.configs) {
      await client.query(`INSERT INTO ${table} (seg, config, spec, state) VALUES ($1, $2, $3, bench_init_model($3::json, $4::json, $5))`, [
        placement(config.id),
        config.id,
        configSpec(config),
        meta,
        modelSeed(ctx.workload, config.id),
      ]);
    }
  });
  await analyzeDistributed(ctx.topology, table);
  ctx.emit({ type: 'span', kind: 'engine-init', start, end: Date.now(), epoch: 0 });
  return table;
}

export async function dropModelsTable(ctx: RunContext): Promise<void> {
  await dropDistributedTable(ctx.topology, modelsTableName(ctx));
}

/** Emit an engine result's spans for one segment, config and epoch. */
export function emitEngineSpans(ctx: RunContext, spans: EngineSpan[], where: { segment: number; config: number; epoch: number }): void {
  for (const span of spans) {
    const event: TrainEvent = { type: 'span', kind: span.kind, start: span.start, end: span.end, ...where };
    if (span.bytes !== undefined) event.bytes = span.bytes;
    ctx.emit(event);
  }
}

/** Model bytes read and written inside the database by one aggregate call. */
export function modelTableBytes(spans: EngineSpan[]): number {
  return spans.filter((s) => s.kind === 'model-hop').reduce((sum, s) => sum + (s.bytes ?? 0), 0);
}

/** The SQL text of a literal list of config ids, for a pushed-down filter (constants ship to the segments). */
export function configList(ids: number[]): string {
  return `ARRAY[${ids.map((id) => String(Math.trunc(id))).join(',')}]::int[]`;
}

export async function explain(client: pg.Client, sql: string, params: unknown[] = []): Promise<string> {
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN VERBOSE ${sql}`, params);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

/**
 * Refuse to run an in-DBMS statement whose plan does not push the aggregate down to the segments
 * (and, over several segments, run them as Async Foreign Scans): such a plan still produces
 * results, but computes them on the coordinator, one segment after another.
 */
export async function assertPushedDown(client: pg.Client, sql: string, segments: number, params: unknown[] = []): Promise<void> {
  const plan = await explain(client, sql, params);
  const pushed = (plan.match(/Relations: Aggregate on/g) ?? []).length;
  const async = (plan.match(/Async Foreign Scan/g) ?? []).length;
  if (pushed !== segments || (segments > 1 && async !== segments)) {
    throw new Error(
      `the planner would not push the aggregate down to ${segments === 1 ? 'the segment' : `all ${segments} segments concurrently`} ` +
        `(${pushed} pushed-down aggregates, ${async} async scans); running it would train on the coordinator, serially. ` +
        `Are the tables analyzed (bench data pack) and the servers set up by \`bench db up\`? Plan:\n${plan}`,
    );
  }
}

export { literal };
