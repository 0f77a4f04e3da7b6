// UDAF (paper 3.1): fully in-DBMS. Data and models live in distributed tables; each sub-epoch batch
// of the synchronous round-robin scheduler is ONE statement on the coordinator that joins the packed
// data with the models table and aggregates per segment with the `bench_train` PL/Python aggregate,
// pushed down to every segment and run there concurrently (the statement's end is the barrier).
// A hop is an UPDATE of a model row's distribution key `seg` (a cross-partition row move).
import { PACKING_OPTIONS } from './shared/pack.js';
import { parseHeader } from '../src/engine/protocol.js';
import { defineApproach, type RunContext } from '../src/core/approach.js';
import { withSpan } from '../src/core/spans.js';
import { literal, withClient } from '../src/db/connect.js';
import { createRoundRobinScheduler } from '../src/sched/round-robin.js';
import type { Unit } from '../src/sched/types.js';
import {
  assertPushedDown,
  configList,
  createModelsTable,
  dropModelsTable,
  emitEngineSpans,
  engineMeta,
  modelTableBytes,
  type TrainResult,
  type ValidResult,
} from '../src/engine/indb.js';
import { prepareInDbms, type InDbmsPrepared } from './shared/indb-prepare.js';
import { checkInDbms } from './shared/checks.js';
import type pg from 'pg';
import { segmentIds, statementSpans } from '../src/metrics/attribution.js';

/** The statement that trains one batch: every segment trains the one model placed on it. */
export function batchStatement(trainTable: string, modelsTable: string, configs: number[], meta: string): string {
  return (
    `SELECT d.seg, bench_train(${literal(JSON.stringify({ table: modelsTable }))}::json, m.config, m.spec, ${literal(meta)}::json, d.x, d.y, d.n) AS result ` +
    `FROM ${trainTable} d JOIN ${modelsTable} m ON d.seg = m.seg ` +
    `WHERE m.config = ANY (${configList(configs)}) GROUP BY d.seg, m.config`
  );
}

/** The statement that validates every model where it sits, on the segment's replica of the validation set. */
export function validationStatement(validTable: string, modelsTable: string, meta: string): string {
  return (
    `SELECT v.seg, bench_validate(${literal(JSON.stringify({ table: modelsTable }))}::json, m.config, m.spec, ${literal(meta)}::json, v.x, v.y, v.n) AS result ` +
    `FROM ${validTable} v JOIN ${modelsTable} m ON v.seg = m.seg GROUP BY v.seg, m.config`
  );
}

/**
 * Move models to the segments of their next units. A plain `UPDATE ... SET seg` would be pushed
 * down by postgres_fdw as a direct remote update that leaves the row on its old instance, so the
 * hop is the split update Greenplum does for a distribution-key change: delete from the old
 * partition and insert, routed by `seg`, into the new one, in one statement.
 */
export function hopStatement(modelsTable: string, moves: Map<number, number>): string {
  const cases = [...moves].map(([config, seg]) => `WHEN ${Math.trunc(config)} THEN ${Math.trunc(seg)}`).join(' ');
  return (
    `WITH moved AS (DELETE FROM ${modelsTable} WHERE config = ANY (${configList([...moves.keys()])}) RETURNING config, spec, state), ` +
    `placed AS (INSERT INTO ${modelsTable} (seg, config, spec, state) SELECT CASE config ${cases} END, config, spec, state FROM moved) ` +
    'SELECT coalesce(sum(octet_length(state)), 0) AS bytes, count(*)::int AS moved FROM moved'
  );
}

async function hop(ctx: RunContext, client: pg.Client, modelsTable: string, moves: Map<number, number>, epoch: number): Promise<void> {
  if (moves.size === 0) return;
  const start = Date.now();
  const { rows } = await client.query<{ bytes: string; moved: number }>(hopStatement(modelsTable, moves));
  if (rows[0].moved !== moves.size) throw new Error(`hop moved ${rows[0].moved} of ${moves.size} models`);
  const bytes = Number(rows[0].bytes);
  ctx.emit({ type: 'span', kind: 'model-hop', start, end: Date.now(), epoch, bytes });
  // Each model leaves one segment for the coordinator and goes on to another.
  ctx.emit({ type: 'counter', transport: 'model-table', bytes: 2 * bytes, at: Date.now() });
}

export const udaf = defineApproach<InDbmsPrepared, typeof PACKING_OPTIONS>({
  id: 'udaf',
  title: 'UDAF: fully in-DBMS, synchronous round-robin, one aggregate statement per sub-epoch batch',
  layers: {
    scheduling: 'sync round-robin; one SQL statement per sub-epoch batch (barrier)',
    execution: 'in-DBMS PL/Python aggregate on every segment, pushed down by postgres_fdw',
    dataAccess: 'DBMS scan of packed buffers',
    modelsLive: 'distributed DB table; hop = update of the distribution key',
  },
  check: checkInDbms,
  options: PACKING_OPTIONS,

  prepare: prepareInDbms,

  async train(ctx, prepared) {
    const { workload, topology } = ctx;
    const segments = topology.segments.length;
    const scheduler = createRoundRobinScheduler({ configs: workload.configs.length, segments, epochs: workload.epochs, seed: workload.seed });
    scheduler.restore?.(ctx.epochs.completedUnits);
    const meta = engineMeta(workload, ctx.threads);
    // Every model starts on the segment of its first unit; unscheduled ones wait on segment 0.
    const modelsTable = await createModelsTable(ctx, (config) => config % segments);
    const placement = new Map<number, number>();
    await withClient(topology.coordinator, async (client) => {
      const { rows } = await client.query<{ config: number; seg: number }>(`SELECT config, seg FROM ${modelsTable}`);
      for (const row of rows) placement.set(row.config, row.seg);
    });

    await withClient(topology.coordinator, async (client) => {
      for (const done of ctx.epochs.unvalidatedCompleteEpochs()) await validate(ctx, client, prepared, modelsTable, meta, done);
      let epoch: number | undefined;
      let planChecked = false;
      for (;;) {
        ctx.signal.throwIfAborted();
        const batch: Unit[] = [];
        let finished = false;
        for (let s = 0; s < segments; s++) {
          const decision = scheduler.next(s);
          if (decision === 'done') finished = true;
          else if (decision !== 'wait') batch.push(decision);
        }
        if (finished && batch.length === 0) break;
        if (batch.length === 0) throw new Error('round-robin scheduler handed out an empty batch');
        const batchEpoch = batch[0].epoch;
        if (epoch !== undefined && batchEpoch !== epoch) await validate(ctx, client, prepared, modelsTable, meta, epoch);
        epoch = batchEpoch;
        const moves = new Map(batch.filter((u) => placement.get(u.config) !== u.segment).map((u) => [u.config, u.segment]));
        await hop(ctx, client, modelsTable, moves, epoch);
        for (const [config, seg] of moves) placement.set(config, seg);

        const statement = batchStatement(prepared.trainTable, modelsTable, batch.map((u) => u.config), meta);
        if (!planChecked) {
          await withSpan(ctx.emit, 'schedule', { epoch }, async () => {
            await assertPushedDown(client, statement, segments);
            await assertPushedDown(client, validationStatement(prepared.validTable, modelsTable, meta), segments);
          });
          planChecked = true;
        }
        const started = Date.now();
        const { rows } = await client.query<{ seg: number; result: string }>(statement);
        const ended = Date.now();
        const engineSpans: { segment: number; start: number; end: number }[] = [];
        for (const row of rows) {
          const result = parseHeader<TrainResult>(row.result);
          emitEngineSpans(ctx, result.spans, { segment: row.seg, config: result.config, epoch });
          engineSpans.push(...result.spans.map((s) => ({ segment: row.seg, start: s.start, end: s.end })));
          // The model row sits on this segment: reading and writing it is the segment's own I/O (hops are the
          // hop statement's).
          const bytes = modelTableBytes(result.spans);
          ctx.emit({ type: 'counter', transport: 'model-state', bytes, at: Date.now(), segment: row.seg });
        }
        // The statement's end is the barrier: dispatch, waits for the slowest segment, the results' return.
        const statementTime = { start: started, end: ended };
        const everySegmentId = segmentIds(segments);
        for (const span of statementSpans({ statement: statementTime, engineSpans, segments: everySegmentId, epoch })) {
          ctx.emit(span);
        }
        for (const unit of batch) {
          const row = rows.find((r) => r.seg === unit.segment);
          if (!row) throw new Error(`segment ${unit.segment} returned no result for config ${unit.config}: its partition holds no buffers`);
          scheduler.completed(unit);
          ctx.epochs.unitDone(unit, parseHeader<TrainResult>(row.result));
        }
      }
      if (epoch !== undefined) await validate(ctx, client, prepared, modelsTable, meta, epoch);
    });
  },

  async cleanup(ctx, _prepared, outcome) {
    if (outcome === 'complete') await dropModelsTable(ctx);
  },
});

async function validate(
  ctx: RunContext,
  client: pg.Client,
  prepared: InDbmsPrepared,
  modelsTable: string,
  meta: string,
  epoch: number,
): Promise<void> {
  const started = Date.now();
  const { rows } = await client.query<{ seg: number; result: string }>(validationStatement(prepared.validTable, modelsTable, meta));
  const ended = Date.now();
  const engineSpans: { segment: number; start: number; end: number }[] = [];
  for (const row of rows) {
    const result = parseHeader<ValidResult>(row.result);
    emitEngineSpans(ctx, result.spans.map((s) => (s.kind === 'model-hop' ? { ...s, kind: 'valid' as const } : s)), { segment: row.seg, config: result.config, epoch });
    engineSpans.push(...result.spans.map((s) => ({ segment: row.seg, start: s.start, end: s.end })));
    ctx.epochs.validated(epoch, result);
  }
  const segments = segmentIds(ctx.topology.segments.length);
  const statementTime = { start: started, end: ended };
  for (const span of statementSpans({ statement: statementTime, engineSpans, segments, epoch })) ctx.emit(span);
}
