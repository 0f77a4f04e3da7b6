// The row-by-row direct reader: any table of any instance, read from its files exactly as a
// SELECT under one snapshot per storing instance would return it, in physical (ctid) order.
import type pg from 'pg';
import { connect } from '../../db/connect.js';
import type { Instance } from '../../db/topology.js';
import type { CanonicalColumn } from '../canonical.js';
import {
  Connections,
  describeColumns,
  resolveLeaves,
  type InstanceResolver,
  type Leaf,
  type RelationInfo,
} from './catalog.js';
import { decodeVarlena, type Value } from './decode.js';
import { RelationFork } from './files.js';
import { DirectReadError } from './format.js';
import { emptyStats, PageCursor, type DirectReadStats } from './pages.js';
import { InstanceSession, type LockMode } from './session.js';
import { ExternalRef, ToastStore } from './toast.js';
import { decodeTuple, tupleLayout } from './tuples.js';

export interface DirectReadOptions {
  /** Columns to return, by name, in this order; default: every column in attnum order. */
  columns?: string[];
  /** Lock held for the whole read (default ACCESS EXCLUSIVE; SHARE lets readers in). */
  lockMode?: LockMode;
  /** Refuse (LockTimeoutError) instead of waiting longer than this for the lock; default: wait. */
  lockTimeoutMs?: number;
  /** Maps a postgres_fdw server to an instance of the topology (user, data directory). */
  resolveInstance?: InstanceResolver;
  connect?: (instance: Instance) => Promise<pg.Client>;
  /** Verify page checksums when the cluster has them (default true). */
  verifyChecksums?: boolean;
  /** Blocks per read (default 256 = 2 MB). */
  chunkBlocks?: number;
  /** Called once every lock is held and the files are flushed, before any file is read (tests). */
  onLocked?: (sessions: InstanceSession[]) => void | Promise<void>;
}

/** A row: column name -> value, keys in the order of the columns asked for (attnum order). */
export type Row = Record<string, Value>;

export interface DirectRead {
  /** The columns returned, with their types (from the table named, on the instance named). */
  columns: CanonicalColumn[];
  /** The relations read, in order. */
  leaves: Leaf[];
  /** Rows as arrays aligned with `columns`. Ends the read (releases the locks) when done. */
  rows(): AsyncGenerator<Value[]>;
  stats: DirectReadStats;
  /** Release the locks if rows() was not run to its end. */
  close(): Promise<void>;
}

/**
 * Open a direct read of `table` on `instance`: find the relations holding its rows (following
 * partitions and postgres_fdw foreign tables to their instances), lock each instance's relations
 * and take its snapshot, CHECKPOINT every instance; then rows() reads the files.
 */
export async function openDirectRead(
  instance: Instance,
  table: string,
  options: DirectReadOptions = {},
): Promise<DirectRead> {
  const locked = await lockTable(instance, table, options);
  const { columns, leaves, stats } = locked;
  async function* rows(): AsyncGenerator<Value[]> {
    try {
      for (const leaf of leaves) {
        const session = locked.session(leaf);
        yield* readLeaf(
          session,
          session.relation(leaf.table),
          columns.map((c) => c.name),
          stats,
          options,
        );
      }
    } finally {
      await locked.finish();
    }
  }
  return { columns, leaves, rows, stats, close: locked.finish };
}

export interface LockedTable {
  columns: CanonicalColumn[];
  leaves: Leaf[];
  stats: DirectReadStats;
  session(leaf: Leaf): InstanceSession;
  /** Release every lock (COMMIT) and set stats.seconds. Idempotent. */
  finish(): Promise<void>;
}

/**
 * Find the relations holding `table`'s rows (following partitions and postgres_fdw foreign tables
 * to their instances), then on each instance lock its relations, take the snapshot and
 * CHECKPOINT - every lock held before any file is read.
 */
export async function lockTable(
  instance: Instance,
  table: string,
  options: DirectReadOptions = {},
): Promise<LockedTable> {
  const started = performance.now();
  const connections = new Connections(options.connect ?? ((i: Instance) => connect(i, 'bench direct reader')));
  const stats = emptyStats();
  const sessions = new Map<string, InstanceSession>();
  const closeAll = async () => {
    await Promise.all([...sessions.values()].map((s) => s.close()));
    await connections.closeAll();
  };
  let columns: CanonicalColumn[];
  let leaves: Leaf[];
  try {
    // The columns of the table as named (the partitioned parent's on the coordinator, say).
    columns = await describeColumns(await connections.get(instance), instance, table, options.columns);
    leaves = await resolveLeaves(instance, table, connections.get, options.resolveInstance);
    const groups = new Map<string, { instance: Instance; tables: string[] }>();
    for (const leaf of leaves) {
      const g = groups.get(Connections.key(leaf.instance)) ?? { instance: leaf.instance, tables: [] };
      g.tables.push(leaf.table);
      groups.set(Connections.key(leaf.instance), g);
    }
    for (const [key, g] of groups) {
      const client = await connections.get(g.instance);
      sessions.set(
        key,
        await InstanceSession.open(g.instance, client, g.tables, {
          lockMode: options.lockMode,
          lockTimeoutMs: options.lockTimeoutMs,
        }),
      );
    }
    for (const s of sessions.values()) {
      stats.lockWaitSeconds += s.lockWaitSeconds;
      stats.checkpointSeconds += s.checkpointSeconds;
    }
    if (options.onLocked) await options.onLocked([...sessions.values()]);
  } catch (error) {
    await closeAll();
    throw error;
  }
  let done = false;
  return {
    columns,
    leaves,
    stats,
    session: (leaf) => sessions.get(Connections.key(leaf.instance))!,
    async finish() {
      if (done) return;
      done = true;
      await closeAll();
      stats.seconds = (performance.now() - started) / 1000;
    },
  };
}

/** The rows of one leaf relation, under its instance session. */
async function* readLeaf(
  session: InstanceSession,
  relation: RelationInfo,
  wanted: string[],
  stats: DirectReadStats,
  options: DirectReadOptions,
): AsyncGenerator<Value[]> {
  if (!relation.path) throw new DirectReadError(`${relation.qualifiedName} has no storage`);
  const facts = session.facts;
  const layout = tupleLayout(relation, wanted);
  const checksums = facts.checksums && options.verifyChecksums !== false;
  const fork = await RelationFork.open(relation.path, facts.blockSize, facts.segmentBlocks);
  let toastFork: RelationFork | undefined;
  let toast: ToastStore | undefined;
  const name = `${session.instance.name}: ${relation.qualifiedName}`;
  const ctx = { fork, checksums, stats, name };
  const judge = session.judge;
  const clogBefore = judge.clogDecisions;
  const items: number[] = [];
  const pages = new PageCursor(ctx, { chunkBlocks: options.chunkBlocks ?? 256, counter: 'heapPages' });
  try {
    while (pages.next() || (await pages.more())) {
      const { buf, p, block } = pages;
      const where = () => `${name} block ${block}`;
      let n = session.visibleItems(buf, p, pages.header, where, items, stats);
      if (typeof n !== 'number') n = await n;
      for (let k = 0; k < n; k++) {
        const row = new Array<Value | ExternalRef>(layout.outputs);
        try {
          decodeTuple(layout, buf, p + items[k * 3 + 1], items[k * 3 + 2], row, stats, true);
        } catch (error) {
          if (!(error instanceof DirectReadError)) throw error;
          throw new DirectReadError(`${where()} item ${items[k * 3]}: ${error.message}`);
        }
        for (let c = 0; c < row.length; c++) {
          const v = row[c];
          if (v instanceof ExternalRef) {
            if (!toast) {
              const rel = relation.toast;
              if (!rel) throw new DirectReadError(`${where()}: TOAST pointer in a relation without a TOAST table`);
              toastFork = await RelationFork.open(rel.path, facts.blockSize, facts.segmentBlocks);
              const toastCtx = { fork: toastFork, checksums, stats, name: `${name} (TOAST)`, judge, oid: rel.oid };
              toast = await ToastStore.build(toastCtx);
            }
            const col = layout.attrs.find((a) => a.out === c)!.column;
            row[c] = decodeVarlena(col.type!, await toast.fetch(v));
          }
        }
        stats.tuples++;
        yield row as Value[];
      }
    }
  } finally {
    await pages.close();
    stats.clogLookups += judge.clogDecisions - clogBefore;
    stats.bytesRead += fork.bytesRead + (toastFork?.bytesRead ?? 0);
    await fork.close();
    await toastFork?.close();
  }
}

/** Read every row of `table` on `instance` from the files (see openDirectRead). */
export async function* readTableDirect(
  instance: Instance,
  table: string,
  options: DirectReadOptions = {},
): AsyncGenerator<Row> {
  const read = await openDirectRead(instance, table, options);
  const names = read.columns.map((c) => c.name);
  for await (const values of read.rows()) {
    const row: Row = {};
    for (let i = 0; i < names.length; i++) row[names[i]] = values[i];
    yield row;
  }
}
