// Walking a relation fork page by page - the one page loop of the direct reader (heap and TOAST,
// row by row and packed): big sequential reads with the next ones in flight while the current one
// is parsed, page header checks, data checksum verification with re-reads of torn pages, and the
// line pointer array.
import { pageChecksum } from './checksum.js';
import type { RelationFork } from './files.js';
import { DirectReadError, readPageHeader, type PageHeader, LP_NORMAL } from './format.js';

export interface DirectReadStats {
  /** Bytes read from relation files (heap and TOAST). */
  bytesRead: number;
  heapPages: number;
  toastPages: number;
  /** Heap tuples the snapshot sees (rows returned). */
  tuples: number;
  /** Normal line pointers whose tuple the snapshot does not see (dead, aborted, not yet visible). */
  invisibleTuples: number;
  /** TOAST chunks copied into values. */
  toastChunks: number;
  /** Values fetched from TOAST. */
  toastValues: number;
  /** Values decompressed (inline or from TOAST). */
  compressedValues: number;
  /** Transaction statuses looked up in pg_xact (tuples without hint bits). */
  clogLookups: number;
  /** Pages read again because their checksum did not match (torn read). */
  checksumRetries: number;
  /** readPackedBuffers: relations whose TOAST values were assembled in place / by copying. */
  inPlaceAssemblies: number;
  copyAssemblies: number;
  /** In-place assembly: bytes of chunks stored ahead of their place, copied aside and placed last. */
  stashedChunkBytes: number;
  lockWaitSeconds: number;
  checkpointSeconds: number;
  /** readPackedBuffers: wall time of its phases - the heap pass, the TOAST pass (read and assembly), decompression. */
  heapSeconds: number;
  toastSeconds: number;
  decompressSeconds: number;
  /** readPackedBuffers: threads that decoded lz4 values (this one and helpers; 0 when none were). */
  decodeThreads: number;
  /** Wall time of the whole read, lock and checkpoint included. */
  seconds: number;
}

export function emptyStats(): DirectReadStats {
  return {
    bytesRead: 0,
    heapPages: 0,
    toastPages: 0,
    tuples: 0,
    invisibleTuples: 0,
    toastChunks: 0,
    toastValues: 0,
    compressedValues: 0,
    clogLookups: 0,
    checksumRetries: 0,
    inPlaceAssemblies: 0,
    copyAssemblies: 0,
    stashedChunkBytes: 0,
    lockWaitSeconds: 0,
    checkpointSeconds: 0,
    heapSeconds: 0,
    toastSeconds: 0,
    decompressSeconds: 0,
    decodeThreads: 0,
    seconds: 0,
  };
}

export interface PageContext {
  fork: RelationFork;
  checksums: boolean;
  stats: DirectReadStats;
  /** Relation name for messages. */
  name: string;
}

/** Where a page cursor's reads go. */
export type PageTarget =
  /** A new buffer per read: slices of its pages stay valid. */
  | 'fresh'
  /** A ring of reused buffers: copy what you keep before moving past a read's pages. */
  | 'reuse'
  /** One buffer the whole fork is read into, block b at `at + b * blockSize` (in-place assembly). */
  | { buf: Buffer; at: number };

export interface PageCursorOptions {
  /** Blocks per read. */
  chunkBlocks: number;
  /** Reads in flight ahead of the one being parsed (default 1). */
  ahead?: number;
  into?: PageTarget;
  /** Which counter of the stats counts the blocks walked. */
  counter: 'heapPages' | 'toastPages';
  /**
   * A fast path: called first for every block; a page it returns true for was handled by the
   * caller without the general checks, and the cursor moves past it.
   */
  fast?: (buf: Buffer, p: number, block: number) => boolean;
}

/**
 * Every block of a fork in order, as checked pages. Pages that are new (all zeros, empty) are
 * skipped; a page that fails its checks is read again (rereadPage). The loop:
 *
 *   const pages = new PageCursor(ctx, options);
 *   try {
 *     while (pages.next() || (await pages.more())) use(pages.buf, pages.p, pages.block, pages.header);
 *   } finally {
 *     await pages.close();
 *   }
 *
 * next() moves to the next page of the current read without waiting; more() waits for the next
 * read (or a re-read) and is needed only at their boundaries.
 */
export class PageCursor {
  buf: Buffer = EMPTY;
  /** Offset of the current page in buf. */
  p = 0;
  block = -1;
  header: PageHeader = NO_HEADER;
  private readonly bs: number;
  private readonly chunks: number;
  private readonly ahead: number;
  private readonly reads: Promise<void>[] = [];
  /** 'fresh': each read's buffer until it is handed out; 'reuse': the ring. */
  private readonly buffers: Buffer[] = [];
  private readonly ring: Buffer[] = [];
  private chunk = -1;
  private chunkFirst = 0;
  private chunkCount = 0;
  private chunkAt = 0;
  private index = 0;
  private torn = false;

  constructor(
    private readonly ctx: PageContext,
    private readonly options: PageCursorOptions,
  ) {
    this.bs = ctx.fork.blockSize;
    this.chunks = Math.ceil(ctx.fork.blocks / options.chunkBlocks);
    this.ahead = Math.max(1, options.ahead ?? 1);
  }

  /** The next checked page of the current read: false when the read is done or a page must be read again. */
  next(): boolean {
    const { ctx, bs, buf } = this;
    const stats = ctx.stats;
    const fast = this.options.fast;
    while (this.index < this.chunkCount) {
      const p = this.chunkAt + this.index * bs;
      const block = this.chunkFirst + this.index;
      this.index++;
      stats[this.options.counter]++;
      if (fast !== undefined && fast(buf, p, block)) continue;
      const header = checkPage(ctx, buf, p, block);
      if (header === undefined) continue;
      this.p = p;
      this.block = block;
      if (header === null) {
        this.torn = true;
        return false;
      }
      this.header = header;
      return true;
    }
    return false;
  }

  /** Wait for what next() could not give: a re-read page, or the next read. False at the end of the fork. */
  async more(): Promise<boolean> {
    for (;;) {
      if (this.torn) {
        this.torn = false;
        const header = await rereadPage(this.ctx, this.buf, this.p, this.block);
        if (header) {
          this.header = header;
          return true;
        }
      } else if (!(await this.nextRead())) {
        return false;
      }
      if (this.next()) return true;
    }
  }

  /** Wait for the reads still in flight (before the fork is closed, or after an error). */
  async close(): Promise<void> {
    await Promise.allSettled(this.reads.slice(this.chunk + 1));
  }

  private async nextRead(): Promise<boolean> {
    const i = ++this.chunk;
    if (i >= this.chunks) return false;
    if (i === 0) for (let k = 0; k < Math.min(this.ahead, this.chunks); k++) this.issue(k);
    await this.reads[i];
    if (i + this.ahead < this.chunks) this.issue(i + this.ahead);
    this.index = 0;
    this.chunkFirst = i * this.options.chunkBlocks;
    this.chunkCount = Math.min(this.options.chunkBlocks, this.ctx.fork.blocks - this.chunkFirst);
    const into = this.options.into ?? 'fresh';
    if (typeof into === 'object') {
      this.buf = into.buf;
      this.chunkAt = into.at + this.chunkFirst * this.bs;
    } else {
      this.buf = this.buffers[i];
      this.chunkAt = 0;
      this.buffers[i] = EMPTY;
    }
    return true;
  }

  private issue(i: number): void {
    const fork = this.ctx.fork;
    const first = i * this.options.chunkBlocks;
    const count = Math.min(this.options.chunkBlocks, fork.blocks - first);
    const into = this.options.into ?? 'fresh';
    let read: Promise<void>;
    if (typeof into === 'object') {
      read = fork.readBlocks(first, count, into.buf, into.at + first * this.bs);
    } else {
      let buf: Buffer;
      if (into === 'reuse') {
        // Read i + ahead + 1 takes this buffer, issued once read i's pages are done.
        const slot = i % (this.ahead + 1);
        this.ring[slot] ??= Buffer.allocUnsafeSlow(Math.min(this.options.chunkBlocks, fork.blocks) * this.bs);
        buf = this.ring[slot];
      } else {
        buf = Buffer.allocUnsafe(count * this.bs);
      }
      this.buffers[i] = buf;
      read = fork.readBlocks(first, count, buf);
    }
    read.catch(() => undefined); // awaited in order by nextRead; never an unhandled rejection
    this.reads[i] = read;
  }
}

const EMPTY = Buffer.alloc(0);
const NO_HEADER: PageHeader = { lower: 0, upper: 0, special: 0, checksum: 0, pruneXid: 0, items: 0 };

/**
 * Check the page at `buf[p]` (block `block`): header sanity and, with data checksums on, the
 * checksum. Returns the header, undefined for a new (empty) page, or null when the page failed a
 * check and must be read again (rereadPage).
 */
export function checkPage(ctx: PageContext, buf: Buffer, p: number, block: number): PageHeader | undefined | null {
  try {
    return checkPageOrThrow(ctx, buf, p, block);
  } catch (error) {
    if (error instanceof DirectReadError) return null;
    throw error;
  }
}

function checkPageOrThrow(ctx: PageContext, buf: Buffer, p: number, block: number): PageHeader | undefined {
  const bs = ctx.fork.blockSize;
  const where = () => `${ctx.name} block ${block}`;
  const header = readPageHeader(buf, p, bs, where);
  if (header && ctx.checksums) {
    const computed = pageChecksum(buf, p, bs, block);
    if (computed !== header.checksum)
      throw new DirectReadError(`${where()}: checksum ${header.checksum} stored, ${computed} computed`);
  }
  return header;
}

/**
 * A page that failed its checks may have been read while the server wrote it (torn): read it
 * again, up to 5 times, replacing it in `buf`; then give up with the check's error.
 */
export async function rereadPage(
  ctx: PageContext,
  buf: Buffer,
  p: number,
  block: number,
): Promise<PageHeader | undefined> {
  const bs = ctx.fork.blockSize;
  for (let attempt = 0; ; attempt++) {
    ctx.stats.checksumRetries++;
    await new Promise((r) => setTimeout(r, 5 * (attempt + 1)));
    const one = Buffer.allocUnsafe(bs);
    await ctx.fork.readBlocks(block, 1, one);
    one.copy(buf, p);
    try {
      return checkPageOrThrow(ctx, buf, p, block);
    } catch (error) {
      if (attempt >= 4) throw error;
    }
  }
}

/** Offsets and lengths of the page's normal line pointers, checked to lie inside the tuple area. */
export function normalItems(buf: Buffer, p: number, header: PageHeader, where: () => string, out: number[]): number {
  let n = 0;
  for (let i = 0; i < header.items; i++) {
    const lp = buf.readUInt32LE(p + 24 + 4 * i);
    const flags = (lp >>> 15) & 3;
    if (flags !== LP_NORMAL) continue;
    const off = lp & 0x7fff;
    const len = lp >>> 17;
    if (off < header.upper || off + len > header.special || len < 23 || (off & 7) !== 0) {
      throw new DirectReadError(
        `${where()}: line pointer ${i + 1} (offset ${off}, length ${len}) is outside the tuple area`,
      );
    }
    out[n * 3] = i + 1;
    out[n * 3 + 1] = off;
    out[n * 3 + 2] = len;
    n++;
  }
  return n;
}
