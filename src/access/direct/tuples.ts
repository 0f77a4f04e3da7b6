// Heap tuple decoding: the null bitmap, attribute alignment and length from pg_attribute, dropped
// columns skipped over, columns added later (tuples with fewer attributes) taking attmissingval
// or NULL, and varlena values in every form.
import { parseTextValue } from '../canonical.js';
import type { ColumnInfo, RelationInfo } from './catalog.js';
import { checkSupported, decodeFixed, decodeVarlena, type Value } from './decode.js';
import { alignOffset, DirectReadError, HEAP_HASNULL, HEAP_NATTS_MASK, varSizeAny } from './format.js';
import type { DirectReadStats } from './pages.js';
import { ExternalRef, inlinePayload } from './toast.js';

export interface AttributePlan {
  column: ColumnInfo;
  /** Index in the output row, or -1 when the column is only skipped over. */
  out: number;
  /** The value for tuples that predate the column (attmissingval, or null). */
  missing: Value;
}

export interface TupleLayout {
  relation: RelationInfo;
  attrs: AttributePlan[];
  /** Attributes past this index are never needed. */
  lastNeeded: number;
  outputs: number;
}

/** Plan decoding of `wanted` columns (by name, output in that order) of a relation. */
export function tupleLayout(relation: RelationInfo, wanted: string[]): TupleLayout {
  const byName = new Map(relation.columns.filter((c) => !c.dropped).map((c) => [c.name, c]));
  const outIndex = new Map<string, number>();
  wanted.forEach((name, i) => {
    const col = byName.get(name);
    if (!col) throw new DirectReadError(`${relation.qualifiedName} has no column "${name}"`);
    checkSupported(col.type!, name);
    outIndex.set(name, i);
  });
  let lastNeeded = -1;
  const attrs = relation.columns.map((column, i): AttributePlan => {
    const out = column.dropped ? -1 : (outIndex.get(column.name) ?? -1);
    if (out >= 0) lastNeeded = i;
    let missing: Value = null;
    if (out >= 0 && column.missingText !== undefined) missing = parseTextValue(column.type!, column.missingText);
    return { column, out, missing };
  });
  return { relation, attrs, lastNeeded, outputs: wanted.length };
}

/**
 * Decode the tuple at buf[t, t + len) into `row` (length layout.outputs). Varlena values stored
 * out of line come back as ExternalRef for the caller to fetch. Inline bytea values are slices of
 * `buf` unless `copy` is set.
 */
export function decodeTuple(
  layout: TupleLayout,
  buf: Buffer,
  t: number,
  len: number,
  row: (Value | ExternalRef)[],
  stats: DirectReadStats,
  copy: boolean,
): void {
  const infomask2 = buf.readUInt16LE(t + 18);
  const infomask = buf.readUInt16LE(t + 20);
  const hoff = buf[t + 22];
  const natts = infomask2 & HEAP_NATTS_MASK;
  const hasNull = (infomask & HEAP_HASNULL) !== 0;
  if (hoff < 23 || hoff > len || (hoff & 7) !== 0)
    throw new DirectReadError(`tuple header length ${hoff} is implausible`);
  if (natts > layout.attrs.length)
    throw new DirectReadError(`tuple has ${natts} attributes, the relation ${layout.attrs.length}`);
  if (hasNull && 23 + ((natts + 7) >> 3) > hoff) throw new DirectReadError('null bitmap runs past the tuple header');
  const end = len;
  let off = hoff; // relative to t; t is MAXALIGNed, so alignment relative to t is absolute
  for (let i = 0; i <= layout.lastNeeded; i++) {
    const plan = layout.attrs[i];
    if (i >= natts) {
      if (plan.out >= 0) row[plan.out] = plan.missing;
      continue;
    }
    if (hasNull && (buf[t + 23 + (i >> 3)] & (1 << (i & 7))) === 0) {
      if (plan.out >= 0) row[plan.out] = null;
      continue;
    }
    const col = plan.column;
    if (col.attlen > 0) {
      off = alignOffset(off, col.attalign);
      if (off + col.attlen > end) throw new DirectReadError(`attribute ${col.attnum} runs past the tuple`);
      if (plan.out >= 0) row[plan.out] = decodeFixed(col.type!, buf, t + off);
      off += col.attlen;
    } else if (col.attlen === -1) {
      // att_align_pointer: a non-zero byte here is a 1-byte varlena header (never padded).
      if (buf[t + off] === 0) off = alignOffset(off, col.attalign);
      const p = t + off;
      const size = varSizeAny(buf, p);
      if (size < 1 || off + size > end)
        throw new DirectReadError(`attribute ${col.attnum} (varlena of ${size} bytes) runs past the tuple`);
      if (plan.out >= 0) {
        if (buf[p] === 0x01) {
          row[plan.out] = ExternalRef.read(buf, p);
        } else {
          let payload = inlinePayload(buf, p, size, stats);
          if (copy && payload.buffer === buf.buffer) payload = Buffer.from(payload);
          row[plan.out] = decodeVarlena(col.type!, payload);
        }
      }
      off += size;
    } else if (col.attlen === -2) {
      let z = t + off;
      while (z < t + end && buf[z] !== 0) z++;
      if (z >= t + end) throw new DirectReadError(`attribute ${col.attnum} (cstring) runs past the tuple`);
      if (plan.out >= 0) row[plan.out] = buf.toString('utf8', t + off, z);
      off = z + 1 - t;
    } else {
      throw new DirectReadError(`attribute ${col.attnum} has attlen ${col.attlen}`);
    }
  }
}
