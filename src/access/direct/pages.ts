// Walking a relation fork page by page: big sequential reads (the next one in flight while the
// current one is parsed), page header checks, data checksum verification with re-reads, and the
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
    seconds: 0,
  };
}

export interface PageChunk {
  buf: Buffer;
  firstBlock: number;
  count: number;
}

/**
 * Yields the fork in chunks of up to `chunkBlocks` blocks, reading the next chunk while the
 * caller parses the current one. Each chunk gets a fresh buffer, so slices of it stay valid;
 * with `reuse`, two buffers take turns (the caller must copy what it keeps before asking for the
 * next chunk), which spares the cost of touching new memory.
 */
export async function* readChunks(fork: RelationFork, chunkBlocks: number, reuse = false): AsyncGenerator<PageChunk> {
  const total = fork.blocks;
  const ring: Buffer[] = [];
  let turn = 0;
  const start = (first: number): Promise<PageChunk> => {
    const count = Math.min(chunkBlocks, total - first);
    let buf: Buffer;
    if (reuse) {
      const slot = turn++ % 2;
      ring[slot] ??= Buffer.allocUnsafeSlow(Math.min(chunkBlocks, total) * fork.blockSize);
      buf = ring[slot];
    } else {
      buf = Buffer.allocUnsafe(count * fork.blockSize);
    }
    return fork.readBlocks(first, count, buf).then(() => ({ buf, firstBlock: first, count }));
  };
  let pending: Promise<PageChunk> | undefined = total > 0 ? start(0) : undefined;
  while (pending) {
    const chunk = await pending;
    const next = chunk.firstBlock + chunk.count;
    pending = next < total ? start(next) : undefined;
    yield chunk;
  }
}

export interface PageContext {
  fork: RelationFork;
  checksums: boolean;
  stats: DirectReadStats;
  /** Relation name for messages. */
  name: string;
}

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
    if (computed !== header.checksum) throw new DirectReadError(`${where()}: checksum ${header.checksum} stored, ${computed} computed`);
  }
  return header;
}

/**
 * A page that failed its checks may have been read while the server wrote it (torn): read it
 * again, up to 5 times, replacing it in `buf`; then give up with the check's error.
 */
export async function rereadPage(ctx: PageContext, buf: Buffer, p: number, block: number): Promise<PageHeader | undefined> {
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

export async function checkedPage(ctx: PageContext, buf: Buffer, p: number, block: number): Promise<PageHeader | undefined> {
  const header = checkPage(ctx, buf, p, block);
  return header === null ? rereadPage(ctx, buf, p, block) : header;
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
      throw new DirectReadError(`${where()}: line pointer ${i + 1} (offset ${off}, length ${len}) is outside the tuple area`);
    }
    out[n * 3] = i + 1;
    out[n * 3 + 1] = off;
    out[n * 3 + 2] = len;
    n++;
  }
  return n;
}
