// Varlena values: inline (1- or 4-byte header), compressed inline, or an on-disk TOAST pointer to
// chunks in the table's TOAST relation (chunk_id oid, chunk_seq int4, chunk_data bytea), which
// are reassembled and, when compressed, decompressed (pglz or lz4).
import {
  DirectReadError,
  HEAP_HASNULL,
  HEAP_NATTS_MASK,
  TOAST_LZ4,
  TOAST_PGLZ,
  VARLENA_EXTSIZE_MASK,
  VARTAG_ONDISK,
  toastMaxChunkSize,
} from './format.js';
import { lz4DecompressBlock } from './lz4.js';
import { normalItems, PageCursor, type DirectReadStats, type PageContext } from './pages.js';
import type { PageHeader } from './format.js';
import { CompressionError, pglzDecompress } from './pglz.js';
import type { VisibilityJudge } from './visibility.js';

/** varatt_external: where a value lives in the TOAST relation. */
export class ExternalRef {
  constructor(
    /** Original size including the 4-byte header. */
    readonly rawSize: number,
    /** Bytes stored in TOAST (compressed size including va_tcinfo when compressed). */
    readonly extSize: number,
    readonly method: number,
    readonly valueId: number,
    readonly toastRelId: number,
  ) {}

  get compressed(): boolean {
    return this.extSize < this.rawSize - 4;
  }

  static read(buf: Buffer, p: number): ExternalRef {
    if (buf[p + 1] !== VARTAG_ONDISK)
      throw new DirectReadError(`external varlena with tag ${buf[p + 1]} stored in a table`);
    const rawSize = buf.readInt32LE(p + 2);
    const extInfo = buf.readUInt32LE(p + 6);
    return new ExternalRef(
      rawSize,
      extInfo & VARLENA_EXTSIZE_MASK,
      extInfo >>> 30,
      buf.readUInt32LE(p + 10),
      buf.readUInt32LE(p + 14),
    );
  }
}

/**
 * Decompress `src[start,end)` (compressed data after va_tcinfo) with `method` into `into` or a new
 * buffer. A corrupt stream is a DirectReadError that starts with `where` (the value's relation and id).
 */
export function decompress(
  method: number,
  src: Buffer,
  start: number,
  end: number,
  rawSize: number,
  into?: Buffer,
  where = 'compressed value',
): Buffer {
  if (into && into.length !== rawSize)
    throw new DirectReadError(`decompress: ${into.length}-byte target for ${rawSize} bytes`);
  const out = into ?? Buffer.allocUnsafe(rawSize);
  try {
    if (method === TOAST_PGLZ) pglzDecompress(src, start, end, out, 0, rawSize);
    else if (method === TOAST_LZ4) lz4DecompressBlock(src, start, end, out, 0, rawSize);
    else throw new CompressionError(`unknown compression method ${method}`);
  } catch (error) {
    if (error instanceof CompressionError) throw new DirectReadError(`${where} is corrupt: ${error.message}`);
    throw error;
  }
  return out;
}

/**
 * The payload (no header) of the varlena at buf[p, p + size) when it is not external: a slice for
 * an uncompressed value, a new buffer for a compressed one.
 */
export function inlinePayload(buf: Buffer, p: number, size: number, stats: DirectReadStats): Buffer {
  const b = buf[p];
  if (b & 0x01) return buf.subarray(p + 1, p + size);
  if ((b & 0x03) === 0x02) {
    const tcinfo = buf.readUInt32LE(p + 4);
    stats.compressedValues++;
    return decompress(tcinfo >>> 30, buf, p + 8, p + size, tcinfo & VARLENA_EXTSIZE_MASK);
  }
  return buf.subarray(p + 4, p + size);
}

export interface ToastContext extends PageContext {
  judge: VisibilityJudge;
  oid: number;
}

/**
 * A visible chunk: its value, seq, where its data is in `buf`, its position in the fork, and its line pointer
 * number.
 */
export type ChunkVisitor = (
  valueId: number,
  seq: number,
  buf: Buffer,
  dataStart: number,
  dataLen: number,
  forkPos: number,
  item: number,
) => void;

/** Walk the TOAST fork's visible chunks. `visit` gets the chunk id, seq, and data position in `buf`. */
export async function scanToastChunks(ctx: ToastContext, chunkBlocks: number, visit: ChunkVisitor): Promise<void> {
  const items: number[] = [];
  const pages = new PageCursor(ctx, { chunkBlocks, into: 'reuse', counter: 'toastPages' });
  try {
    while (pages.next() || (await pages.more())) {
      toastPageChunks(ctx, pages.buf, pages.p, pages.block, pages.header, items, visit);
    }
  } finally {
    await pages.close();
  }
}

/**
 * The visible chunks of one TOAST page (already checked), in increasing address order (the
 * in-place assembly of packed.ts relies on that order).
 */
export function toastPageChunks(
  ctx: ToastContext,
  buf: Buffer,
  p: number,
  block: number,
  header: PageHeader,
  items: number[],
  visit: ChunkVisitor,
): void {
  const bs = ctx.fork.blockSize;
  const where = () => `${ctx.name} block ${block}`;
  const n = normalItems(buf, p, header, where, items);
  // Insertion sort of the (item, offset, length) triples by offset: a page has a handful.
  for (let i = 1; i < n; i++) {
    const a = items[i * 3];
    const o = items[i * 3 + 1];
    const l = items[i * 3 + 2];
    let j = i - 1;
    while (j >= 0 && items[j * 3 + 1] > o) {
      items[(j + 1) * 3] = items[j * 3];
      items[(j + 1) * 3 + 1] = items[j * 3 + 1];
      items[(j + 1) * 3 + 2] = items[j * 3 + 2];
      j--;
    }
    items[(j + 1) * 3] = a;
    items[(j + 1) * 3 + 1] = o;
    items[(j + 1) * 3 + 2] = l;
  }
  for (let k = 0; k < n; k++) {
    const t = p + items[k * 3 + 1];
    const len = items[k * 3 + 2];
    const infomask = buf.readUInt16LE(t + 20);
    if (!ctx.judge.toastVisible(buf.readUInt32LE(t), infomask)) continue;
    const hoff = buf[t + 22];
    const natts = buf.readUInt16LE(t + 18) & HEAP_NATTS_MASK;
    if (natts !== 3 || infomask & HEAP_HASNULL || hoff < 23 || hoff + 9 > len) {
      throw new DirectReadError(
        `${where()}: item ${items[k * 3]} is not a TOAST chunk (natts ${natts}, t_hoff ${hoff})`,
      );
    }
    const valueId = buf.readUInt32LE(t + hoff);
    const seq = buf.readInt32LE(t + hoff + 4);
    const d = t + hoff + 8; // int-aligned: t_hoff is MAXALIGNed
    const vb = buf[d];
    let dataStart: number;
    let dataLen: number;
    if (vb & 0x01) {
      if (vb === 0x01) throw new DirectReadError(`${where()}: TOAST chunk data is itself external`);
      dataLen = (vb >>> 1) - 1;
      dataStart = d + 1;
    } else {
      if ((vb & 0x03) !== 0) throw new DirectReadError(`${where()}: TOAST chunk data is compressed`);
      dataLen = (buf.readUInt32LE(d) >>> 2) - 4;
      dataStart = d + 4;
    }
    if (dataLen < 0 || dataStart + dataLen > t + len)
      throw new DirectReadError(`${where()}: TOAST chunk runs past its tuple`);
    visit(valueId, seq, buf, dataStart, dataLen, block * bs + (dataStart - p), items[k * 3]);
  }
}

/**
 * Random access to TOAST values for the row-by-row reader: one scan of the TOAST relation
 * indexes every visible chunk's position in the files; fetch() then reads a value's chunks.
 */
export class ToastStore {
  private readonly chunks = new Map<number, number[]>();
  readonly chunkSize: number;

  private constructor(private readonly ctx: ToastContext) {
    this.chunkSize = toastMaxChunkSize(ctx.fork.blockSize);
  }

  static async build(ctx: ToastContext): Promise<ToastStore> {
    const store = new ToastStore(ctx);
    await scanToastChunks(ctx, 256, (valueId, seq, _buf, _start, len, pos) => {
      let list = store.chunks.get(valueId);
      if (!list) {
        list = [];
        store.chunks.set(valueId, list);
      }
      list.push(seq, pos, len);
    });
    return store;
  }

  /** The value's payload: reassembled, and decompressed when it was compressed. */
  async fetch(ref: ExternalRef): Promise<Buffer> {
    const where = `${this.ctx.name} value ${ref.valueId}`;
    if (ref.toastRelId !== this.ctx.oid)
      throw new DirectReadError(`${where}: TOAST pointer names relation ${ref.toastRelId}, not ${this.ctx.oid}`);
    const list = this.chunks.get(ref.valueId);
    const cs = this.chunkSize;
    const expected = Math.ceil(ref.extSize / cs);
    if (!list || list.length / 3 !== expected) {
      throw new DirectReadError(
        `${where}: ${list ? list.length / 3 : 0} visible chunks in TOAST, expected ${expected}`,
      );
    }
    const data = Buffer.allocUnsafe(ref.extSize);
    const pos = new Array<number>(expected);
    const lens = new Array<number>(expected);
    for (let i = 0; i < list.length; i += 3) {
      const seq = list[i];
      if (seq < 0 || seq >= expected || pos[seq] !== undefined)
        throw new DirectReadError(`${where}: chunk ${seq} is out of range or repeated`);
      const want = seq === expected - 1 ? ref.extSize - seq * cs : cs;
      if (list[i + 2] !== want)
        throw new DirectReadError(`${where}: chunk ${seq} has ${list[i + 2]} bytes, expected ${want}`);
      pos[seq] = list[i + 1];
      lens[seq] = list[i + 2];
    }
    const lo = Math.min(...pos);
    const hi = Math.max(...pos.map((p, i) => p + lens[i]));
    if (hi - lo <= 2 * ref.extSize + 65536) {
      const span = Buffer.allocUnsafe(hi - lo);
      await this.ctx.fork.readAt(lo, hi - lo, span);
      for (let s = 0; s < expected; s++) span.copy(data, s * cs, pos[s] - lo, pos[s] - lo + lens[s]);
    } else {
      for (let s = 0; s < expected; s++) await this.ctx.fork.readAt(pos[s], lens[s], data, s * cs);
    }
    this.ctx.stats.toastChunks += expected;
    this.ctx.stats.toastValues++;
    if (!ref.compressed) {
      if (ref.extSize !== ref.rawSize - 4)
        throw new DirectReadError(`${where}: external size ${ref.extSize} for raw size ${ref.rawSize}`);
      return data;
    }
    const tcinfo = data.readUInt32LE(0);
    const raw = tcinfo & VARLENA_EXTSIZE_MASK;
    if (raw !== ref.rawSize - 4)
      throw new DirectReadError(`${where}: compressed header says ${raw} bytes, pointer says ${ref.rawSize - 4}`);
    const method = tcinfo >>> 30;
    if (method !== ref.method)
      throw new DirectReadError(`${where}: compression method ${method} in the data, ${ref.method} in the pointer`);
    this.ctx.stats.compressedValues++;
    return decompress(method, data, 4, data.length, raw, undefined, where);
  }
}
