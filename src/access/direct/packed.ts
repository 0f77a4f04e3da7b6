// The batch form of the direct reader for the packed layout (seg, buffer_id, n, x bytea, y bytea):
// every visible row's buffers, read with two sequential passes instead of one random read per
// value. Pass 1 scans the heap (small: the big values are TOAST pointers). Pass 2 reads the TOAST
// relation once, in big reads, straight into one arena, and moves each visible chunk's data down
// to its value's place (assembleInPlace): an uncompressed value (STORAGE EXTERNAL) is then a slice
// of the arena, with no second copy of the data. Inline values are zero-copy slices of the heap
// read buffers; compressed values are decompressed after the scan. When the arena would be mostly
// waste (a TOAST file full of dead values) or too big for one Buffer, chunks are copied out of two
// reused read buffers instead (assembleByCopy).
//
// The rows returned hold slices of shared buffers: keep a row alive and its arena stays alive.
import { constants as bufferConstants } from 'node:buffer';
import type { Instance } from '../../db/topology.js';
import type { Value } from './decode.js';
import { RelationFork } from './files.js';
import { DirectReadError, TOAST_LZ4, VARLENA_EXTSIZE_MASK, toastMaxChunkSize } from './format.js';
import { lz4DecompressBlocks, sharedDecoding, type Lz4Job } from './lz4.js';
import { PageCursor, type DirectReadStats } from './pages.js';
import { lockTable, type DirectReadOptions } from './reader.js';
import type { InstanceSession } from './session.js';
import { pageChecksum } from './checksum.js';
import {
  decompress,
  ExternalRef,
  scanToastChunks,
  toastPageChunks,
  type ChunkVisitor,
  type ToastContext,
} from './toast.js';
import { decodeTuple, tupleLayout } from './tuples.js';

/** One packed buffer: n examples, x = float32 LE features, y = int32 LE labels. */
export interface PackedRow {
  seg: number;
  bufferId: number;
  n: number;
  x: Buffer;
  y: Buffer;
}

export interface PackedReadOptions extends Omit<DirectReadOptions, 'columns'> {
  /** Filled with the read's figures when given. */
  stats?: DirectReadStats;
  /** Assemble TOAST values in place in one arena when possible (default true); false: always copy. */
  inPlace?: boolean;
}

const COLUMNS = ['seg', 'buffer_id', 'n', 'x', 'y'];

interface Pending {
  ref: ExternalRef;
  /** The stored bytes once assembled: the value itself, or its compressed form. */
  dest: Buffer;
  /** In-place assembly: where the value starts in the arena (-1 until its first chunk). */
  region: number;
  expected: number;
  seen: Uint8Array;
  got: number;
  row: PackedRow;
  field: 'x' | 'y';
  also: { row: PackedRow; field: 'x' | 'y' }[];
}

/**
 * Every visible row of a packed table (a plain table, or a partitioned one whose partitions may
 * be postgres_fdw tables on segment instances), in physical order per relation. Holds the lock
 * of each relation's instance for the duration of the read (see session.ts) and releases it.
 */
export async function readPackedBuffers(
  instance: Instance,
  table: string,
  options: PackedReadOptions = {},
): Promise<PackedRow[]> {
  const locked = await lockTable(instance, table, { ...options, columns: COLUMNS });
  const out: PackedRow[] = [];
  try {
    for (const leaf of locked.leaves) {
      const session = locked.session(leaf);
      for (const row of await readLeafPacked(session, leaf.table, locked.stats, options)) out.push(row);
    }
  } finally {
    await locked.finish();
    if (options.stats) Object.assign(options.stats, locked.stats);
  }
  return out;
}

async function readLeafPacked(
  session: InstanceSession,
  table: string,
  stats: DirectReadStats,
  options: PackedReadOptions,
): Promise<PackedRow[]> {
  const relation = session.relation(table);
  const facts = session.facts;
  const layout = tupleLayout(relation, COLUMNS);
  for (const c of layout.attrs) {
    const want = { seg: 'int4', buffer_id: 'int4', n: 'int4', x: 'bytea', y: 'bytea' }[c.column.name as 'seg'];
    if (c.out >= 0 && c.column.type?.name !== want)
      throw new DirectReadError(`${relation.qualifiedName}.${c.column.name} is ${c.column.typeName}, expected ${want}`);
  }
  const checksums = facts.checksums && options.verifyChecksums !== false;
  const name = `${session.instance.name}: ${relation.qualifiedName}`;
  const judge = session.judge;
  const clogBefore = judge.clogDecisions;
  const bs = facts.blockSize;
  const cs = toastMaxChunkSize(bs);
  const rows: PackedRow[] = [];
  const pending = new Map<number, Pending>();
  const heap = await RelationFork.open(relation.path, bs, facts.segmentBlocks);
  let toastFork: RelationFork | undefined;
  try {
    // Pass 1: the heap.
    let phaseStart = performance.now();
    const ctx = { fork: heap, checksums, stats, name };
    const items: number[] = [];
    const row = new Array<Value | ExternalRef>(COLUMNS.length);
    const pages = new PageCursor(ctx, { chunkBlocks: options.chunkBlocks ?? 256, counter: 'heapPages' });
    try {
      while (pages.next() || (await pages.more())) {
        const { buf, p, block } = pages;
        const where = () => `${name} block ${block}`;
        let n = session.visibleItems(buf, p, pages.header, where, items, stats);
        if (typeof n !== 'number') n = await n;
        for (let k = 0; k < n; k++) {
          try {
            decodeTuple(layout, buf, p + items[k * 3 + 1], items[k * 3 + 2], row, stats, false);
          } catch (error) {
            if (!(error instanceof DirectReadError)) throw error;
            throw new DirectReadError(`${where()} item ${items[k * 3]}: ${error.message}`);
          }
          for (let c = 0; c < 3; c++) {
            if (row[c] === null) throw new DirectReadError(`${where()}: ${COLUMNS[c]} is NULL`);
          }
          const out: PackedRow = {
            seg: row[0] as number,
            bufferId: row[1] as number,
            n: row[2] as number,
            x: EMPTY,
            y: EMPTY,
          };
          for (const [c, field] of [
            [3, 'x'],
            [4, 'y'],
          ] as const) {
            const v = row[c];
            if (v === null) throw new DirectReadError(`${where()}: ${field} is NULL`);
            if (v instanceof ExternalRef) {
              if (!relation.toast || v.toastRelId !== relation.toast.oid)
                throw new DirectReadError(`${name}: TOAST pointer to relation ${v.toastRelId}`);
              const shared = pending.get(v.valueId);
              if (shared) {
                // Two visible rows sharing one stored value: both get the same bytes.
                shared.also.push({ row: out, field });
                continue;
              }
              const expected = Math.ceil(v.extSize / cs);
              pending.set(v.valueId, {
                ref: v,
                dest: EMPTY,
                region: -1,
                expected,
                seen: new Uint8Array(expected),
                got: 0,
                row: out,
                field,
                also: [],
              });
            } else {
              out[field] = v as Buffer;
            }
          }
          stats.tuples++;
          rows.push(out);
        }
      }
    } finally {
      await pages.close();
    }
    stats.heapSeconds += (performance.now() - phaseStart) / 1000;
    // Pass 2: the TOAST relation, every chunk copied to its value's buffer.
    if (pending.size) {
      phaseStart = performance.now();
      toastFork = await RelationFork.open(relation.toast!.path, bs, facts.segmentBlocks);
      const toastCtx: ToastContext = {
        fork: toastFork,
        checksums,
        stats,
        name: `${name} (TOAST)`,
        judge,
        oid: relation.toast!.oid,
      };
      let total = 0;
      for (const v of pending.values()) total += v.ref.extSize;
      // lz4 values: their stored bytes and their output in shared memory for helper threads, when
      // that pays (sharedDecoding).
      const shared =
        sharedDecoding() && [...pending.values()].some((v) => v.ref.compressed && v.ref.method === TOAST_LZ4);
      const fileBytes = toastFork.blocks * bs;
      // In place needs one arena the size of the TOAST file: only when little of it is waste, and
      // within what one Buffer can hold.
      const inPlace =
        options.inPlace !== false &&
        fileBytes <= total * 1.25 + (1 << 20) &&
        fileBytes + bs <= BUFFER_MAX &&
        (await assembleInPlace(toastCtx, pending, cs, options.chunkBlocks ?? 512, shared));
      if (inPlace) stats.inPlaceAssemblies++;
      else {
        await assembleByCopy(toastCtx, pending, total, cs, options.chunkBlocks ?? 1024, shared);
        stats.copyAssemblies++;
      }
      stats.toastSeconds += (performance.now() - phaseStart) / 1000;
      phaseStart = performance.now();
      // Decompressed values share one new buffer (one allocation, not one per value); lz4 values
      // are decoded by several threads when their buffers are shared (see lz4DecompressBlocks).
      let rawTotal = 0;
      for (const v of pending.values()) if (v.ref.compressed) rawTotal += v.ref.rawSize - 4;
      const rawSlab = rawTotal > 0 && rawTotal <= SLAB_MAX ? newBuffer(rawTotal, shared) : undefined;
      let rawAt = 0;
      const lz4Jobs: Lz4Job[] = [];
      const lz4Values: number[] = [];
      for (const [valueId, v] of pending) {
        if (v.got !== v.expected)
          throw new DirectReadError(`${name}: TOAST value ${valueId} has ${v.got} of ${v.expected} chunks`);
        stats.toastChunks += v.got;
        stats.toastValues++;
        let value = v.dest;
        if (v.ref.compressed) {
          const tcinfo = v.dest.readUInt32LE(0);
          const raw = tcinfo & VARLENA_EXTSIZE_MASK;
          if (raw !== v.ref.rawSize - 4)
            throw new DirectReadError(`${name}: TOAST value ${valueId}: compressed header says ${raw} bytes`);
          const into = rawSlab?.subarray(rawAt, rawAt + raw);
          rawAt += raw;
          if (into && tcinfo >>> 30 === TOAST_LZ4) {
            lz4Jobs.push({ src: v.dest, start: 4, end: v.dest.length, dest: into, destStart: 0, rawSize: raw });
            lz4Values.push(valueId);
            value = into;
          } else {
            value = decompress(tcinfo >>> 30, v.dest, 4, v.dest.length, raw, into, `${name}: TOAST value ${valueId}`);
          }
          stats.compressedValues++;
        } else if (v.ref.extSize !== v.ref.rawSize - 4) {
          throw new DirectReadError(
            `${name}: TOAST value ${valueId}: external size ${v.ref.extSize} for raw size ${v.ref.rawSize}`,
          );
        }
        v.row[v.field] = value;
        for (const a of v.also) a.row[a.field] = value;
      }
      const { errors, threads } = await lz4DecompressBlocks(lz4Jobs);
      stats.decodeThreads = Math.max(stats.decodeThreads, threads);
      const failed = errors.findIndex((e) => e !== undefined);
      if (failed >= 0) {
        throw new DirectReadError(`${name}: TOAST value ${lz4Values[failed]} is corrupt: ${errors[failed]!.message}`);
      }
      stats.decompressSeconds += (performance.now() - phaseStart) / 1000;
    }
  } finally {
    stats.clogLookups += judge.clogDecisions - clogBefore;
    stats.bytesRead += heap.bytesRead + (toastFork?.bytesRead ?? 0);
    await heap.close();
    await toastFork?.close();
  }
  return rows;
}

const EMPTY = Buffer.alloc(0);

/** A new buffer that owns its memory (8-aligned), on a SharedArrayBuffer when helper threads are to see it. */
function newBuffer(size: number, shared: boolean): Buffer {
  return shared ? Buffer.from(new SharedArrayBuffer(size)) : Buffer.allocUnsafeSlow(size);
}
const BUFFER_MAX = Math.min(bufferConstants.MAX_LENGTH, 2 ** 32);
const SLAB_MAX = 2 ** 30;
/** Line pointers a page can hold: (block size - header) / 4 bytes each, for blocks up to 32 kB. */
const MAX_ITEMS = (32768 - 24) / 4;

function acceptChunk(v: Pending, valueId: number, seq: number, len: number, cs: number, name: string): void {
  const want = seq === v.expected - 1 ? v.ref.extSize - seq * cs : cs;
  if (seq < 0 || seq >= v.expected || v.seen[seq] || len !== want) {
    throw new DirectReadError(
      `${name}: TOAST value ${valueId} chunk ${seq} (${len} bytes) is repeated, out of range, or the wrong size`,
    );
  }
  v.seen[seq] = 1;
  v.got++;
}

/** Every value gets its slice of one new buffer; chunks are copied out of two reused read buffers. */
async function assembleByCopy(
  ctx: ToastContext,
  pending: Map<number, Pending>,
  total: number,
  cs: number,
  chunkBlocks: number,
  shared: boolean,
): Promise<void> {
  // One slab for all values when it fits in a Buffer, else one buffer per value.
  const slab = total <= SLAB_MAX ? newBuffer(total, shared) : undefined;
  let at = 0;
  for (const v of pending.values()) {
    v.dest = slab ? slab.subarray(at, at + v.ref.extSize) : Buffer.allocUnsafeSlow(v.ref.extSize);
    at += v.ref.extSize;
    v.seen.fill(0);
    v.got = 0;
  }
  await scanToastChunks(ctx, chunkBlocks, (valueId, seq, buf, start, len) => {
    const v = pending.get(valueId);
    if (v === undefined) return; // another column's value, or a dead row's
    acceptChunk(v, valueId, seq, len, cs, ctx.name);
    buf.copy(v.dest, seq * cs, start, start + len);
  });
}

/**
 * Assembly without a second buffer: the TOAST file is read straight into one arena (one block of
 * lag ahead of its file offset, reads in flight ahead of the parser, so the kernel touches the new
 * memory on the I/O threads), and each chunk's data is moved down within the arena to its value's
 * place, values laid out in the order they were written. A move never reaches data not yet parsed:
 * a chunk whose place lies ahead of its own position (the server put it into free space of an
 * earlier page, or writers interleaved) is copied aside and placed after the last page.
 */
async function assembleInPlace(
  ctx: ToastContext,
  pending: Map<number, Pending>,
  cs: number,
  chunkBlocks: number,
  shared: boolean,
): Promise<boolean> {
  const fork = ctx.fork;
  const bs = fork.blockSize;
  const lag = bs;
  const arena = newBuffer(fork.blocks * bs + lag, shared);
  // Where the next value's place starts in the arena.
  let placed = 0;
  const items: number[] = [];
  // One page's visible chunks (valueId, seq, start, len, item), collected in address order; a
  // page has at most MAX_ITEMS line pointers.
  const page = new Float64Array(5 * MAX_ITEMS);
  let pageLength = 0;
  const collect = (
    valueId: number,
    seq: number,
    _buf: Buffer,
    start: number,
    len: number,
    _pos: number,
    item: number,
  ) => {
    page[pageLength] = valueId;
    page[pageLength + 1] = seq;
    page[pageLength + 2] = start;
    page[pageLength + 3] = len;
    page[pageLength + 4] = item;
    pageLength += 5;
  };
  let lastId = -1;
  let last: Pending | undefined;
  const lookup = (valueId: number): Pending | undefined => {
    // A value's chunks come one after another: remember the last one looked up.
    if (valueId !== lastId) {
      lastId = valueId;
      last = pending.get(valueId);
    }
    return last;
  };
  /**
   * Values get their places in the order their first chunks were written (line pointer order
   * within a page),
   * then the page's chunks move in increasing address order, each to an address no higher than
   * its own, so no move reaches data not yet moved.
   */
  const flushPage = () => {
    const m = pageLength / 5;
    if (m === 0) return;
    // Most pages hold no value's first chunk; those that do place their values in line pointer
    // order (usually the reverse of address order).
    let firsts = 0;
    for (let i = 0; i < m; i++) if (page[i * 5 + 1] === 0) firsts++;
    if (firsts > 0) {
      const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => page[a * 5 + 4] - page[b * 5 + 4]);
      for (const i of order) {
        const v = lookup(page[i * 5]);
        if (v !== undefined && v.region < 0 && page[i * 5 + 1] === 0) {
          v.region = placed;
          placed += v.ref.extSize;
        }
      }
    }
    for (let i = 0; i < m; i++) {
      const valueId = page[i * 5];
      const v = lookup(valueId);
      if (v === undefined) continue;
      const seq = page[i * 5 + 1];
      const start = page[i * 5 + 2];
      const len = page[i * 5 + 3];
      if (seq >= 0 && seq < v.expected - 1 && len === cs && v.seen[seq] === 0) {
        v.seen[seq] = 1;
        v.got++;
      } else {
        acceptChunk(v, valueId, seq, len, cs, ctx.name);
      }
      const d = v.region + seq * cs;
      if (v.region >= 0 && d <= start) {
        if (d !== start) arena.copyWithin(d, start, start + len);
      } else {
        // Its place is unknown yet (its value's first chunk comes later) or ahead of data not yet
        // parsed (the server put it into free space on an earlier page): keep a copy, placed once
        // the whole file has been parsed.
        stashed.push({ v, seq, data: Buffer.from(arena.subarray(start, start + len)) });
        stashedBytes += len;
      }
    }
    pageLength = 0;
  };
  const stashed: { v: Pending; seq: number; data: Buffer }[] = [];
  let stashedBytes = 0;
  // Typed views for the hot loop (the arena starts 8-aligned: it owns its memory).
  const u16 = new Uint16Array(arena.buffer, arena.byteOffset, Math.floor(arena.length / 2));
  const u32 = new Uint32Array(arena.buffer, arena.byteOffset, Math.floor(arena.length / 4));
  const aligned = arena.byteOffset % 8 === 0;
  const pages = new PageCursor(ctx, {
    chunkBlocks,
    ahead: 3,
    into: { buf: arena, at: lag },
    counter: 'toastPages',
    fast: (buf, p, block) => {
      if (!aligned || (ctx.checksums && pageChecksum(buf, p, bs, block) !== u16[(p + 8) >>> 1])) return false;
      if (!fastToastPage(buf, u16, u32, p, bs, collect)) return false;
      flushPage();
      return true;
    },
  });
  try {
    while (pages.next() || (await pages.more())) {
      pageLength = 0;
      toastPageChunks(ctx, arena, pages.p, pages.block, pages.header, items, collect);
      flushPage();
    }
  } finally {
    await pages.close();
  }
  for (const { v, seq, data } of stashed) {
    if (v.region < 0) throw new DirectReadError(`${ctx.name}: TOAST value ${v.ref.valueId} has no chunk 0`);
    data.copy(arena, v.region + seq * cs);
  }
  ctx.stats.stashedChunkBytes += stashedBytes;
  for (const v of pending.values()) {
    if (v.region >= 0) v.dest = arena.subarray(v.region, v.region + v.ref.extSize);
  }
  return true;
}

/**
 * The common case of a TOAST page, decided with typed-array reads: a plausible header, only
 * normal or unused line pointers in decreasing address order, every tuple a hinted-committed (or
 * frozen) 3-attribute chunk with a 4-byte varlena header. Visits its chunks in increasing address
 * order and returns true; returns false (having visited nothing) for anything else, which the
 * general path (checkPage + toastPageChunks) then handles with full checks and messages.
 */
function fastToastPage(
  buf: Buffer,
  u16: Uint16Array,
  u32: Uint32Array,
  p: number,
  bs: number,
  visit: ChunkVisitor,
): boolean {
  const lower = u16[(p + 12) >>> 1];
  const upper = u16[(p + 14) >>> 1];
  const special = u16[(p + 16) >>> 1];
  if (
    upper === 0 ||
    u16[(p + 18) >>> 1] !== (bs | 4) ||
    lower < 24 ||
    lower > upper ||
    upper > special ||
    special > bs ||
    (lower & 3) !== 0
  )
    return false;
  const n = (lower - 24) >>> 2;
  // Line pointers in decreasing offset order (as inserts lay them out): check, then visit backwards.
  let prevEnd = special + 1;
  for (let i = 0; i < n; i++) {
    const lp = u32[(p + 24 + 4 * i) >>> 2];
    const flags = (lp >>> 15) & 3;
    if (flags === 0) continue;
    if (flags !== 1) return false;
    const off = lp & 0x7fff;
    const len = lp >>> 17;
    if (off < upper || off + len > special || len < 40 || (off & 7) !== 0 || off + len > prevEnd) return false;
    prevEnd = off;
    const t = p + off;
    const infomask = u16[(t + 20) >>> 1];
    if ((infomask & 0x0301) !== 0x0100 && (infomask & 0x0301) !== 0x0300) return false; // committed or frozen, no nulls
    if ((u16[(t + 18) >>> 1] & 0x07ff) !== 3 || buf[t + 22] !== 24) return false;
    const vh = u32[(t + 32) >>> 2];
    if ((vh & 3) !== 0 || (vh >>> 2) + 32 > len) return false;
  }
  for (let i = n - 1; i >= 0; i--) {
    const lp = u32[(p + 24 + 4 * i) >>> 2];
    if (((lp >>> 15) & 3) === 0) continue;
    const t = p + (lp & 0x7fff);
    visit(u32[(t + 24) >>> 2], u32[(t + 28) >>> 2] | 0, buf, t + 36, (u32[(t + 32) >>> 2] >>> 2) - 4, 0, i + 1);
  }
  return true;
}
