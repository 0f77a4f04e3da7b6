// MA, model averaging (the MADlib baseline): per epoch and config, ONE statement in which every
// segment trains the current model on its partition (the model goes out as a query parameter,
// the aggregate is pushed down and runs on all segments concurrently), then the coordinator
// averages the returned models weighted by example count; the average starts the next epoch.
// Epochs run epoch-major over the configs (each config's trajectory is independent, so this equals
// MADlib's config-after-config order and keeps epoch windows comparable with the other approaches).
import { PACKING_OPTIONS } from './shared/pack.js';
import { parseHeader } from '../src/engine/protocol.js';
import { defineApproach } from '../src/core/approach.js';
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
          const start =
            models.get(config.id) ??
            (await client.query<{ m: Buffer }>(`SELECT bench_init_model(${spec}::json, ${meta}::json, $1) AS m`, [modelSeed(workload, config.id)])).rows[0].m;
          const statement = `SELECT seg, bench_train_inline($1::bytea, ${config.id}, ${spec}::json, ${meta}::json, x, y, n) AS result FROM ${prepared.trainTable} GROUP BY seg`;
          if (!planChecked) {
            await assertPushedDown(client, statement, topology.segments.length, [start]);
            planChecked = true;
          }
          for (let segment = 0; segment < topology.segments.length; segment++) {
            ctx.epochs.unitStarted({ config: config.id, segment, epoch });
          }
          const { rows } = await client.query<{ seg: number; result: Buffer }>(statement, [start]);
          const trained = rows.map((row) => ({ seg: row.seg, ...parseInlineResult(row.result) }));
          for (const t of trained) {
            emitEngineSpans(ctx, t.result.spans, { segment: t.seg, config: config.id, epoch });
          }
          // The model went to every segment and came back from each: the broadcast and the collect.
          ctx.emit({ type: 'counter', transport: 'sql', bytes: trained.reduce((sum, t) => sum + start.length + t.model.length, 0), at: Date.now() });
          const averageStart = Date.now();
          const model = (await client.query<{ m: Buffer }>('SELECT bench_average($1::bytea[], $2::float8[]) AS m', [trained.map((t) => t.model), trained.map((t) => t.result.examples)])).rows[0].m;
          ctx.emit({ type: 'span', kind: 'average', start: averageStart, end: Date.now(), config: config.id, epoch });
          models.set(config.id, model);
          await client.query(`INSERT INTO ${stateTable} VALUES ($1, $2, $3) ON CONFLICT (config) DO UPDATE SET epoch = EXCLUDED.epoch, state = EXCLUDED.state`, [config.id, epoch, model]);
          for (const t of trained) ctx.epochs.unitDone({ config: config.id, segment: t.seg, epoch }, t.result);

          const segment = config.id % topology.segments.length;
          const valid = await client.query<{ result: string }>(
            `SELECT seg, bench_validate_inline($1::bytea, ${config.id}, ${spec}::json, ${meta}::json, x, y, n) AS result FROM ${prepared.validTable} WHERE seg = ${segment} GROUP BY seg`,
            [model],
          );
          const result = parseHeader<ValidResult>(valid.rows[0].result);
          emitEngineSpans(ctx, result.spans.map((s) => (s.kind === 'model-hop' ? { ...s, kind: 'valid' as const } : s)), { segment, config: config.id, epoch });
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
