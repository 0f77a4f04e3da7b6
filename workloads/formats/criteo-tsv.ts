// The public Criteo click-log format: one example per line,
//   label \t I1 .. I13 \t C1 .. C26
// integers in decimal (empty when missing), categoricals as 8 hex digits (empty when missing).
// Plain files and gzip files (`.gz`, as the 1TB logs ship) are read as streams.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CRITEO_CAT_FEATURES, CRITEO_INT_FEATURES, type CriteoRow } from '../featurize.js';

export const CRITEO_FIELDS = 1 + CRITEO_INT_FEATURES + CRITEO_CAT_FEATURES;

export class CriteoFormatError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'CriteoFormatError';
  }
}

const INT_RE = /^-?\d+$/;

/** Parse one line (without its newline). `where` names the line in errors. */
export function parseCriteoLine(line: string, where = 'line'): CriteoRow {
  if (line.endsWith('\r')) line = line.slice(0, -1);
  const fields = line.split('\t');
  if (fields.length !== CRITEO_FIELDS) {
    throw new CriteoFormatError(
      where,
      `expected ${CRITEO_FIELDS} tab-separated fields (label, 13 integers, 26 categoricals), found ${fields.length}`,
    );
  }
  const label = fields[0];
  if (label !== '0' && label !== '1') throw new CriteoFormatError(where, `the label must be 0 or 1, found '${label}'`);
  const ints: (number | null)[] = [];
  for (let f = 1; f <= CRITEO_INT_FEATURES; f++) {
    const v = fields[f];
    if (v === '') {
      ints.push(null);
      continue;
    }
    if (!INT_RE.test(v)) throw new CriteoFormatError(where, `integer feature I${f} is not an integer: '${v}'`);
    const n = Number(v);
    // Counts beyond int4 are clipped: the buckets saturate long before.
    ints.push(Math.max(-2147483648, Math.min(2147483647, n)));
  }
  const cats = fields.slice(1 + CRITEO_INT_FEATURES);
  return { label: label === '1' ? 1 : 0, ints, cats };
}

export function formatCriteoLine(row: CriteoRow): string {
  return [String(row.label), ...row.ints.map((v) => (v === null ? '' : String(v))), ...row.cats].join('\t');
}

function openText(path: string): Readable {
  const raw = createReadStream(path);
  return path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
}

/** Lines of a file, skipping empty ones, with their 1-based line numbers. */
async function* lines(path: string): AsyncGenerator<{ line: string; number: number }> {
  const input = openText(path);
  const rl = createInterface({ input, crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const line of rl) {
      number++;
      if (line === '' || line === '\r') continue;
      yield { line, number };
    }
  } finally {
    rl.close();
    input.destroy();
  }
}

/** Rows of a Criteo TSV file (at most `limit`), in file order. */
export async function* readCriteoTsv(path: string, limit = Infinity): AsyncGenerator<CriteoRow> {
  let count = 0;
  if (count >= limit) return;
  for await (const { line, number } of lines(path)) {
    yield parseCriteoLine(line, `${path}:${number}`);
    if (++count >= limit) return;
  }
}

/** Number of example lines in the file (counting stops at `limit`). */
export async function countCriteoRows(path: string, limit = Infinity): Promise<number> {
  let count = 0;
  if (count >= limit) return 0;
  for await (const _ of lines(path)) if (++count >= limit) break;
  return count;
}
