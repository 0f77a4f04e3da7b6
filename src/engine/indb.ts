// The TS side of the in-DBMS engine (infra/sql/20-train.sql, bench_engine.indb), the one place the
// in-DBMS approaches (udaf, ctq, ma) share: the per-run task views every training and validation
// statement reads, the statements themselves, the plan check, the result frame and its spans, and
// the names of a run's in-DBMS objects. docs/indb.md explains the design.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { RunContext } from '../core/approach.js';
import type { SpanKind, TrainEvent } from '../core/events.js';
import { classCount, featureShape, type ModelConfig, type ResolvedWorkload } from '../core/workload.js';
import { createDistributedView } from '../db/distributed.js';
import { ident, literal } from '../db/connect.js';
import type { Topology } from '../db/topology.js';
import { parseHeader } from './protocol.js';

export interface EngineSpan {
  kind: SpanKind;
  start: number;
  end: number;
  bytes?: number;
}

/** What one `bench_step` group returns (bench_engine.indb.step_final). */
export interface StepResult {
  config: number;
  /** The model's version after the task: sub-epochs trained. */
  version: number;
  lossSum: number;
  examples: number;
  correct: number;
  modelBytes: number;
  spans: EngineSpan[];
}

/** The result frame: u32 LE length of the JSON result, the result, then the model when returned. */
export function parseStepFrame(frame: Buffer): { result: StepResult; model: Buffer } {
  const length = frame.readUInt32LE(0);
  const result = parseHeader<StepResult>(frame.subarray(4, 4 + length).toString('utf8'));
  return { result, model: frame.subarray(4 + length) };
}

/** The JSON the engine takes as a task's `meta`. */
export function engineMeta(workload: ResolvedWorkload, threads: number): string {
  return JSON.stringify({ inputShape: featureShape(workload.dataset), classes: classCount(workload.dataset), threads });
}

export function configSpec(config: ModelConfig): string {
  return JSON.stringify(config);
}

export type IndbObject = 'models' | 'configs' | 'train' | 'valid' | 'warm';

/** The name of one of a run's in-DBMS objects: unique to the run, stable across its resumes. */
export function indbObjectName(runId: string, what: IndbObject): string {
  return `bench_${what}_${createHash('sha1').update(runId).digest('hex').slice(0, 10)}`;
}

/**
 * Where a view's tasks come from on each segment:
 * - `table`: the rows of the run's models table on that segment (the model's source too);
 * - `files`: every config at every version (`generate_series(0, maxVersion)`), the model being
 *   the config's checkpoint in the shared model store `dir`.
 * A statement picks its tasks with WHERE quals on (seg, config, version).
 */
export type TaskSource =
  | { kind: 'table'; table: string }
  | { kind: 'files'; dir: string; configs: FileConfigs; maxVersion: number };

/**
 * The configs of a `files` source: listed in the view, or (a search, whose configs arrive during
 * the run) the rows of a table on each segment with columns (config, seed, spec).
 */
export type FileConfigs = { id: number; seed: number; spec: string }[] | { table: string };

export interface StepView {
  /** The packed data table the buffers come from. */
  data: string;
  kind: 'train' | 'valid';
  source: TaskSource;
  meta: string;
  /** Decoded buffers stay in the segment backend's memory across statements (x, y not passed). */
  cache: boolean;
  /** train: store the trained model back where it came from, at version + 1. */
  writeBack: boolean;
  /** train: append the trained model to the result. */
  returnModel: boolean;
}

export const STEP_VIEW_COLUMNS = 'config int, version int, result bytea';

function qualified(table: string): string {
  return `public.${ident(table)}`;
}

/** The body of a step view on one segment: one `bench_step` group per task, buffers in buffer order. */
export function stepViewSql(view: StepView): string {
  const { source } = view;
  const model =
    source.kind === 'table'
      ? `${literal(JSON.stringify({ table: source.table }))}::json`
      : `json_build_object('file', ${literal(`${source.dir}/config-`)} || m.config || '.pt')`;
  const version = source.kind === 'table' ? 'm.version' : 'v.version';
  const task =
    `json_build_object('kind', ${literal(view.kind)}, 'config', m.config, 'version', ${version}, 'seed', m.seed, ` +
    `'spec', m.spec, 'meta', ${literal(view.meta)}::json, 'model', ${model}, 'writeBack', ${view.writeBack}, ` +
    `'returnModel', ${view.returnModel}, 'cache', ${view.cache ? literal(view.data) : 'NULL'}, 'segment', d.seg)`;
  const buffers = view.cache ? 'NULL::bytea, NULL::bytea' : 'd.x, d.y';
  const tasks =
    source.kind === 'table'
      ? `${qualified(source.table)} m`
      : `${fileConfigs(source.configs)} CROSS JOIN generate_series(0, ${Math.trunc(source.maxVersion)}) v(version)`;
  return (
    `SELECT d.seg, m.config, ${version} AS version, bench_step(${task}, d.buffer_id, ${buffers}, d.n ` +
    `ORDER BY d.buffer_id) AS result FROM ${qualified(view.data)} d CROSS JOIN ${tasks} ` +
    `GROUP BY d.seg, m.config, ${version}`
  );
}

function fileConfigs(configs: FileConfigs): string {
  if (!Array.isArray(configs)) return `${qualified(configs.table)} m`;
  const values = configs.map((c) => `(${Math.trunc(c.id)}, ${Math.trunc(c.seed)}, ${literal(c.spec)}::json)`);
  return `(VALUES ${values.join(', ')}) m(config, seed, spec)`;
}

export async function createStepView(topology: Topology, name: string, view: StepView): Promise<void> {
  await createDistributedView(topology, name, STEP_VIEW_COLUMNS, () => stepViewSql(view));
}

/** The warm-up view: each segment's backend imports the engine (bench_engine_warm) when it is read. */
export async function createWarmView(topology: Topology, name: string, meta: string): Promise<void> {
  await createDistributedView(
    topology,
    name,
    'result text',
    (segment) => `SELECT ${segment} AS seg, bench_engine_warm(${literal(meta)}::json) AS result`,
  );
}

/** One model's task in a statement: train or validate config `config` at `version` on `segment`. */
export interface Task {
  segment: number;
  config: number;
  version: number;
}

/**
 * The statement that runs `tasks` (at most one per segment, or several on one segment run one after
 * another there): a scan of the step view whose WHERE quals postgres_fdw ships to the segments.
 */
export function stepStatement(view: string, tasks: readonly Task[]): string {
  if (tasks.length === 0) throw new Error('a step statement needs at least one task');
  const quals = tasks.map(
    (t) =>
      `(seg = ${Math.trunc(t.segment)} AND config = ${Math.trunc(t.config)} AND version = ${Math.trunc(t.version)})`,
  );
  return `SELECT seg, config, version, result FROM ${ident(view)} WHERE ${quals.join(' OR ')}`;
}

export async function explain(client: pg.Client, sql: string, params: unknown[] = []): Promise<string> {
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN VERBOSE ${sql}`, params);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

/**
 * Refuse an in-DBMS statement unless its plan is what the design makes certain (docs/indb.md): one
 * Foreign Scan per segment it targets, run as Async Foreign Scans when there are several, its quals
 * all shipped (no local Filter, which would run the segments' views unfiltered) and nothing on the
 * coordinator above them but the Append (no local Aggregate or Join, which would mean work the
 * coordinator does one segment after another).
 */
export async function assertPushedDown(
  client: pg.Client,
  sql: string,
  segments: number,
  params: unknown[] = [],
): Promise<void> {
  const plan = await explain(client, sql, params);
  const scans = (plan.match(/Foreign Scan on/g) ?? []).length;
  const async = (plan.match(/Async Foreign Scan on/g) ?? []).length;
  const local = plan.match(
    /^\s*(->\s*)?\S*\s*(Aggregate|GroupAggregate|HashAggregate|Hash Join|Nested Loop|Merge Join)\b.*$|^\s*Filter:.*$/m,
  );
  if (scans !== segments || (segments > 1 && async !== segments) || local) {
    const why = local
      ? `the coordinator would run "${local[0].trim()}" itself`
      : `${scans} foreign scans, ${async} of them async`;
    const where = segments === 1 ? 'its segment' : `all ${segments} segments concurrently`;
    throw new Error(
      `the planner would not run this statement on ${where} (${why}); ` +
        `running it would train on the coordinator or one segment after another. Were the run's views created by ` +
        `this bench and the servers set up by \`bench db up\` (async_capable)? Plan:\n${plan}`,
    );
  }
}

export interface StepRow {
  seg: number;
  config: number;
  version: number;
  result: Buffer;
}

/** The spans an engine result reports, for one segment, config and epoch. */
export function emitEngineSpans(
  ctx: RunContext,
  spans: readonly EngineSpan[],
  where: { segment?: number; config?: number; epoch?: number },
): void {
  for (const span of spans) {
    const event: TrainEvent = { type: 'span', kind: span.kind, start: span.start, end: span.end };
    if (where.segment !== undefined) event.segment = where.segment;
    if (where.config !== undefined) event.config = where.config;
    if (where.epoch !== undefined) event.epoch = where.epoch;
    if (span.bytes !== undefined) event.bytes = span.bytes;
    ctx.emit(event);
  }
}

/** Model bytes one step read and wrote inside the database. */
export function modelBytesMoved(spans: readonly EngineSpan[]): number {
  return spans.filter((s) => s.kind === 'model-hop').reduce((sum, s) => sum + (s.bytes ?? 0), 0);
}
