// MA, model averaging (the MADlib baseline): per epoch and config, ONE statement in which every
// segment trains its copy of the current model on its partition (a scan of the run's training
// view: pushed to all segments, run concurrently), then the coordinator averages the returned
// models weighted by example count and the average goes back to every segment's copy (the next
// epoch's start). After an epoch's configs, one statement validates them all, each on its home
// segment. Epochs run epoch-major over the configs (each config's trajectory is independent,
// so this equals MADlib's config-after-config order and keeps epoch windows comparable with the
// other approaches). One config's average and broadcast overlap the next config's statement, on a
// coordinator connection of their own. docs/indb.md.
import { defineApproach, type Problem } from '../src/core/approach.js';
import { emitEngineSpans, modelBytesMoved, parseStepFrame, type StepRow, type Task } from '../src/engine/indb.js';
import {
  cleanupInDbms,
  INDB_OPTIONS,
  prepareInDbms,
  recoverTableModels,
  runViewNames,
  startInDbms,
  type InDbmsContext,
  type InDbmsPrepared,
} from './shared/indb-prepare.js';
import type { IndbSession } from './shared/indb-session.js';
import { checkInDbms } from './shared/checks.js';
import { applyModelRecovery, createModelsTable, type StoredUnit, modelsTable } from './shared/models-table.js';
import { injectionPoint } from './shared/injection-points.js';
import { alongside, emitStatementSpans, timed, validateInOneStatement } from './shared/indb-spans.js';
import { ident } from '../src/db/connect.js';

/** One segment's trained copy of a model, as its statement returned it. */
type TrainedCopy = { seg: number } & ReturnType<typeof parseStepFrame>;

async function startup(ctx: InDbmsContext, prepared: InDbmsPrepared): Promise<IndbSession> {
  return startInDbms(
    ctx,
    prepared,
    { kind: 'table', table: modelsTable(ctx) },
    { connections: 'one', returnModel: true, averager: true, direct: ['out'] },
  );
}

export const ma = defineApproach<InDbmsPrepared, typeof INDB_OPTIONS>({
  id: 'ma',
  title: 'MA: model averaging, one bulk-synchronous statement per config per epoch (MADlib baseline)',
  layers: {
    scheduling: 'bulk synchronous; one statement per config per epoch; weights averaged',
    execution: 'in-DBMS: per-segment aggregates in per-segment views, weighted average on the coordinator',
    dataAccess: 'DBMS scan',
    modelsLive: 'DB: a copy on every segment, the average broadcast after each epoch',
  },
  options: INDB_OPTIONS,
  check: checkInDbms,

  async prepare(ctx) {
    const prepared = await prepareInDbms(ctx);
    const everySegment = ctx.topology.segments.map((_, i) => i);
    if (ctx.epochs.completedUnits.length === 0) await createModelsTable(ctx, modelsTable(ctx), () => everySegment);
    return prepared;
  },

  async startup(ctx, prepared) {
    await startup(ctx, prepared);
  },

  async verifyResume(ctx): Promise<Problem[]> {
    return (await recoverTableModels(ctx, modelsTable(ctx), 'everySegment')).problems;
  },

  async train(ctx, prepared) {
    const session = await startup(ctx, prepared);
    const table = modelsTable(ctx);
    const recovery = await recoverTableModels(ctx, table, 'everySegment', session);
    await applyModelRecovery(ctx, recovery, table, (work) => session.directly(work));
    const versions = new Map([...recovery.current].map(([config, at]) => [config, at.version]));

    const { workload, topology } = ctx;
    const segments = topology.segments.length;
    const everySegment = topology.segments.map((_, segment) => segment);
    const views = runViewNames(ctx.runId);
    const client = await session.coordinator();
    const runTasks = (view: string, tasks: Task[]): Promise<StepRow[]> => session.step(client, view, tasks);
    const recordedIn = (config: number, epoch: number): Set<number> =>
      new Set(ctx.epochs.completedUnits.filter((u) => u.config === config && u.epoch === epoch).map((u) => u.segment));

    /**
     * A config's epoch after its statement: the coordinator's weighted average of the trained
     * models, the average broadcast to every segment's copy, then its units recorded.
     */
    const finish = async (config: number, epoch: number, version: number, trained: TrainedCopy[]): Promise<void> => {
      const averageStart = Date.now();
      // Each model its own parameter: node-postgres binds a Buffer as binary, but serialises an
      // array of them as hex text, twice the bytes and a parse on the coordinator.
      const modelParams = trained.map((_, i) => `$${i + 1}::bytea`).join(', ');
      const averaged = await session.query<{ m: Buffer }>(
        await session.averager(),
        `SELECT bench_average(ARRAY[${modelParams}], $${trained.length + 1}::float8[]) AS m`,
        [...trained.map((t) => t.model), trained.map((t) => t.result.examples)],
      );
      const model = averaged[0].m;
      ctx.emit({ type: 'span', kind: 'average', start: averageStart, end: Date.now(), config, epoch });
      await injectionPoint(topology, 'ma:averaged');

      // The average becomes every segment's copy, with the units that made it (a resume reads them).
      const next = version + segments;
      const units: StoredUnit[] = trained.map((t) => ({
        segment: t.seg,
        lossSum: t.result.lossSum,
        examples: t.result.examples,
      }));
      const broadcastStart = Date.now();
      await session.directly((segment) =>
        Promise.all(
          topology.segments.map(async (_, s) => {
            const set = 'SET state = $1, version = $2, units = $3';
            const sql = `UPDATE ${ident(table)} ${set} WHERE config = $4 AND version = $5`;
            await (await segment(s)).query(sql, [model, next, JSON.stringify(units), config, version]);
            await injectionPoint(topology, 'ma:broadcast', { segment: `seg${s}` });
          }),
        ),
      );
      ctx.emit({
        type: 'span',
        kind: 'model-hop',
        start: broadcastStart,
        end: Date.now(),
        config,
        epoch,
        bytes: segments * model.length,
      });
      // The model went to every segment and came back from each: the collect and the broadcast.
      ctx.emit({
        type: 'counter',
        transport: 'sql',
        bytes: trained.reduce((sum, t) => sum + t.model.length, 0) + segments * model.length,
        at: Date.now(),
      });
      versions.set(config, next);
      const already = recordedIn(config, epoch);
      for (const t of trained) {
        if (already.has(t.seg)) continue;
        ctx.epochs.unitDone(
          { config, segment: t.seg, epoch },
          { lossSum: t.result.lossSum, examples: t.result.examples, modelVersion: next },
        );
      }
    };

    // One config's average and broadcast run while the next config's statement trains: each
    // config's trajectory is its own, so the overlap changes no result, only how long the segments
    // wait between statements. An epoch's validation waits for its last config's.
    let finishing: Promise<void> = Promise.resolve();
    try {
      for (let epoch = 0; epoch < workload.epochs; epoch++) {
        // After the epoch's configs, one statement validates them all, each on its home segment
        // (config mod segments), the segments at once.
        const toValidate: { task: Task; epoch: number }[] = [];
        for (const config of workload.configs) {
          ctx.signal.throwIfAborted();
          if (ctx.epochs.isValidated(config.id, epoch)) continue;
          let version = versions.get(config.id) ?? 0;
          if (recordedIn(config.id, epoch).size < segments) {
            if (version !== epoch * segments)
              throw new Error(
                `config ${config.id}: its model is at version ${version}, epoch ${epoch} starts at ${epoch * segments}`,
              );
            for (let segment = 0; segment < segments; segment++)
              ctx.epochs.unitStarted({ config: config.id, segment, epoch });
            const tasks = everySegment.map((segment) => ({ segment, config: config.id, version }));
            const statement = await alongside(
              timed(() => runTasks(views.train, tasks)),
              finishing,
            );
            const trained = statement.result.map((row) => ({ seg: row.seg, ...parseStepFrame(row.result) }));
            for (const t of trained) {
              emitEngineSpans(ctx, t.result.spans, { segment: t.seg, config: config.id, epoch });
              // Each segment's copy of the model sits on it: reading it is the segment's own I/O.
              const bytes = modelBytesMoved(t.result.spans);
              ctx.emit({ type: 'counter', transport: 'model-state', bytes, at: Date.now(), segment: t.seg });
            }
            // A segment waiting for the slowest is idle; the trained models' return is the collect.
            const reported = trained.map((t) => ({ segment: t.seg, spans: t.result.spans }));
            const shape = { segments: everySegment, epoch, collect: 'model-hop' } as const;
            emitStatementSpans(ctx, statement.interval, reported, shape);
            finishing = finish(config.id, epoch, version, trained);
            // Handled where it is awaited; this keeps a failure from counting as unhandled meanwhile.
            finishing.catch(() => undefined);
            version += segments;
          }
          toValidate.push({ task: { segment: config.id % segments, config: config.id, version }, epoch });
        }
        await finishing;
        if (toValidate.length > 0)
          await validateInOneStatement(ctx, (tasks) => runTasks(views.valid, tasks), toValidate, everySegment);
      }
    } finally {
      await finishing.catch(() => undefined);
    }
  },

  async cleanup(ctx, prepared, outcome) {
    await cleanupInDbms(ctx, prepared, outcome, modelsTable(ctx));
  },
});
