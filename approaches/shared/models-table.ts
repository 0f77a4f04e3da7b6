// A run's models as rows of a distributed table (udaf, ctq --models-in db, ma), and how a resume
// finds out which copy of a model is the current one. A row is (seg, config, seed, spec, state,
// version, units): state is the checkpoint (NULL until the first unit trains it: the engine makes
// it from the seed), version the sub-epochs it has trained, units the results of the units that
// made this version. Every insert and update commits synchronously (the bench_durable_commit
// trigger), so a model that bench has seen written survives an immediate stop of the instance.
//
// A hop is copy, verify, delete: the row is copied to the destination segment (committed there),
// the copy is checked (COPY's row count at each end), and only then is the source row deleted. A
// crash at any point leaves the model on one segment or on two at the same version, never on none;
// a resume keeps one copy.
// docs/indb.md has the whole argument.
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { closeSync, openSync, readSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Problem, RunContext } from '../../src/core/approach.js';
import type { UnitDone } from '../../src/core/events.js';
import { modelSeed, type ModelConfig, type ResolvedWorkload } from '../../src/core/workload.js';
import { withClient, ident, literal } from '../../src/db/connect.js';
import { createDistributedTable, onEverySegment } from '../../src/db/distributed.js';
import type { Topology } from '../../src/db/topology.js';
import { configSpec, indbObjectName } from '../../src/engine/indb.js';

/** The run's models table (udaf, ma, ctq with models-in=db), one name on every instance. */
export function modelsTable(ctx: Pick<RunContext, 'runId'>): string {
  return indbObjectName(ctx.runId, 'models');
}

export const MODEL_COLUMNS =
  'config int NOT NULL, seed int NOT NULL, spec json NOT NULL, state bytea, version int NOT NULL DEFAULT 0, units json';

/** The result of one unit, stored with the version it made. */
export interface StoredUnit {
  segment: number;
  lossSum: number;
  examples: number;
}

/** One copy of a model: a table row on a segment, or a checkpoint file (segment undefined). */
export interface ModelCopy {
  segment?: number;
  config: number;
  version: number;
  units: StoredUnit[];
  /** md5 of the checkpoint (null while the model is untrained). */
  checksum: string | null;
}

/**
 * Create the models table with a fresh row (version 0, no state) for every config on each segment
 * `placement` names: one for udaf and ctq, every segment for ma.
 */
export async function createModelsTable(
  ctx: RunContext,
  table: string,
  placement: (config: number) => number[],
): Promise<void> {
  const { topology, workload } = ctx;
  await createDistributedTable(topology, table, MODEL_COLUMNS);
  await onEverySegment(topology, async (client) => {
    await client.query(`ALTER TABLE ${ident(table)} ADD PRIMARY KEY (config)`);
    // Checkpoints are float32 noise to a compressor: stored uncompressed, no pglz pass per read and write.
    await client.query(`ALTER TABLE ${ident(table)} ALTER COLUMN state SET STORAGE EXTERNAL`);
    await client.query(
      `CREATE TRIGGER ${ident(`${table}_durable`)} AFTER INSERT OR UPDATE ON ${ident(table)} ` +
        'FOR EACH STATEMENT EXECUTE FUNCTION bench_durable_commit()',
    );
  });
  // A search's configs arrive during the run (insertConfigRows); a resumed one's are put back here.
  if (workload.configs.length === 0) return;
  const rows = workload.configs.flatMap((config) =>
    placement(config.id).map(
      (segment) =>
        `(${Math.trunc(segment)}, ${config.id}, ${modelSeed(workload, config.id)}, ` +
        `${literal(configSpec(config))}::json)`,
    ),
  );
  await withClient(topology.coordinator, (client) =>
    client.query(`INSERT INTO ${ident(table)} (seg, config, seed, spec) VALUES ${rows.join(', ')}`),
  );
}

/**
 * A config that arrived during the run (a search, docs/search.md): its fresh row (version 0, no
 * state) on each segment named, over direct connections; a row already there is kept (the config's
 * event was lost after its row was made). Works on the models table and on ctq's configs table.
 */
export async function insertConfigRows(
  segment: SegmentClients,
  table: string,
  workload: Pick<ResolvedWorkload, 'seed'>,
  config: ModelConfig,
  segments: readonly number[],
): Promise<void> {
  for (const s of segments) {
    const client = await segment(s);
    await client.query(
      `INSERT INTO ${ident(table)} (seg, config, seed, spec) VALUES ($1, $2, $3, $4::json) ` +
        'ON CONFLICT (config) DO NOTHING',
      [s, config.id, modelSeed(workload, config.id), configSpec(config)],
    );
  }
}

interface CopyRow {
  config: number;
  version: number;
  units: StoredUnit[] | null;
  checksum: string | null;
}

/** Every copy of every model in the table, read on each segment (checksums computed there). */
export async function readTableCopies(access: TableAccess, table: string): Promise<ModelCopy[]> {
  const perSegment = await access.everySegment(async (client, segment) => {
    const { rows } = await client.query<CopyRow>(
      `SELECT config, version, units, md5(state) AS checksum FROM ${ident(table)}`,
    );
    return rows.map(
      (row): ModelCopy => ({
        segment,
        config: row.config,
        version: row.version,
        units: row.units ?? [],
        checksum: row.checksum,
      }),
    );
  });
  return perSegment.flat();
}

/** Whether the run's models table exists on the coordinator and on every segment. */
export async function modelsTableExists(access: TableAccess, table: string): Promise<boolean> {
  const check = (client: pg.Client) =>
    client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [table]).then((r) => r.rows[0].ok);
  return (await access.onCoordinator(check)) && (await access.everySegment(check)).every(Boolean);
}

/**
 * Where reads of a models table run: over new connections (`newConnections`), or over an
 * IndbSession's open ones during execution, where a fresh connection would cost 5-10 ms.
 */
export interface TableAccess {
  onCoordinator<T>(work: (client: pg.Client) => Promise<T>): Promise<T>;
  everySegment<T>(work: (client: pg.Client, segment: number) => Promise<T>): Promise<T[]>;
}

/** A TableAccess that opens a connection for each piece of work and closes it after. */
export function newConnections(topology: Topology): TableAccess {
  return {
    onCoordinator: (work) => withClient(topology.coordinator, work),
    everySegment: (work) => onEverySegment(topology, work),
  };
}

/** The checkpoint file of a config in a model store. */
export function checkpointPath(dir: string, config: number): string {
  return join(dir, `config-${config}.pt`);
}

/** The JSON header of a checkpoint file (bench_engine.checkpoint: u32 LE length, JSON, ...). */
function readCheckpointHeader(path: string): { units?: number; lastUnits?: StoredUnit[] } {
  const fd = openSync(path, 'r');
  try {
    const length = Buffer.alloc(4);
    if (readSync(fd, length, 0, 4, 0) !== 4) throw new Error(`${path} is not a checkpoint (shorter than 4 bytes)`);
    const header = Buffer.alloc(length.readUInt32LE(0));
    if (readSync(fd, header, 0, header.length, 4) !== header.length) throw new Error(`${path} ends inside its header`);
    return JSON.parse(header.toString('utf8')) as { units?: number; lastUnits?: StoredUnit[] };
  } finally {
    closeSync(fd);
  }
}

/** Remove the temporary files writers killed mid-write left in a model store (never while units run). */
export function removeUnfinishedCheckpoints(dir: string): void {
  for (const name of readdirSync(dir).filter((n) => n.includes('.tmp-'))) rmSync(join(dir, name), { force: true });
}

/** The checkpoints of a model store directory as copies (a config without a file has none yet). */
export function readFileCopies(dir: string, configs: readonly number[]): ModelCopy[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return configs.flatMap((config) => {
    if (!names.includes(`config-${config}.pt`)) return [];
    const header = readCheckpointHeader(checkpointPath(dir, config));
    return [{ config, version: header.units ?? 0, units: header.lastUnits ?? [], checksum: null }];
  });
}

/** What a resume finds and does about the models before training goes on. */
export interface ModelRecovery {
  /** Models that cannot be resumed: missing, copies that disagree, a version nothing explains. */
  problems: Problem[];
  /** Per config, the version training goes on from and, in a table, the segment of the copy kept. */
  current: Map<number, { version: number; segment?: number }>;
  /** Units whose model update committed but whose event was never recorded: record them. */
  unrecorded: UnitDone[];
  /** Copies to delete (duplicates and stale copies of models kept elsewhere). */
  drop: { segment: number; config: number }[];
  /** Copies (ma: one per segment) behind the current version, to overwrite with a current one. */
  refresh: { config: number; from: number; to: number[] }[];
}

export interface RecoveryOptions {
  configs: readonly number[];
  segments: number;
  /** one: a single copy per model (udaf, ctq); everySegment: a copy on each segment (ma). */
  layout: 'one' | 'everySegment';
  /** A config may have no copy yet while no unit of it was recorded (model-store files are made lazily). */
  absentMeansFresh: boolean;
}

function unitKey(unit: { config: number; segment: number; epoch: number }): string {
  return `${unit.config}/${unit.segment}/${unit.epoch}`;
}

/**
 * Decide, from the copies found and the units the event log recorded, which copy of each model is
 * current. A model `k` versions ahead of the log is recoverable when its copy names the `k` units
 * that made that version and the log lacks exactly those (they committed, their events were lost).
 * Pure: the caller reads the copies and applies the decision.
 */
export function planModelRecovery(
  copies: readonly ModelCopy[],
  recorded: readonly UnitDone[],
  options: RecoveryOptions,
): ModelRecovery {
  const recovery: ModelRecovery = { problems: [], current: new Map(), unrecorded: [], drop: [], refresh: [] };
  const recordedKeys = new Set(recorded.map(unitKey));
  for (const config of options.configs) {
    const mine = copies.filter((c) => c.config === config);
    const done = new Set(recorded.filter((u) => u.config === config).map(unitKey)).size;
    if (mine.length === 0) {
      if (done === 0 && options.absentMeansFresh) recovery.current.set(config, { version: 0 });
      else
        recovery.problems.push({
          message: `config ${config}: its model is missing (the run recorded ${done} sub-epochs of it)`,
        });
      continue;
    }
    const top = Math.max(...mine.map((c) => c.version));
    const atTop = mine.filter((c) => c.version === top).sort((a, b) => (a.segment ?? 0) - (b.segment ?? 0));
    const where = (c: ModelCopy): string => (c.segment === undefined ? 'the model store' : `seg${c.segment}`);
    if (new Set(atTop.map((c) => c.checksum)).size > 1) {
      recovery.problems.push({
        message:
          `config ${config}: its copies at version ${top} differ (${atTop.map(where).join(', ')}); ` +
          `none can be trusted`,
      });
      continue;
    }
    if (top < done) {
      recovery.problems.push({
        message:
          `config ${config}: its model is at version ${top} but the run recorded ${done} sub-epochs of it: ` +
          `trained work was lost`,
      });
      continue;
    }
    if (top > done) {
      const epoch = Math.floor((top - 1) / options.segments);
      const missing = atTop[0].units.filter((u) => !recordedKeys.has(unitKey({ config, segment: u.segment, epoch })));
      if (missing.length !== top - done) {
        recovery.problems.push({
          message:
            `config ${config}: its model is at version ${top}, the run recorded ${done} sub-epochs of it, ` +
            `and the model does not name the ${top - done} missing ones`,
        });
        continue;
      }
      for (const unit of missing) {
        recovery.unrecorded.push({
          type: 'unit',
          config,
          segment: unit.segment,
          epoch,
          lossSum: unit.lossSum,
          examples: unit.examples,
          modelVersion: top,
          at: Date.now(),
        });
      }
    }
    const keep = atTop[0];
    recovery.current.set(config, { version: top, segment: keep.segment });
    if (options.layout === 'one') {
      for (const copy of mine)
        if (copy !== keep && copy.segment !== undefined) recovery.drop.push({ segment: copy.segment, config });
    } else {
      const present = new Set(mine.map((c) => c.segment));
      const absent = Array.from({ length: options.segments }, (_, s) => s).filter((s) => !present.has(s));
      if (absent.length > 0) {
        recovery.problems.push({
          message: `config ${config}: its copy is missing on ${absent.map((s) => `seg${s}`).join(', ')}`,
        });
        continue;
      }
      const behind = mine.filter((c) => c.version < top).map((c) => c.segment as number);
      if (behind.length > 0) recovery.refresh.push({ config, from: keep.segment as number, to: behind });
    }
  }
  return recovery;
}

/** Copy one row of `table` from one segment to others over binary COPY (a plain table-to-table copy). */
async function copyRow(
  source: pg.Client,
  target: pg.Client,
  table: string,
  where: string,
  targetSegment: number,
): Promise<{ bytes: number; sent: number; received: number }> {
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const out = source.query(
    copyTo(
      `COPY (SELECT ${Math.trunc(targetSegment)}, config, seed, spec, state, version, units FROM ${ident(table)} ` +
        `WHERE ${where}) TO STDOUT (FORMAT binary)`,
    ),
  );
  const into = target.query(
    copyFrom(`COPY ${ident(table)} (seg, config, seed, spec, state, version, units) FROM STDIN (FORMAT binary)`),
  );
  await pipeline(out, count, into);
  // The two COPY command tags: rows the source sent, rows the destination committed.
  return { bytes, sent: out.rowCount, received: into.rowCount };
}

/**
 * Direct connections to the segments: `segment(i)` for reads and writes on segment i, `segment(i,
 * 'in')` a second one that receives copies, so that moves between distinct segments run at once.
 */
export type SegmentClients = (segment: number, role?: 'out' | 'in') => Promise<pg.Client>;

/** Work over direct connections, one piece of work at a time (IndbSession.directly). */
export type DirectAccess = <T>(work: (segment: SegmentClients) => Promise<T>) => Promise<T>;

export interface Move {
  config: number;
  from: number;
  to: number;
  version: number;
}

/** Moves grouped so that no two in a group share a source or a destination (they run at once). */
export function moveWaves(moves: readonly Move[]): Move[][] {
  const waves: Move[][] = [];
  for (const move of moves) {
    const wave = waves.find((w) => w.every((m) => m.from !== move.from && m.to !== move.to));
    if (wave) wave.push(move);
    else waves.push([move]);
  }
  return waves;
}

/**
 * Hop models between segments over direct connections: for each, copy the row to the destination
 * (its commit is synchronous: the table's trigger), check the copy (one row sent, one committed),
 * then delete the source row.
 * Moves between distinct segments run at once. Returns the bytes copied.
 */
export async function hopModels(
  table: string,
  segment: SegmentClients,
  moves: readonly Move[],
  inject: (point: string, move: Move) => Promise<void>,
): Promise<number> {
  let total = 0;
  for (const wave of moveWaves(moves)) {
    const copied = await Promise.all(wave.map((move) => hopOne(table, segment, move, inject)));
    total += copied.reduce((a, b) => a + b, 0);
  }
  return total;
}

async function hopOne(
  table: string,
  segment: SegmentClients,
  move: Move,
  inject: (point: string, move: Move) => Promise<void>,
): Promise<number> {
  const here = `config = ${Math.trunc(move.config)} AND version = ${Math.trunc(move.version)}`;
  const source = await segment(move.from, 'out');
  const target = await segment(move.to, 'in');
  const { bytes, sent, received } = await copyRow(source, target, table, here, move.to);
  await inject('hop:copied', move);
  // The check is COPY's own count at each end: the primary key allows one row per config and
  // segment, so the source sent its one copy at this version (none: nothing was committed), and the
  // destination committed what arrived, in binary, byte for byte.
  if (sent !== 1)
    throw new Error(
      `hop of config ${move.config}: seg${move.from} has ${sent} copies of it at version ${move.version}`,
    );
  if (received !== 1)
    throw new Error(
      `hop of config ${move.config} to seg${move.to}: the source sent 1 row, the destination committed ${received}`,
    );
  await inject('hop:verified', move);
  // Need not be durable: a delete lost in a crash leaves a duplicate at the same version, which a
  // resume removes.
  const deleted = await source.query(`DELETE FROM ${ident(table)} WHERE ${here}`);
  if (deleted.rowCount !== 1)
    throw new Error(`hop of config ${move.config}: deleting it on seg${move.from} removed ${deleted.rowCount} rows`);
  await inject('hop:deleted', move);
  return bytes;
}

/**
 * Carry out a recovery plan: refuse when it found problems; otherwise record the units that
 * committed without an event, delete duplicate and stale copies, and bring lagging copies (ma) up
 * to the current version.
 */
export async function applyModelRecovery(
  ctx: RunContext,
  recovery: ModelRecovery,
  table: string | undefined,
  direct: DirectAccess,
): Promise<void> {
  if (recovery.problems.length > 0) throw new ResumeRefusedError(ctx.runId, recovery.problems);
  for (const unit of recovery.unrecorded) {
    ctx.log(
      `config ${unit.config}: sub-epoch on seg${unit.segment} of epoch ${unit.epoch} committed before the ` +
        `interruption; recorded now (model version ${unit.modelVersion})`,
    );
    ctx.epochs.unitDone(unit, unit);
  }
  if (!table) return;
  await direct(async (segment) => {
    for (const { segment: s, config } of recovery.drop) {
      ctx.log(`config ${config}: removing a duplicate or stale copy on seg${s}`);
      await (await segment(s)).query(`DELETE FROM ${ident(table)} WHERE config = $1`, [config]);
    }
    for (const { config, from, to } of recovery.refresh) {
      const { rows } = await (await segment(from)).query<{
        state: Buffer | null;
        version: number;
        units: StoredUnit[] | null;
      }>(`SELECT state, version, units FROM ${ident(table)} WHERE config = $1`, [config]);
      for (const s of to) {
        ctx.log(`config ${config}: bringing its copy on seg${s} to version ${rows[0].version}`);
        await (await segment(s)).query(
          `UPDATE ${ident(table)} SET state = $1, version = $2, units = $3 WHERE config = $4`,
          [rows[0].state, rows[0].version, JSON.stringify(rows[0].units), config],
        );
      }
    }
  });
}

/** A resume that would lose or duplicate trained work: nothing was changed. */
export class ResumeRefusedError extends Error {
  constructor(
    runId: string,
    readonly problems: Problem[],
  ) {
    super(`cannot resume ${runId}: ${problems.map((p) => p.message).join('; ')}`);
    this.name = 'ResumeRefusedError';
  }
}
