// The canonical form of a row, shared by the direct reader and the SQL path, so that the two
// can be compared byte for byte (`bench inspect --via direct|sql`).
//
// One JSON object per row, keys = column names in attnum order (dropped columns left out),
// no whitespace. Values:
//   NULL                    null
//   bool                    true / false
//   int2, int4, oid, xid    JSON number
//   int8                    JSON string of the decimal ("-9223372036854775808")
//   numeric                 JSON string, exactly as PostgreSQL prints it ("1.50", "NaN", "-Infinity")
//   float8                  JSON number in JavaScript's shortest round-trip form (String(x): 0.1,
//                           1e+21, 5e-324), -0 as -0; NaN, Infinity, -Infinity as JSON strings
//   float4                  the same, using the shortest decimal that rounds to the same float4
//   text, varchar, bpchar,  JSON string (bpchar keeps its padding, as PostgreSQL prints it)
//   name, json, xml, "char"
//   bytea                   JSON string "\\x<lowercase hex>"
//   uuid, date, time,       JSON string as PostgreSQL prints it with DateStyle = ISO and
//   timestamp, timestamptz  TimeZone = UTC
//   arrays                  JSON arrays (nested per dimension); when a lower bound is not 1:
//                           {"lower":[...],"values":[...]}
// Floats are compared by value this way: PostgreSQL's output with extra_float_digits = 3 (what the
// SQL path reads) round-trips exactly, so both paths reach the same double or float4.
import type { TypeInfo } from './direct/catalog.js';
import type { BoundedArray, Value } from './direct/decode.js';

export interface CanonicalColumn {
  name: string;
  type: TypeInfo;
  /** format_type() of the column, e.g. "numeric(10,2)" or "integer[]". */
  typeName: string;
}

function isBounded(v: Value): v is BoundedArray {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

export function floatJson(v: number, single: boolean): string {
  if (Number.isNaN(v)) return '"NaN"';
  if (v === Infinity) return '"Infinity"';
  if (v === -Infinity) return '"-Infinity"';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  if (!single) return String(v);
  for (let p = 1; p <= 9; p++) {
    const n = Number(v.toPrecision(p));
    if (Math.fround(n) === v) return String(n);
  }
  return String(v);
}

/** The canonical JSON text of one value of `type`. */
export function canonicalJson(type: TypeInfo, v: Value): string {
  if (v === null) return 'null';
  if (type.elem) {
    const elem = type.elem;
    const list = (values: Value[]): string =>
      `[${values.map((x) => (Array.isArray(x) ? list(x) : canonicalJson(elem, x))).join(',')}]`;
    if (isBounded(v)) return `{"lower":[${v.lower.join(',')}],"values":${list(v.values)}}`;
    return list(v as Value[]);
  }
  switch (type.name) {
    case 'bool':
      return v ? 'true' : 'false';
    case 'int2':
    case 'int4':
    case 'oid':
    case 'xid':
    case 'cid':
      return String(v);
    case 'int8':
      return `"${String(v)}"`;
    case 'float4':
      return floatJson(v as number, true);
    case 'float8':
      return floatJson(v as number, false);
    case 'bytea':
      return `"\\\\x${(v as Buffer).toString('hex')}"`;
    default:
      return JSON.stringify(v);
  }
}

/** One row as its canonical JSON line (without the newline). */
export function canonicalLine(columns: CanonicalColumn[], values: Value[]): string {
  let out = '{';
  for (let i = 0; i < columns.length; i++) {
    if (i) out += ',';
    out += JSON.stringify(columns[i].name);
    out += ':';
    out += canonicalJson(columns[i].type, values[i]);
  }
  return `${out}}`;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL's text output -> Value (the SQL path, and attmissingval)

function parseFloatText(text: string): number {
  if (text === 'NaN') return NaN;
  if (text === 'Infinity') return Infinity;
  if (text === '-Infinity') return -Infinity;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`not a float: ${text}`);
  return n;
}

/** Parse one value as PostgreSQL prints it (extra_float_digits = 3, ISO dates, UTC, hex bytea). */
export function parseTextValue(type: TypeInfo, text: string | null): Value {
  if (text === null) return null;
  if (type.elem) return parseArrayLiteral(type.elem, text);
  switch (type.name) {
    case 'bool':
      if (text === 't' || text === 'true') return true;
      if (text === 'f' || text === 'false') return false;
      throw new Error(`not a bool: ${text}`);
    case 'int2':
    case 'int4':
    case 'oid':
    case 'xid':
    case 'cid':
      return Number(text);
    case 'int8':
      return BigInt(text);
    case 'float4':
      return Math.fround(parseFloatText(text));
    case 'float8':
      return parseFloatText(text);
    case 'bytea':
      if (!text.startsWith('\\x')) throw new Error('bytea must be in hex output format (bytea_output = hex)');
      return Buffer.from(text.slice(2), 'hex');
    default:
      return text;
  }
}

/** Parse array_out's text: optional "[l:u]...=" bounds, nested braces, quoted or bare elements. */
export function parseArrayLiteral(elem: TypeInfo, text: string): Value {
  let i = 0;
  let lower: number[] | undefined;
  if (text[0] === '[') {
    const eq = text.indexOf('=');
    lower = [...text.slice(0, eq).matchAll(/\[(-?\d+):(-?\d+)\]/g)].map((m) => Number(m[1]));
    i = eq + 1;
  }
  const parseLevel = (): Value[] => {
    if (text[i] !== '{') throw new Error(`array literal: expected { at ${i} in ${text}`);
    i++;
    const out: Value[] = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === '{') {
        out.push(parseLevel());
      } else if (text[i] === '"') {
        i++;
        let s = '';
        while (text[i] !== '"') {
          if (i >= text.length) throw new Error(`array literal: unterminated quote in ${text}`);
          if (text[i] === '\\') i++;
          s += text[i++];
        }
        i++;
        out.push(parseTextValue(elem, s));
      } else {
        let j = i;
        while (text[j] !== ',' && text[j] !== '}') j++;
        const raw = text.slice(i, j);
        i = j;
        out.push(raw.toUpperCase() === 'NULL' ? null : parseTextValue(elem, raw));
      }
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return out;
      }
      throw new Error(`array literal: unexpected "${text[i]}" at ${i} in ${text}`);
    }
  };
  const values = parseLevel();
  if (lower && !lower.every((l) => l === 1)) return { lower, values };
  return values;
}
