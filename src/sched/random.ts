// Seeded pseudo-random numbers for the schedulers and the simulator. Deterministic for a seed, so a
// simulated sweep or a scheduled run can be replayed exactly.

/** A uniform random number generator over [0, 1). */
export type Random = () => number;

/**
 * mulberry32: a small, fast 32-bit generator (period 2^32), good enough for scheduling choices and
 * for drawing simulated runtimes. The seed is reduced to an unsigned 32-bit integer. As a class so
 * that hot loops call a monomorphic method the compiler inlines.
 */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    const state = (this.state + 0x6d2b79f5) | 0;
    this.state = state;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** mulberry32 as a function: each call returns the next uniform number in [0, 1). */
export function mulberry32(seed: number): Random {
  const generator = new Mulberry32(seed);
  return () => generator.next();
}

/**
 * Derives an independent seed from a seed and a stream number (splitmix32-style mixing), so that
 * e.g. the simulated runtimes and the scheduler's choices do not share one random stream.
 */
export function deriveSeed(seed: number, stream: number): number {
  return fmix32((seed >>> 0) ^ Math.imul(stream >>> 0, 0x9e3779b9));
}

/** murmur3's 32-bit finaliser: a good avalanche over one word (also the data generators' hash). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
