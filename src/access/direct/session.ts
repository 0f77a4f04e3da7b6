// The SQL side of a direct read on one instance: a transaction that holds a table lock blocking
// writers for the whole read, a snapshot taken after that lock, and a CHECKPOINT so that the files
// (heap, TOAST, pg_xact) hold every change that snapshot can see.
//
//   BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
//   SET LOCAL lock_timeout = <option>;
//   LOCK TABLE ONLY <leaves on this instance> IN ACCESS EXCLUSIVE MODE;   -- or SHARE MODE
//   SELECT ... catalog ...; SELECT pg_current_snapshot();                -- snapshot after the lock
//   CHECKPOINT;                                                           -- superuser or pg_checkpoint
//   ... read the files ...
//   COMMIT;                                                               -- releases the lock
//
// Why the lock: a writer (INSERT/UPDATE/DELETE/COPY, VACUUM, TRUNCATE, ALTER) needs a lock that
// conflicts with SHARE, so once LOCK returns every transaction that changed the table has ended
// and none can start until COMMIT; the snapshot then sees exactly the committed state, and
// nothing can make the files disagree with it while we read. ACCESS EXCLUSIVE (the default) also
// keeps out plain readers, whose HOT pruning would rewrite a page in shared buffers that a
// checkpoint or the background writer may then write while we read it (a torn read). SHARE lets
// readers in; torn pages are then caught only by data checksums (and re-read) when the cluster has
// them.
import type pg from 'pg';
import type { Instance } from '../../db/topology.js';
import { instanceFacts, relationInfo, type InstanceFacts, type RelationInfo } from './catalog.js';
import { DirectReadError, type PageHeader } from './format.js';
import { normalItems, type DirectReadStats } from './pages.js';
import {
  CommitLog,
  parseSnapshot,
  PendingMulti,
  VisibilityError,
  VisibilityJudge,
  type Snapshot,
} from './visibility.js';

export type LockMode = 'ACCESS EXCLUSIVE' | 'SHARE';

export interface SessionOptions {
  lockMode?: LockMode;
  /** Give up (error) when the lock is not granted within this many ms; default: wait. */
  lockTimeoutMs?: number;
  /** Run CHECKPOINT after locking (default true; only skip when the caller flushed otherwise). */
  checkpoint?: boolean;
}

export class LockTimeoutError extends DirectReadError {
  constructor(message: string) {
    super(message);
    this.name = 'LockTimeoutError';
  }
}

export class InstanceSession {
  readonly relations = new Map<string, RelationInfo>();
  judge!: VisibilityJudge;
  snapshot!: Snapshot;
  facts!: InstanceFacts;
  lockWaitSeconds = 0;
  checkpointSeconds = 0;
  private closed = false;

  private constructor(
    readonly instance: Instance,
    private readonly client: pg.Client,
  ) {}

  /**
   * On `client` (connected to `instance`, not in a transaction): lock `tables`, take the snapshot,
   * flush. The caller must close() (which ends the transaction; the connection stays open).
   */
  static async open(
    instance: Instance,
    client: pg.Client,
    tables: string[],
    options: SessionOptions = {},
  ): Promise<InstanceSession> {
    const session = new InstanceSession(instance, client);
    try {
      await session.start(tables, options);
      return session;
    } catch (error) {
      await session.close();
      throw error;
    }
  }

  private async start(tables: string[], options: SessionOptions): Promise<void> {
    const mode = options.lockMode ?? 'ACCESS EXCLUSIVE';
    if (mode !== 'ACCESS EXCLUSIVE' && mode !== 'SHARE')
      throw new DirectReadError(`lock mode ${mode} does not block writers`);
    const c = this.client;
    // Resolve names to quoted qualified names first, so LOCK gets exactly the relations meant.
    // Outside the transaction: its first snapshot-taking statement must come after the lock.
    const { rows } = await c.query<{ name: string; q: string | null }>(
      `SELECT n AS name, (SELECT quote_ident(ns.nspname) || '.' || quote_ident(cl.relname) FROM pg_class cl
                            JOIN pg_namespace ns ON ns.oid = cl.relnamespace WHERE cl.oid = to_regclass(n)) AS q
         FROM unnest($1::text[]) AS n`,
      [tables],
    );
    const missing = rows.filter((r) => !r.q).map((r) => r.name);
    if (missing.length) throw new DirectReadError(`${this.instance.name}: no relation ${missing.join(', ')}`);
    await c.query(
      `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ` +
        `SET LOCAL lock_timeout = ${Math.max(0, Math.floor(options.lockTimeoutMs ?? 0))}; ` +
        "SET LOCAL extra_float_digits = 3; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL TimeZone = 'UTC'",
    );
    const t0 = performance.now();
    try {
      await c.query(`LOCK TABLE ONLY ${rows.map((r) => r.q).join(', ')} IN ${mode} MODE`);
    } catch (error) {
      const e = error as { code?: string; message: string };
      if (e.code === '55P03') {
        throw new LockTimeoutError(
          `${this.instance.name}: could not lock ${tables.join(', ')} IN ${mode} MODE ` +
            `within ${options.lockTimeoutMs} ms: a writer (or, for ACCESS EXCLUSIVE, a reader) holds it; ` +
            'the direct reader refuses rather than read a changing table',
        );
      }
      throw error;
    }
    this.lockWaitSeconds = (performance.now() - t0) / 1000;
    // The first statement that takes a snapshot runs after the lock: the transaction's snapshot.
    this.facts = await instanceFacts(c, this.instance);
    if (this.facts.encoding !== 'UTF8' && this.facts.encoding !== 'SQL_ASCII') {
      throw new DirectReadError(
        `${this.instance.name}: server encoding ${this.facts.encoding} (the direct reader decodes UTF8 text)`,
      );
    }
    for (const r of rows) this.relations.set(r.name, await relationInfo(c, r.q as string, this.facts));
    for (const [name, info] of this.relations) {
      if (info.persistence === 't')
        throw new DirectReadError(`${name} is a temporary table: its pages live in one backend's memory, not in files`);
      if (info.persistence === 'u') {
        throw new DirectReadError(
          `${name} is UNLOGGED: CHECKPOINT does not write unlogged tables' pages, so their files are not current`,
        );
      }
    }
    const { rows: snap } = await c.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
    this.snapshot = parseSnapshot(snap[0].s);
    if (options.checkpoint !== false) {
      const t1 = performance.now();
      try {
        await c.query('CHECKPOINT');
      } catch (error) {
        const e = error as { code?: string; message: string };
        if (e.code === '42501') {
          throw new DirectReadError(
            `${this.instance.name}: CHECKPOINT refused (${e.message}); the direct reader's role needs superuser or ` +
              'pg_checkpoint (GRANT pg_checkpoint TO <role>) so that the files hold every committed change',
          );
        }
        throw error;
      }
      this.checkpointSeconds = (performance.now() - t1) / 1000;
    }
    this.judge = new VisibilityJudge(
      this.snapshot,
      new CommitLog(`${this.facts.dataDir}/pg_xact`, this.facts.blockSize),
    );
  }

  relation(table: string): RelationInfo {
    const info = this.relations.get(table);
    if (!info) throw new DirectReadError(`${table} was not locked in this session`);
    return info;
  }

  /**
   * The tuples of a heap page that the session's snapshot sees: `out` gets (line pointer number,
   * offset in the page, length) triples of the visible ones, in line pointer order, and the count
   * is returned - at once, unless a multixact xmax must first be resolved through the instance.
   */
  visibleItems(
    buf: Buffer,
    p: number,
    header: PageHeader,
    where: () => string,
    out: number[],
    stats: DirectReadStats,
  ): number | Promise<number> {
    const n = normalItems(buf, p, header, where, out);
    const judge = this.judge;
    let kept = 0;
    for (let k = 0; k < n; k++) {
      const t = p + out[k * 3 + 1];
      let visible: boolean;
      try {
        visible = judge.visible(buf.readUInt32LE(t), buf.readUInt32LE(t + 4), buf.readUInt16LE(t + 20));
      } catch (error) {
        if (!(error instanceof PendingMulti)) throw error;
        // Resolve it, then judge the page again (resolved multixacts are remembered).
        return this.resolveMulti(error.multi).then(() => this.visibleItems(buf, p, header, where, out, stats));
      }
      if (!visible) continue;
      if (kept !== k) {
        out[kept * 3] = out[k * 3];
        out[kept * 3 + 1] = out[k * 3 + 1];
        out[kept * 3 + 2] = out[k * 3 + 2];
      }
      kept++;
    }
    stats.invisibleTuples += n - kept;
    return kept;
  }

  /** Find the updating member of a multixact (pg_get_multixact_members) and tell the judge. */
  async resolveMulti(multi: number): Promise<void> {
    let rows: { xid: string; mode: string }[];
    try {
      ({ rows } = await this.client.query<{ xid: string; mode: string }>(
        'SELECT xid::text AS xid, mode FROM pg_get_multixact_members($1::text::xid)',
        [String(multi)],
      ));
    } catch (error) {
      throw new VisibilityError(`cannot resolve multixact ${multi}: ${(error as Error).message}`);
    }
    const updaters = rows.filter((r) => r.mode === 'upd' || r.mode === 'nokeyupd');
    if (updaters.length > 1) throw new VisibilityError(`multixact ${multi} has ${updaters.length} updating members`);
    this.judge.resolveMulti(multi, updaters.length ? Number(updaters[0].xid) : undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.query('COMMIT');
    } catch {
      // Connection broken: the server ends the transaction and releases the lock; make sure.
      await this.client.end().catch(() => undefined);
    }
  }
}
