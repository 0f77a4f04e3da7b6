// Seeded, counter-based randomness for the generators and the loaders.
//
// Everything random about a dataset derives from (seed, stream, index) through 32-bit integer
// hashing, so a row can be made on its own (no state carried from the rows before it), the same
// seed always gives the same rows, and millions of rows stream without being held in memory.

import { fmix32 } from '../src/sched/random.js';

export { fmix32 };

/** Hash any number of integers (each taken modulo 2^32; larger safe integers contribute their high word too). */
export function hash32(...words: number[]): number {
  let h = 0x9e3779b9 ^ words.length;
  for (const w of words) {
    const lo = w >>> 0;
    const hi = Math.floor(w / 4294967296) >>> 0;
    h = fmix32((h ^ lo) + 0x7f4a7c15);
    if (hi !== 0) h = fmix32((h ^ hi) + 0x165667b1);
  }
  return h >>> 0;
}

/** Hash of a string (FNV-1a then a finaliser): for naming streams. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h >>> 0);
}

/** sfc32: small, fast, good-quality 32-bit generator. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  constructor(...seedWords: number[]) {
    const s = hash32(...seedWords);
    this.a = s;
    this.b = hash32(s, 1);
    this.c = hash32(s, 2);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = this.float();
    if (u < 1e-12) u = 1e-12;
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}

/**
 * A seeded pseudo-random bijection of [0, n): a 4-round Feistel network on the smallest even
 * number of bits covering n, with cycle walking. O(1) memory, so rows can be shuffled while they
 * stream. n must be at most 2^32.
 */
export class Permutation {
  private readonly halfBits: number;
  private readonly mask: number;
  private readonly keys: number[];

  constructor(
    readonly n: number,
    seed: number,
  ) {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296)
      throw new Error(`Permutation size must be an integer in [1, 2^32], got ${n}`);
    let bits = 2;
    while (2 ** bits < n) bits += 2;
    this.halfBits = bits / 2;
    this.mask = 2 ** this.halfBits - 1;
    this.keys = [0, 1, 2, 3].map((r) => hash32(seed, 0x5eed, r));
  }

  private encrypt(x: number): number {
    const h = this.halfBits;
    const base = 2 ** h;
    let left = Math.floor(x / base);
    let right = x % base;
    for (const key of this.keys) {
      const f = hash32(right, key) & this.mask;
      const next = (left ^ f) >>> 0;
      left = right;
      right = next & this.mask;
    }
    return left * base + right;
  }

  /** The image of i, in [0, n). */
  at(i: number): number {
    if (i < 0 || i >= this.n) throw new Error(`index ${i} out of [0, ${this.n})`);
    let x = this.encrypt(i);
    while (x >= this.n) x = this.encrypt(x);
    return x;
  }
}

/** Segment of row i out of n rows over `segments` segments: balanced (counts differ by at most 1) and shuffled. */
export class SegmentAssigner {
  private readonly perm: Permutation | null;

  constructor(
    n: number,
    readonly segments: number,
    seed: number,
  ) {
    this.perm = n > 0 ? new Permutation(n, hash32(seed, 0x5e9)) : null;
  }

  segmentOf(i: number): number {
    if (!this.perm) throw new Error('no rows to assign');
    return this.perm.at(i) % this.segments;
  }
}
