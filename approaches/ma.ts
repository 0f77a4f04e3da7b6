// MA, model averaging (the MADlib baseline): per epoch and config, ONE statement in which every
// segment trains the current model on its partition (the model goes out as a query parameter,
// the aggregate is pushed down and runs on all segments concurrently), then the coordinator
// averages the returned models weighted by example count; the average starts the next epoch.
// Epochs run epoch-major over the configs (each config's trajectory is independent, so this equals
// MADlib's config-after-config order and keeps epoch windows comparable with the other approaches).
import { PACKING_OPTIONS } from './shared/pack.js';
import { parseHeader } from '../src/engine/protocol.js';
import { defineApproach } from '../src/core/approach.js';
import { withSpan } from '../src/core/spans.js';
import { segmentIds, statementSpans } from '../src/metrics/attribution.js';
import { literal, withClient } from '../src/db/connect.js';
import { assertPushedDown, configSpec, emitEngineSpans, engineMeta, type ValidResult } from '../src/engine/indb.js';
import { prepareInDbms, type InDbmsPrepared } from './shared/indb-prepare.js';
import { checkInDbms } from './shared/checks.js';
import { parseInlineResult } from './shared/inline.js';
import { modelSeed } from '../src/core/workload.js';

/** The coordinator table holding each config's averaged model between epochs (resume reads it). */
function stateTableName(runId: string): string {
  return `bench_ma_models_${runId.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`.slice(0, 63);
}

export const ma = defineApproach<InDbmsPrepared, typeof PACKING_OPTIONS>({
  id: 'ma',
  title: 'MA: model averaging, one bulk-synchronous statement per config per epoch (MADlib baseline)',
  layers: {
    scheduling: 'bulk synchronous; one statement per config per epoch; weights averaged',
    execution: 'in-DBMS: per-segment aggregates pushed down, weighted average on the coordinator',
    dataAccess: 'DBMS scan',
    modelsLive: 'DB (coordinator)',
  },
  check: checkInDbms,
  options: PACKING_OPTIONS,

  prepare: prepareInDbms,

  async train(ctx, prepared) {
    const { workload, topology } = ctx;
    const meta = literal(engineMeta(workload, ctx.threads));
    await withClient(topology.coordinator, async (client) => {
      const models = new Map<number, Buffer>();
      const stateTable = stateTableName(ctx.runId);
      await client.query(`CREATE TABLE IF NOT EXISTS ${stateTable} (config int PRIMARY KEY, epoch int NOT NULL, state bytea NOT NULL)`);
      await client.query(`ALTER TABLE ${stateTable} ALTER COLUMN state SET STORAGE EXTERNAL`);
      for (const row of (await client.query<{ config: number; state: Buffer }>(`SELECT config, state FROM ${stateTable}`)).rows) models.set(row.config, row.state);
      let planChecked = false;
      for (let epoch = 0; epoch < workload.epochs; epoch++) {
        for (const config of workload.configs) {
          ctx.signal.throwIfAborted();
          if (ctx.epochs.isValidated(config.id, epoch)) continue;
          const spec = literal(configSpec(config));
          // The first model is initialised on the coordinator (its backend imports the engine then).
          const start =
            models.get(config.id) ??
            (await withSpan(ctx.emit, 'engine-init', { epoch }, async () => {
              const init = `SELECT bench_init_model(${spec}::json, ${meta}::json, $1) AS m`;
              return (await client.query<{ m: Buffer }>(init, [modelSeed(workload, config.id)])).rows[0].m;
            }));
          const statement = `SELECT seg, bench_train_inline($1::bytea, ${config.id}, ${spec}::json, ${meta}::json, x, y, n) AS result FROM ${prepared.trainTable} GROUP BY seg`;
          if (!planChecked) {
            const segmentCount = topology.segments.length;
            const check = (): Promise<void> => assertPushedDown(client, statement, segmentCount, [start]);
            await withSpan(ctx.emit, 'schedule', { epoch }, check);
            planChecked = true;
          }
          const trainStart = Date.now();
          const { rows } = await client.query<{ seg: number; result: Buffer }>(statement, [start]);
          const trainEnd = Date.now();
          const trained = rows.map((row) => ({ seg: row.seg, ...parseInlineResult(row.result) }));
          for (const t of trained) {
            emitEngineSpans(ctx, t.result.spans, { segment: t.seg, config: config.id, epoch });
          }
          // The model went to every segment and came back from each: the broadcast and the collect
          // are model transmission; a segment waiting for the slowest is idle.
          const engineSpans = trained.flatMap((t) =>
            t.result.spans.map(({ start, end }) => ({ segment: t.seg, start, end })),
          );
          const segments = segmentIds(topology.segments.length);
          const statementTime = { start: trainStart, end: trainEnd };
          const hops = { dispatch: 'model-hop', collect: 'model-hop' } as const;
          for (const span of statementSpans({ statement: statementTime, engineSpans, segments, epoch, ...hops })) {
            ctx.emit(span);
          }
          ctx.emit({ type: 'counter', transport: 'sql', bytes: trained.reduce((sum, t) => sum + start.length + t.model.length, 0), at: Date.now() });
          // Averaging, and keeping the average where the next epoch (or a resume) reads it.
          const model = await withSpan(ctx.emit, 'average', { config: config.id, epoch }, async () => {
            const weights = [trained.map((t) => t.model), trained.map((t) => t.result.examples)];
            const average = 'SELECT bench_average($1::bytea[], $2::float8[]) AS m';
            const averaged = (await client.query<{ m: Buffer }>(average, weights)).rows[0].m;
            const keep =
              `INSERT INTO ${stateTable} VALUES ($1, $2, $3) ` +
              'ON CONFLICT (config) DO UPDATE SET epoch = EXCLUDED.epoch, state = EXCLUDED.state';
            await client.query(keep, [config.id, epoch, averaged]);
            return averaged;
          });
          ctx.emit({ type: 'counter', transport: 'checkpoint', bytes: model.length, at: Date.now() });
          models.set(config.id, model);
          for (const t of trained) ctx.epochs.unitDone({ config: config.id, segment: t.seg, epoch }, t.result);

          const segment = config.id % topology.segments.length;
          const validStart = Date.now();
          const valid = await client.query<{ result: string }>(
            `SELECT seg, bench_validate_inline($1::bytea, ${config.id}, ${spec}::json, ${meta}::json, x, y, n) AS result FROM ${prepared.validTable} WHERE seg = ${segment} GROUP BY seg`,
            [model],
          );
          const validEnd = Date.now();
          const result = parseHeader<ValidResult>(valid.rows[0].result);
          emitEngineSpans(ctx, result.spans.map((s) => (s.kind === 'model-hop' ? { ...s, kind: 'valid' as const } : s)), { segment, config: config.id, epoch });
          // One segment validates; the others wait for it.
          const validSpans = result.spans.map((s) => ({ segment, start: s.start, end: s.end }));
          const validTime = { start: validStart, end: validEnd };
          for (const span of statementSpans({ statement: validTime, engineSpans: validSpans, segments, epoch })) {
            ctx.emit(span);
          }
          ctx.epochs.validated(epoch, result);
        }
      }
    });
  },

  async cleanup(ctx, _prepared, outcome) {
    if (outcome !== 'complete') return;
    await withClient(ctx.topology.coordinator, (c) => c.query(`DROP TABLE IF EXISTS ${stateTableName(ctx.runId)}`));
  },
});
