// The featurisation of docs/architecture.md ("Data"), in TypeScript. It is the reference that the in-DBMS
// packer (infra/engine/bench_engine/featurize.py) must match value for value; the generators'
// hidden teachers use it too, so generated labels are a function of exactly what a model sees.
//
// Criteo, as the paper's artifact (from the public Criteo samples):
//   integer feature f, value v  -> bucket 0 when missing, else
//                                  min(B - 1, 1 + #{ j in [0, B-2) : 1.5^j - 0.51 <= v })
//   categorical feature f, hex s -> bucket 0 when missing (empty), else 1 + crc32(s) mod (H - 1)
//   x = concat(one-hot(int buckets, B) for 13 features, one-hot(cat buckets, H) for 26 features)
//   dimension 13 * B + 26 * H (7306 at full scale: B = 50, H = 256)
// ImageNet: uint8 H x W x 3 (row-major, channels last) -> float32 3 x H x W scaled to [0, 1].
import type { CriteoSpec } from '../src/core/workload.js';

export const CRITEO_INT_FEATURES = 13;
export const CRITEO_CAT_FEATURES = 26;

/** The boundaries of the integer buckets: 1.5^j - 0.51 for j in [0, intBuckets - 2). */
export function intBoundaries(intBuckets: number): number[] {
  if (intBuckets < 2) throw new Error(`intBuckets must be at least 2, got ${intBuckets}`);
  return Array.from({ length: intBuckets - 2 }, (_, j) => 1.5 ** j - 0.51);
}

/** One-hot position of an integer feature value within its intBuckets slots. */
export function intBucket(
  value: number | null | undefined,
  intBuckets: number,
  boundaries = intBoundaries(intBuckets),
): number {
  if (value === null || value === undefined || Number.isNaN(value)) return 0;
  let count = 0;
  while (count < boundaries.length && boundaries[count] <= value) count++;
  return Math.min(intBuckets - 1, 1 + count);
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE, as zlib.crc32) of the UTF-8 bytes of a string; for hex strings, of its characters. */
export function crc32(s: string): number {
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code >= 0x80) return crc32Bytes(Buffer.from(s, 'utf8'));
    c = CRC_TABLE[(c ^ code) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

function crc32Bytes(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One-hot position of a categorical feature value within its hashBuckets slots. */
export function catBucket(value: string | null | undefined, hashBuckets: number): number {
  if (value === null || value === undefined || value === '') return 0;
  if (hashBuckets < 2) throw new Error(`hashBuckets must be at least 2, got ${hashBuckets}`);
  return 1 + (crc32(value) % (hashBuckets - 1));
}

export interface CriteoRow {
  label: number;
  /** 13 integer features, null when missing. */
  ints: (number | null)[];
  /** 26 categorical features as 8-character hex strings, '' when missing. */
  cats: string[];
}

export interface ImageRow {
  label: number;
  /** size x size x 3 uint8, channels last (as decoded images come). */
  image: Uint8Array;
}

export function criteoDimension(spec: Pick<CriteoSpec, 'intBuckets' | 'hashBuckets'>): number {
  return CRITEO_INT_FEATURES * spec.intBuckets + CRITEO_CAT_FEATURES * spec.hashBuckets;
}

/** The indices of the 39 ones in a Criteo row's feature vector. */
export function criteoActiveIndices(
  row: CriteoRow,
  spec: Pick<CriteoSpec, 'intBuckets' | 'hashBuckets'>,
  boundaries = intBoundaries(spec.intBuckets),
): number[] {
  const out: number[] = [];
  for (let f = 0; f < CRITEO_INT_FEATURES; f++)
    out.push(f * spec.intBuckets + intBucket(row.ints[f], spec.intBuckets, boundaries));
  const base = CRITEO_INT_FEATURES * spec.intBuckets;
  for (let f = 0; f < CRITEO_CAT_FEATURES; f++)
    out.push(base + f * spec.hashBuckets + catBucket(row.cats[f], spec.hashBuckets));
  return out;
}

export function featurizeCriteo(row: CriteoRow, spec: Pick<CriteoSpec, 'intBuckets' | 'hashBuckets'>): Float32Array {
  const x = new Float32Array(criteoDimension(spec));
  for (const i of criteoActiveIndices(row, spec)) x[i] = 1;
  return x;
}

/** uint8 HWC -> float32 CHW in [0, 1]. */
export function featurizeImage(image: Uint8Array, size: number): Float32Array {
  const plane = size * size;
  if (image.length !== plane * 3)
    throw new Error(`image has ${image.length} bytes, expected ${size}x${size}x3 = ${plane * 3}`);
  const x = new Float32Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    x[p] = image[p * 3] / 255;
    x[plane + p] = image[p * 3 + 1] / 255;
    x[2 * plane + p] = image[p * 3 + 2] / 255;
  }
  return x;
}
