// UDAF (paper 3.1): fully in-DBMS. Data and models live in distributed tables; each sub-epoch batch
// of the synchronous round-robin scheduler is ONE statement on the coordinator, a scan of the run's
// training view (every segment aggregates its partition with `bench_step` for the model placed on
// it, concurrently; the statement ends when the slowest segment does: the barrier). Between
// batches, models hop to the segments of their next units (copy, verify, delete). docs/indb.md.
// A search's configs (docs/search.md) train in rounds rebuilt from the configs in flight: each new
// config gets its row in the models table as it arrives, and a round's configs are validated after it.
import { defineApproach, type Problem } from '../src/core/approach.js';
import { createRoundRobinScheduler } from '../src/sched/round-robin.js';
import type { Unit } from '../src/core/unit.js';
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
import {
  applyModelRecovery,
  createModelsTable,
  hopModels,
  insertConfigRows,
  type Move,
  modelsTable,
} from './shared/models-table.js';
import { injectionPoint } from './shared/injection-points.js';
import { runRoundSearch } from './shared/search-drive.js';
import { emitStatementSpans, timed, type SegmentSpans, validateInOneStatement } from './shared/indb-spans.js';

async function startup(ctx: InDbmsContext, prepared: InDbmsPrepared): Promise<IndbSession> {
  return startInDbms(
    ctx,
    prepared,
    { kind: 'table', table: modelsTable(ctx) },
    { connections: 'one', returnModel: false, averager: false, direct: ['out', 'in'] },
  );
}

/** Where each model is and at which version, kept in step with the table. */
type Placement = Map<number, { segment: number; version: number }>;

export const udaf = defineApproach<InDbmsPrepared, typeof INDB_OPTIONS>({
  id: 'udaf',
  title: 'UDAF: fully in-DBMS, synchronous round-robin, one aggregate statement per sub-epoch batch',
  layers: {
    scheduling: 'sync round-robin; one SQL statement per sub-epoch batch (barrier)',
    execution: 'in-DBMS PL/Python aggregate on every segment, in a per-segment view scanned by postgres_fdw',
    dataAccess: 'DBMS scan of packed buffers',
    modelsLive: 'distributed DB table; hop = copy, verify, delete across segments',
  },
  options: INDB_OPTIONS,
  searches: true,
  check: checkInDbms,

  async prepare(ctx) {
    const prepared = await prepareInDbms(ctx);
    // Every model starts on the segment of its first unit: in round-robin batch b, segment s trains
    // config s + b, so config c < N starts on segment c in batch 0 and the others on the last segment.
    const last = ctx.topology.segments.length - 1;
    if (ctx.epochs.completedUnits.length === 0)
      await createModelsTable(ctx, modelsTable(ctx), (config) => [Math.min(config, last)]);
    return prepared;
  },

  async startup(ctx, prepared) {
    await startup(ctx, prepared);
  },

  async verifyResume(ctx): Promise<Problem[]> {
    return (await recoverTableModels(ctx, modelsTable(ctx), 'one')).problems;
  },

  async train(ctx, prepared) {
    const session = await startup(ctx, prepared);
    const table = modelsTable(ctx);
    const recovery = await recoverTableModels(ctx, table, 'one', session);
    await applyModelRecovery(ctx, recovery, table, (work) => session.directly(work));
    const placement: Placement = new Map(
      [...recovery.current].map(([config, at]) => [config, { segment: at.segment ?? 0, version: at.version }]),
    );

    const { workload, topology } = ctx;
    const segments = topology.segments.length;
    const views = runViewNames(ctx.runId);
    const client = await session.coordinator();
    const runTasks = (view: string, tasks: Task[]): Promise<StepRow[]> => session.step(client, view, tasks);
    const everySegment = topology.segments.map((_, segment) => segment);
    /** Validate configs, each after its own epoch, in one statement. */
    const validateConfigs = (which: readonly { config: number; epoch: number }[]): Promise<void> =>
      validateInOneStatement(
        ctx,
        (tasks) => runTasks(views.valid, tasks),
        which.map(({ config, epoch }) => ({ task: { config, ...placementOf(placement, config) }, epoch })),
        everySegment,
      );
    const validate = (epoch: number): Promise<void> =>
      validateConfigs(workload.configs.map((c) => ({ config: c.id, epoch })));

    /** One sub-epoch batch: the models hop to their units' segments, then one statement trains them all. */
    const runBatch = async (batch: Unit[]): Promise<void> => {
      const epoch = batch[0].epoch;
      for (const unit of batch) ctx.epochs.unitStarted(unit);

      const moves: Move[] = batch
        .filter((u) => placementOf(placement, u.config).segment !== u.segment)
        .map((u) => ({
          config: u.config,
          from: placementOf(placement, u.config).segment,
          to: u.segment,
          version: placementOf(placement, u.config).version,
        }));
      if (moves.length > 0) {
        const start = Date.now();
        const bytes = await session.directly((segment) =>
          hopModels(table, segment, moves, (point, move) =>
            injectionPoint(topology, point, { source: `seg${move.from}`, destination: `seg${move.to}` }),
          ),
        );
        for (const move of moves) placementOf(placement, move.config).segment = move.to;
        ctx.emit({ type: 'span', kind: 'model-hop', start, end: Date.now(), epoch, bytes });
        // Each copy leaves one segment and arrives at another.
        ctx.emit({ type: 'counter', transport: 'model-table', bytes: 2 * bytes, at: Date.now() });
      }

      const versionOf = (config: number): number => placementOf(placement, config).version;
      const tasks = batch.map((u) => ({ segment: u.segment, config: u.config, version: versionOf(u.config) }));
      const running = timed(() => runTasks(views.train, tasks));
      running.catch(() => undefined);
      await injectionPoint(topology, 'udaf:batch-running');
      const { result: rows, interval } = await running;
      await injectionPoint(topology, 'udaf:batch-done');
      const reported: SegmentSpans[] = [];
      for (const unit of batch) {
        const row = rows.find((r) => r.seg === unit.segment && r.config === unit.config);
        if (!row)
          throw new Error(
            `seg${unit.segment} returned no result for config ${unit.config}: its partition holds no buffers`,
          );
        const { result } = parseStepFrame(row.result);
        emitEngineSpans(ctx, result.spans, { segment: row.seg, config: row.config, epoch });
        reported.push({ segment: row.seg, spans: result.spans });
        // The model row sits on this segment: reading and writing it is the segment's own I/O, not a hop.
        const bytes = modelBytesMoved(result.spans);
        ctx.emit({ type: 'counter', transport: 'model-state', bytes, at: Date.now(), segment: row.seg });
        placementOf(placement, unit.config).version = result.version;
        ctx.epochs.unitDone(unit, { lossSum: result.lossSum, examples: result.examples, modelVersion: result.version });
      }
      // The batch's end is the barrier: dispatch, waits for the slowest segment, the results' return.
      emitStatementSpans(ctx, interval, reported, { segments: everySegment, epoch });
    };

    if (workload.search) {
      return runRoundSearch(ctx, segments, {
        runBatch,
        validateRound: validateConfigs,
        async onConfig(config) {
          const home = config.id % segments;
          await session.directly((segment) => insertConfigRows(segment, table, workload, config, [home]));
          if (!placement.has(config.id)) placement.set(config.id, { segment: home, version: 0 });
        },
      });
    }
    const scheduler = createRoundRobinScheduler({
      configs: workload.configs.length,
      segments,
      epochs: workload.epochs,
      seed: workload.seed,
    });
    scheduler.restore?.(ctx.epochs.completedUnits);
    for (const epoch of ctx.epochs.unvalidatedCompleteEpochs()) await validate(epoch);
    let epoch: number | undefined;
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
      if (epoch !== undefined && batchEpoch !== epoch) await validate(epoch);
      epoch = batchEpoch;
      await runBatch(batch);
      for (const unit of batch) scheduler.completed(unit);
    }
    if (epoch !== undefined) await validate(epoch);
  },

  async cleanup(ctx, prepared, outcome) {
    await cleanupInDbms(ctx, prepared, outcome, modelsTable(ctx));
  },
});

function placementOf(placement: Placement, config: number): { segment: number; version: number } {
  const at = placement.get(config);
  if (!at) throw new Error(`config ${config} has no model in the models table`);
  return at;
}
