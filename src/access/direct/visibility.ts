// Which tuples one MVCC snapshot sees, decided from the tuple headers' hint bits and, when a
// transaction is not hinted, from the commit log files (pg_xact) - PostgreSQL's
// HeapTupleSatisfiesMVCC and HeapTupleSatisfiesToast, for a reader that is not itself the
// transaction that wrote the rows. Every case PostgreSQL decides with information we do not
// have (pg_subtrans for a subtransaction of a running transaction, pre-9.0 MOVED tuples, a
// multixact we cannot resolve) ends in a VisibilityError instead of a guess.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import {
  DirectReadError,
  HEAP_MOVED,
  HEAP_XMAX_COMMITTED,
  HEAP_XMAX_INVALID,
  HEAP_XMAX_IS_MULTI,
  HEAP_XMIN_COMMITTED,
  HEAP_XMIN_FROZEN,
  HEAP_XMIN_INVALID,
  xmaxIsLockedOnly,
} from './format.js';

export class VisibilityError extends DirectReadError {
  constructor(message: string) {
    super(message);
    this.name = 'VisibilityError';
  }
}

/** pg_current_snapshot() of the reading transaction: 64-bit xids (epoch << 32 | xid). */
export interface Snapshot {
  xmin: bigint;
  xmax: bigint;
  xip: bigint[];
}

export function parseSnapshot(text: string): Snapshot {
  const m = /^(\d+):(\d+):([\d,]*)$/.exec(text.trim());
  if (!m) throw new DirectReadError(`cannot parse snapshot "${text}"`);
  return { xmin: BigInt(m[1]), xmax: BigInt(m[2]), xip: m[3] ? m[3].split(',').map((x) => BigInt(x)) : [] };
}

// Commit log status (clog.h).
export const XACT_IN_PROGRESS = 0;
export const XACT_COMMITTED = 1;
export const XACT_ABORTED = 2;
export const XACT_SUB_COMMITTED = 3;

const CLOG_PAGE = 8192; // SLRU pages are BLCKSZ; 4 transactions per byte.
const SLRU_PAGES_PER_SEGMENT = 32;

/**
 * Reads transaction status from pg_xact: 2 bits per transaction, 4 per byte, 8 kB pages,
 * 32 pages per segment file named by the segment number in (at least 4) hex digits. Only
 * meaningful after a CHECKPOINT has flushed the SLRU buffers (the reader runs one).
 */
export class CommitLog {
  private readonly segments = new Map<number, Buffer>();
  lookups = 0;

  constructor(
    private readonly dir: string,
    private readonly blockSize = CLOG_PAGE,
  ) {}

  status(xid: number): number {
    this.lookups++;
    const perPage = this.blockSize * 4;
    const page = Math.floor(xid / perPage);
    const segno = Math.floor(page / SLRU_PAGES_PER_SEGMENT);
    const seg = this.segment(segno, xid);
    const byteInSegment = (page % SLRU_PAGES_PER_SEGMENT) * this.blockSize + Math.floor((xid % perPage) / 4);
    if (byteInSegment >= seg.length) {
      throw new VisibilityError(
        `transaction ${xid}: its commit log page is not in ${this.file(segno)} (file has ${seg.length} bytes)`,
      );
    }
    return (seg[byteInSegment] >> ((xid % 4) * 2)) & 3;
  }

  private file(segno: number): string {
    return join(this.dir, segno.toString(16).toUpperCase().padStart(4, '0'));
  }

  private segment(segno: number, xid: number): Buffer {
    let seg = this.segments.get(segno);
    if (seg) return seg;
    const path = this.file(segno);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      throw new VisibilityError(
        `transaction ${xid}: cannot read its commit log ${path} (${(error as Error).message}); ` +
          'a tuple that old should have been frozen by VACUUM',
      );
    }
    try {
      const size = fstatSync(fd).size;
      seg = Buffer.alloc(size);
      let off = 0;
      while (off < size) {
        const n = readSync(fd, seg, off, size - off, off);
        if (n === 0) break;
        off += n;
      }
    } finally {
      closeSync(fd);
    }
    this.segments.set(segno, seg);
    return seg;
  }
}

/** Resolves a multixact to the xid of its updating member (undefined when it only locks). */
export type MultiResolver = (multi: number) => number | undefined | 'unknown';

const TWO32 = 1n << 32n;

export class VisibilityJudge {
  private readonly inProgress: Set<number>;
  private readonly xmin32: number;
  private readonly xmax64: bigint;
  private readonly xmin64: bigint;
  /** Decisions by the commit log (not by hint bits); for stats. */
  clogDecisions = 0;
  /** Multixact ids the caller must resolve before a page can be judged. */
  readonly pendingMultis = new Set<number>();

  constructor(
    readonly snapshot: Snapshot,
    private readonly clog: CommitLog,
    private readonly multis: Map<number, number | undefined> = new Map(),
  ) {
    this.inProgress = new Set(snapshot.xip.map((x) => Number(x & 0xffffffffn)));
    this.xmin32 = Number(snapshot.xmin & 0xffffffffn);
    this.xmin64 = snapshot.xmin;
    this.xmax64 = snapshot.xmax;
  }

  /** A 32-bit xid of a tuple as the 64-bit xid it is (it cannot be newer than the snapshot). */
  private widen(xid: number): bigint {
    let full = (this.xmax64 & ~0xffffffffn) | BigInt(xid);
    if (full > this.xmax64) full -= TWO32;
    return full;
  }

  /** XidInMVCCSnapshot: true when the snapshot sees `xid` as still running (or future). */
  private inSnapshot(xid: number): boolean {
    if (xid < 3) return false; // bootstrap/frozen
    const full = this.widen(xid);
    if (full < this.xmin64) return false;
    if (full >= this.xmax64) return true;
    return this.inProgress.has(xid);
  }

  /** Did `xid` commit, per the commit log? Throws where the log cannot tell. */
  private didCommit(xid: number, role: string): boolean {
    if (xid === 1 || xid === 2) return true; // BootstrapTransactionId, FrozenTransactionId
    if (xid === 0) return false;
    this.clogDecisions++;
    const status = this.clog.status(xid);
    if (status === XACT_COMMITTED) return true;
    if (status === XACT_ABORTED) return false;
    // In progress or sub-committed in the log, yet not running per the snapshot. Before the
    // snapshot's xmin this is a transaction cut off by a crash: PostgreSQL treats it as aborted.
    if (this.widen(xid) < this.xmin64) return false;
    throw new VisibilityError(
      `${role} transaction ${xid} is ${status === XACT_SUB_COMMITTED ? 'sub-committed' : 'in progress'} in pg_xact ` +
        `but not in the snapshot (${this.snapshot.xmin}:${this.snapshot.xmax}); it is a subtransaction of a running ` +
        `transaction, which this reader cannot resolve`,
    );
  }

  /** HeapTupleSatisfiesMVCC for a reader that wrote nothing. */
  visible(xmin: number, xmax: number, infomask: number): boolean {
    if ((infomask & HEAP_XMIN_COMMITTED) === 0) {
      if (infomask & HEAP_XMIN_INVALID) return false;
      if (infomask & HEAP_MOVED)
        throw new VisibilityError(`tuple moved by a pre-9.0 VACUUM FULL (xmin ${xmin}) is not handled`);
      if (xmin === 0) return false; // super-deleted speculative insertion
      if (this.inSnapshot(xmin)) return false;
      if (!this.didCommit(xmin, 'inserting')) return false;
    } else if ((infomask & HEAP_XMIN_FROZEN) !== HEAP_XMIN_FROZEN) {
      // Committed, but possibly after our snapshot was taken.
      if (this.inSnapshot(xmin)) return false;
    }
    // The inserter is visible; now the deleter.
    if (infomask & HEAP_XMAX_INVALID) return true;
    if (xmax === 0) return true;
    if (xmaxIsLockedOnly(infomask)) return true;
    if (infomask & HEAP_XMAX_IS_MULTI) {
      const updater = this.updaterOf(xmax);
      if (updater === undefined) return true;
      if (this.inSnapshot(updater)) return true;
      return !this.didCommit(updater, 'updating (multixact member)');
    }
    if ((infomask & HEAP_XMAX_COMMITTED) === 0) {
      if (this.inSnapshot(xmax)) return true;
      return !this.didCommit(xmax, 'deleting');
    }
    // Deleter committed; visible only if it is still running as far as the snapshot knows.
    return this.inSnapshot(xmax);
  }

  /** HeapTupleSatisfiesToast: a TOAST chunk is there unless its inserter aborted. */
  toastVisible(xmin: number, infomask: number): boolean {
    if ((infomask & HEAP_XMIN_COMMITTED) === 0) {
      if (infomask & HEAP_XMIN_INVALID) return false;
      if (infomask & HEAP_MOVED)
        throw new VisibilityError(`TOAST chunk moved by a pre-9.0 VACUUM FULL (xmin ${xmin}) is not handled`);
      if (xmin === 0) return false;
      if (this.inSnapshot(xmin)) return true; // PostgreSQL: in-progress counts as there
      const status = xmin < 3 ? XACT_COMMITTED : this.clog.status(xmin);
      if (status === XACT_ABORTED) return false;
      if (status !== XACT_COMMITTED && this.widen(xmin) < this.xmin64) return false; // crashed
    }
    return true;
  }

  private updaterOf(multi: number): number | undefined {
    if (!this.multis.has(multi)) {
      this.pendingMultis.add(multi);
      throw new PendingMulti(multi);
    }
    return this.multis.get(multi);
  }

  resolveMulti(multi: number, updater: number | undefined): void {
    this.multis.set(multi, updater);
    this.pendingMultis.delete(multi);
  }

  get snapshotXmin32(): number {
    return this.xmin32;
  }
}

/** Thrown when a tuple's xmax is a multixact not yet resolved; the caller resolves and retries. */
export class PendingMulti extends Error {
  constructor(readonly multi: number) {
    super(`multixact ${multi} not resolved`);
    this.name = 'PendingMulti';
  }
}
