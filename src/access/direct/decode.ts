// Datum decoding: from the bytes PostgreSQL stores for a value of a type to the JavaScript value
// the direct reader returns. Output-function semantics (numeric_out, date_out, charout, ...) are
// reproduced exactly where the value is a string, so that both access paths agree.
import type { TypeInfo } from './catalog.js';
import { alignOffset, DirectReadError, varSizeAny } from './format.js';

/** An array whose lower bounds are not all 1 (as '[0:1]={1,2}' prints). */
export interface BoundedArray {
  lower: number[];
  values: Value[];
}

/**
 * A decoded value: int2/int4/oid -> number, int8 -> bigint, float4/float8 -> number (float4's
 * exact single-precision value), numeric -> string as PostgreSQL prints it, text types -> string,
 * bytea -> Buffer (a slice of the file buffer when the value was stored inline and uncompressed),
 * bool -> boolean, date/time types -> ISO strings (DateStyle ISO, TimeZone UTC), uuid -> string,
 * arrays -> nested arrays (a BoundedArray when a lower bound is not 1). NULL -> null.
 */
export type Value = null | boolean | number | bigint | string | Buffer | Value[] | BoundedArray;

export class UnsupportedTypeError extends DirectReadError {
  constructor(what: string) {
    super(what);
    this.name = 'UnsupportedTypeError';
  }
}

const FIXED = new Set([
  'bool',
  'char',
  'name',
  'int2',
  'int4',
  'int8',
  'oid',
  'xid',
  'cid',
  'float4',
  'float8',
  'uuid',
  'date',
  'time',
  'timestamp',
  'timestamptz',
]);
const VARLENA = new Set(['text', 'varchar', 'bpchar', 'json', 'xml', 'bytea', 'numeric']);

/** Throws when the decoder cannot produce `type`'s values; says which column. */
export function checkSupported(type: TypeInfo, column: string): void {
  if (type.elem) {
    checkSupported(type.elem, column);
    return;
  }
  if (!FIXED.has(type.name) && !VARLENA.has(type.name)) {
    throw new UnsupportedTypeError(
      `column "${column}" has type ${type.name}, which the direct reader does not decode (leave it out with --columns)`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Fixed-length types

export function decodeFixed(type: TypeInfo, buf: Buffer, p: number): Value {
  switch (type.name) {
    case 'bool':
      return buf[p] !== 0;
    case 'char':
      return charOut(buf[p]);
    case 'int2':
      return buf.readInt16LE(p);
    case 'int4':
      return buf.readInt32LE(p);
    case 'int8':
      return buf.readBigInt64LE(p);
    case 'oid':
    case 'xid':
    case 'cid':
      return buf.readUInt32LE(p);
    case 'float4':
      return buf.readFloatLE(p);
    case 'float8':
      return buf.readDoubleLE(p);
    case 'name': {
      let end = p;
      const stop = p + type.len;
      while (end < stop && buf[end] !== 0) end++;
      return buf.toString('utf8', p, end);
    }
    case 'uuid': {
      const h = buf.toString('hex', p, p + 16);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case 'date':
      return dateOut(buf.readInt32LE(p));
    case 'time':
      return timeOut(buf.readBigInt64LE(p));
    case 'timestamp':
      return timestampOut(buf.readBigInt64LE(p), false);
    case 'timestamptz':
      return timestampOut(buf.readBigInt64LE(p), true);
    default:
      throw new UnsupportedTypeError(`type ${type.name} is not decoded`);
  }
}

function charOut(ch: number): string {
  if (ch & 0x80) return `\\${ch.toString(8).padStart(3, '0')}`;
  if (ch === 0) return '';
  return String.fromCharCode(ch);
}

// ---------------------------------------------------------------------------------------------
// Varlena types; `data` is the value without its header, detoasted and decompressed.

export function decodeVarlena(type: TypeInfo, data: Buffer): Value {
  if (type.elem) return decodeArray(type.elem, data);
  switch (type.name) {
    case 'bytea':
      return data;
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'json':
    case 'xml':
      return data.toString('utf8');
    case 'numeric':
      return numericOut(data);
    default:
      throw new UnsupportedTypeError(`type ${type.name} is not decoded`);
  }
}

// numeric (utils/adt/numeric.c): after the varlena header, a uint16 header word. Special values
// (NaN, +-Infinity) have both top bits set. The short format (top bits 10) packs sign, display
// scale and weight in that word; the long format has n_sign_dscale then an int16 weight. Then
// base-10000 digits as int16.
const NUMERIC_SIGN_MASK = 0xc000;
const NUMERIC_NEG = 0x4000;
const NUMERIC_SHORT = 0x8000;
const NUMERIC_SPECIAL = 0xc000;

export function numericOut(data: Buffer): string {
  const header = data.readUInt16LE(0);
  let negative: boolean;
  let dscale: number;
  let weight: number;
  let start: number;
  if ((header & NUMERIC_SIGN_MASK) === NUMERIC_SPECIAL) {
    switch (header & 0xf000) {
      case 0xc000:
        return 'NaN';
      case 0xd000:
        return 'Infinity';
      case 0xf000:
        return '-Infinity';
      default:
        throw new DirectReadError(`numeric with unknown special header ${header.toString(16)}`);
    }
  }
  if (header & NUMERIC_SHORT) {
    negative = (header & 0x2000) !== 0;
    dscale = (header & 0x1f80) >> 7;
    weight = header & 0x40 ? (header & 0x3f) - 64 : header & 0x3f;
    start = 2;
  } else {
    negative = (header & NUMERIC_SIGN_MASK) === NUMERIC_NEG;
    dscale = header & 0x3fff;
    weight = data.readInt16LE(2);
    start = 4;
  }
  const ndigits = (data.length - start) >> 1;
  const digit = (d: number) => (d >= 0 && d < ndigits ? data.readInt16LE(start + 2 * d) : 0);
  let out = negative ? '-' : '';
  if (weight < 0) {
    out += '0';
  } else {
    for (let d = 0; d <= weight; d++) {
      const dig = digit(d);
      out += d === 0 ? String(dig) : String(dig).padStart(4, '0');
    }
  }
  if (dscale > 0) {
    let frac = '';
    for (let d = weight + 1; frac.length < dscale; d++) frac += String(digit(d)).padStart(4, '0');
    out += `.${frac.slice(0, dscale)}`;
  }
  return out;
}

// Arrays (utils/array.h): int32 ndim, int32 dataoffset (0 = no null bitmap), oid elemtype,
// int32 dims[ndim], int32 lbound[ndim], optional null bitmap, then the elements, each aligned
// relative to the (4-byte-header) array's start. Offsets below are into `data`, which starts 4
// bytes into that array.
export function decodeArray(elem: TypeInfo, data: Buffer): Value {
  const ndim = data.readInt32LE(0);
  if (ndim === 0) return [];
  if (ndim < 0 || ndim > 6) throw new DirectReadError(`array with ${ndim} dimensions`);
  const dataOffset = data.readInt32LE(4);
  const dims: number[] = [];
  const lower: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    dims.push(data.readInt32LE(12 + 4 * i));
    lower.push(data.readInt32LE(12 + 4 * ndim + 4 * i));
    count *= dims[i];
  }
  const bitmap = dataOffset !== 0 ? 12 + 8 * ndim : -1;
  let p = dataOffset !== 0 ? dataOffset - 4 : ((16 + 8 * ndim + 7) & ~7) - 4;
  const flat: Value[] = new Array(count);
  for (let i = 0; i < count; i++) {
    if (bitmap >= 0 && (data[bitmap + (i >> 3)] & (1 << (i & 7))) === 0) {
      flat[i] = null;
      continue;
    }
    if (elem.len > 0) {
      p = alignOffset(p + 4, elem.align) - 4;
      flat[i] = decodeFixed(elem, data, p);
      p += elem.len;
    } else if (elem.len === -1) {
      if (data[p] === 0) p = alignOffset(p + 4, elem.align) - 4;
      const b = data[p];
      if (b === 0x01 || (b & 0x03) === 0x02) throw new DirectReadError('array element is compressed or external');
      const size = varSizeAny(data, p);
      const hdr = b & 0x01 ? 1 : 4;
      flat[i] = decodeVarlena(elem, data.subarray(p + hdr, p + size));
      p += size;
    } else {
      throw new UnsupportedTypeError(`array of element type ${elem.name} (length ${elem.len})`);
    }
    if (p > data.length) throw new DirectReadError('array elements run past the array');
  }
  const nest = (dim: number, offset: number): [Value[], number] => {
    const out: Value[] = [];
    for (let i = 0; i < dims[dim]; i++) {
      if (dim === ndim - 1) out.push(flat[offset++]);
      else {
        const [inner, next] = nest(dim + 1, offset);
        out.push(inner);
        offset = next;
      }
    }
    return [out, offset];
  };
  const values = nest(0, 0)[0];
  return lower.every((l) => l === 1) ? values : { lower, values };
}

// ---------------------------------------------------------------------------------------------
// Dates and times, as PostgreSQL prints them with DateStyle = ISO and TimeZone = UTC.

const POSTGRES_EPOCH_JDATE = 2451545;
const USECS_PER_DAY = 86400000000n;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** j2date of utils/adt/datetime.c (unsigned 32-bit arithmetic). */
function j2date(jd: number): [number, number, number] {
  let julian = (jd + 32044) >>> 0;
  let quad = Math.floor(julian / 146097);
  const extra = (julian - quad * 146097) * 4 + 3;
  julian += 60 + quad * 3 + Math.floor(extra / 146097);
  quad = Math.floor(julian / 1461);
  julian -= quad * 1461;
  let y = Math.floor((julian * 4) / 1461);
  julian = (y !== 0 ? (julian + 305) % 365 : (julian + 306) % 366) + 123;
  y += quad * 4;
  const year = y - 4800;
  quad = Math.floor((julian * 2141) / 65536);
  const day = julian - Math.floor((7834 * quad) / 256);
  const month = ((quad + 10) % 12) + 1;
  return [year, month, day];
}

const pad2 = (n: number) => String(n).padStart(2, '0');

function ymd(jd: number): { text: string; bc: boolean } {
  const [year, month, day] = j2date(jd);
  const bc = year <= 0;
  const y = bc ? 1 - year : year;
  return { text: `${String(y).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`, bc };
}

export function dateOut(days: number): string {
  if (days === INT32_MIN) return '-infinity';
  if (days === INT32_MAX) return 'infinity';
  const { text, bc } = ymd(days + POSTGRES_EPOCH_JDATE);
  return bc ? `${text} BC` : text;
}

function hms(usecOfDay: bigint): string {
  const secs = usecOfDay / 1000000n;
  const frac = Number(usecOfDay % 1000000n);
  const h = Number(secs / 3600n);
  const m = Number((secs / 60n) % 60n);
  const s = Number(secs % 60n);
  let out = `${pad2(h)}:${pad2(m)}:${pad2(s)}`;
  if (frac !== 0) out += `.${String(frac).padStart(6, '0').replace(/0+$/, '')}`;
  return out;
}

export function timeOut(usec: bigint): string {
  return hms(usec);
}

export function timestampOut(ts: bigint, withZone: boolean): string {
  if (ts === INT64_MIN) return '-infinity';
  if (ts === INT64_MAX) return 'infinity';
  let date = ts / USECS_PER_DAY;
  let time = ts - date * USECS_PER_DAY;
  if (time < 0n) {
    time += USECS_PER_DAY;
    date -= 1n;
  }
  const { text, bc } = ymd(Number(date) + POSTGRES_EPOCH_JDATE);
  return `${text} ${hms(time)}${withZone ? '+00' : ''}${bc ? ' BC' : ''}`;
}
