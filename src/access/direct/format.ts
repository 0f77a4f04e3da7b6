// PostgreSQL 15 on-disk format: the constants and the small readers every part of the direct
// reader shares. Little-endian machines only (x86-64, arm64), as PostgreSQL writes its pages in
// the server's native byte order.
//
// Page (bufpage.h): PageHeaderData = pd_lsn(8) pd_checksum(2) pd_flags(2) pd_lower(2)
// pd_upper(2) pd_special(2) pd_pagesize_version(2) pd_prune_xid(4) = 24 bytes, then the line
// pointer array (itemid.h): 4 bytes each, lp_off:15 | lp_flags:2 | lp_len:15 from the low bit.
// Tuples (htup_details.h) lie between pd_upper and pd_special, each a HeapTupleHeaderData:
// t_xmin(4) t_xmax(4) t_cid/t_xvac(4) t_ctid(6) t_infomask2(2) t_infomask(2) t_hoff(1) t_bits[].

export const PAGE_HEADER_SIZE = 24;
export const ITEM_ID_SIZE = 4;
export const PAGE_LAYOUT_VERSION = 4;
export const TUPLE_HEADER_SIZE = 23; // SizeofHeapTupleHeader

// Line pointer states.
export const LP_UNUSED = 0;
export const LP_NORMAL = 1;
export const LP_REDIRECT = 2;
export const LP_DEAD = 3;

// t_infomask
export const HEAP_HASNULL = 0x0001;
export const HEAP_HASVARWIDTH = 0x0002;
export const HEAP_HASEXTERNAL = 0x0004;
export const HEAP_HASOID_OLD = 0x0008;
export const HEAP_XMAX_KEYSHR_LOCK = 0x0010;
export const HEAP_COMBOCID = 0x0020;
export const HEAP_XMAX_EXCL_LOCK = 0x0040;
export const HEAP_XMAX_LOCK_ONLY = 0x0080;
export const HEAP_XMAX_SHR_LOCK = HEAP_XMAX_EXCL_LOCK | HEAP_XMAX_KEYSHR_LOCK;
export const HEAP_LOCK_MASK = HEAP_XMAX_SHR_LOCK | HEAP_XMAX_EXCL_LOCK | HEAP_XMAX_KEYSHR_LOCK;
export const HEAP_XMIN_COMMITTED = 0x0100;
export const HEAP_XMIN_INVALID = 0x0200;
export const HEAP_XMIN_FROZEN = HEAP_XMIN_COMMITTED | HEAP_XMIN_INVALID;
export const HEAP_XMAX_COMMITTED = 0x0400;
export const HEAP_XMAX_INVALID = 0x0800;
export const HEAP_XMAX_IS_MULTI = 0x1000;
export const HEAP_UPDATED = 0x2000;
export const HEAP_MOVED_OFF = 0x4000;
export const HEAP_MOVED_IN = 0x8000;
export const HEAP_MOVED = HEAP_MOVED_OFF | HEAP_MOVED_IN;

// t_infomask2
export const HEAP_NATTS_MASK = 0x07ff;
export const HEAP_KEYS_UPDATED = 0x2000;
export const HEAP_HOT_UPDATED = 0x4000;
export const HEAP_ONLY_TUPLE = 0x8000;

/** HEAP_XMAX_IS_LOCKED_ONLY(infomask): xmax only locked the row, it did not delete or update it. */
export function xmaxIsLockedOnly(infomask: number): boolean {
  return (
    (infomask & HEAP_XMAX_LOCK_ONLY) !== 0 || (infomask & (HEAP_XMAX_IS_MULTI | HEAP_LOCK_MASK)) === HEAP_XMAX_EXCL_LOCK
  );
}

/** An error that means the files do not look like what the catalog says: never guessed around. */
export class DirectReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DirectReadError';
  }
}

export interface PageHeader {
  lower: number;
  upper: number;
  special: number;
  checksum: number;
  pruneXid: number;
  /** Number of line pointers. */
  items: number;
}

/**
 * Read and sanity-check a page header. Returns undefined for a new (all-zero) page, which
 * PostgreSQL treats as empty. `where` names the page in errors.
 */
export function readPageHeader(buf: Buffer, p: number, blockSize: number, where: () => string): PageHeader | undefined {
  const upper = buf.readUInt16LE(p + 14);
  const lower = buf.readUInt16LE(p + 12);
  if (upper === 0) {
    // PageIsNew: must be entirely zero to be a valid new page.
    for (let i = p; i < p + blockSize; i += 8) {
      if (buf.readBigUInt64LE(i) !== 0n)
        throw new DirectReadError(`${where()}: page has pd_upper = 0 but is not all zeros (torn or corrupt page)`);
    }
    return undefined;
  }
  const special = buf.readUInt16LE(p + 16);
  const sizeVersion = buf.readUInt16LE(p + 18);
  if ((sizeVersion & 0xff00) !== blockSize || (sizeVersion & 0x00ff) !== PAGE_LAYOUT_VERSION) {
    throw new DirectReadError(
      `${where()}: page size/version ${sizeVersion.toString(16)} is not ${blockSize}/${PAGE_LAYOUT_VERSION}`,
    );
  }
  if (
    lower < PAGE_HEADER_SIZE ||
    lower > upper ||
    upper > special ||
    special > blockSize ||
    (lower - PAGE_HEADER_SIZE) % ITEM_ID_SIZE !== 0
  ) {
    throw new DirectReadError(
      `${where()}: implausible page header (pd_lower ${lower}, pd_upper ${upper}, pd_special ${special})`,
    );
  }
  return {
    lower,
    upper,
    special,
    checksum: buf.readUInt16LE(p + 8),
    pruneXid: buf.readUInt32LE(p + 20),
    items: (lower - PAGE_HEADER_SIZE) / ITEM_ID_SIZE,
  };
}

/** TOAST_MAX_CHUNK_SIZE for a block size (heaptoast.h), 1996 for 8 kB pages. */
export function toastMaxChunkSize(blockSize: number): number {
  const maxalign = (n: number) => (n + 7) & ~7;
  const maxalignDown = (n: number) => n & ~7;
  // EXTERN_TUPLES_PER_PAGE = 4 tuples per page.
  const externTupleMaxSize = maxalignDown(Math.floor((blockSize - maxalign(PAGE_HEADER_SIZE + 4 * ITEM_ID_SIZE)) / 4));
  return externTupleMaxSize - maxalign(TUPLE_HEADER_SIZE) - 4 - 4 - 4;
}

/** Round `off` up to the alignment named by pg_type.typalign. */
export function alignOffset(off: number, align: string): number {
  switch (align) {
    case 'c':
      return off;
    case 's':
      return (off + 1) & ~1;
    case 'i':
      return (off + 3) & ~3;
    case 'd':
      return (off + 7) & ~7;
    default:
      throw new DirectReadError(`unknown alignment '${align}'`);
  }
}

// Varlena headers (varatt.h, little-endian):
//   first byte 0x01                 -> external (TOAST pointer etc.), tag in the next byte
//   low bit 1                       -> 1-byte header, total length = byte >> 1
//   low two bits 00 (4-byte header) -> uncompressed, total length = uint32 >> 2
//   low two bits 10 (4-byte header) -> compressed inline, then uint32 va_tcinfo
export const VARTAG_ONDISK = 18;
export const TOAST_POINTER_SIZE = 18; // 2 header bytes + varatt_external (16)
export const VARLENA_EXTSIZE_MASK = 0x3fffffff;
export const TOAST_PGLZ = 0;
export const TOAST_LZ4 = 1;

/** Total size of the varlena at `p`, header included (VARSIZE_ANY). */
export function varSizeAny(buf: Buffer, p: number): number {
  const b = buf[p];
  if (b === 0x01) {
    const tag = buf[p + 1];
    if (tag === VARTAG_ONDISK) return TOAST_POINTER_SIZE;
    throw new DirectReadError(
      `external varlena with tag ${tag} (only on-disk TOAST pointers, tag 18, can be stored in a table)`,
    );
  }
  if (b & 0x01) return b >>> 1;
  return buf.readUInt32LE(p) >>> 2;
}
