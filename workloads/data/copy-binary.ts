// PostgreSQL's binary COPY format (https://www.postgresql.org/docs/15/sql-copy.html), enough of it
// to load the raw tables: int4, int8, bytea, int4[] and text[] fields.

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const OID_INT4 = 23;
const OID_TEXT = 25;

/** File header: signature, flags (0), header extension length (0). */
export function copyHeader(): Buffer {
  const b = Buffer.alloc(SIGNATURE.length + 8);
  SIGNATURE.copy(b, 0);
  return b;
}

/** File trailer: a field count of -1. */
export function copyTrailer(): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(-1, 0);
  return b;
}

/** One tuple from its already-encoded fields (null = SQL NULL). */
export function copyTuple(fields: (Buffer | null)[]): Buffer {
  let size = 2;
  for (const f of fields) size += 4 + (f ? f.length : 0);
  const b = Buffer.allocUnsafe(size);
  b.writeInt16BE(fields.length, 0);
  let at = 2;
  for (const f of fields) {
    if (f === null) {
      b.writeInt32BE(-1, at);
      at += 4;
    } else {
      b.writeInt32BE(f.length, at);
      f.copy(b, at + 4);
      at += 4 + f.length;
    }
  }
  return b;
}

export function int4(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(v, 0);
  return b;
}

export function int8(v: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64BE(BigInt(v), 0);
  return b;
}

function arrayOf(oid: number, elements: (Buffer | null)[]): Buffer {
  let size = 20;
  let hasNull = 0;
  for (const e of elements) {
    size += 4 + (e ? e.length : 0);
    if (e === null) hasNull = 1;
  }
  const b = Buffer.allocUnsafe(size);
  b.writeInt32BE(1, 0); // dimensions
  b.writeInt32BE(hasNull, 4);
  b.writeInt32BE(oid, 8);
  b.writeInt32BE(elements.length, 12);
  b.writeInt32BE(1, 16); // lower bound
  let at = 20;
  for (const e of elements) {
    if (e === null) {
      b.writeInt32BE(-1, at);
      at += 4;
    } else {
      b.writeInt32BE(e.length, at);
      e.copy(b, at + 4);
      at += 4 + e.length;
    }
  }
  return b;
}

export function int4Array(values: (number | null)[]): Buffer {
  return arrayOf(
    OID_INT4,
    values.map((v) => (v === null ? null : int4(v))),
  );
}

export function textArray(values: (string | null)[]): Buffer {
  return arrayOf(
    OID_TEXT,
    values.map((v) => (v === null ? null : Buffer.from(v, 'utf8'))),
  );
}

export function bytea(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
