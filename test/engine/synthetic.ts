// Tiny learnable packed buffers for the engine tests: labels from a hidden linear teacher.
import type { PackedBuffer } from '../../src/engine/messages.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` buffers of n examples of `features` floats; class = argmax of a fixed teacher. */
export function learnableBuffers(
  count: number,
  n: number,
  features: number,
  seed: number,
  classes = 2,
): PackedBuffer[] {
  const teacher = rng(12345);
  const w = Array.from({ length: features * classes }, () => teacher() * 2 - 1);
  const next = rng(seed);
  const out: PackedBuffer[] = [];
  for (let b = 0; b < count; b++) {
    const x = new Float32Array(n * features);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const scores = new Array<number>(classes).fill(0);
      for (let j = 0; j < features; j++) {
        const v = next() * 2 - 1;
        x[i * features + j] = v;
        for (let c = 0; c < classes; c++) scores[c] += v * w[j * classes + c];
      }
      y[i] = scores.indexOf(Math.max(...scores));
    }
    out.push({ n, x: Buffer.from(x.buffer), y: Buffer.from(y.buffer) });
  }
  return out;
}

/** Random images (3 x side x side) with random labels: enough to take a training step. */
export function imageBuffers(n: number, side: number, classes: number, seed: number): PackedBuffer[] {
  const next = rng(seed);
  const x = new Float32Array(n * 3 * side * side).map(() => next() * 2 - 1);
  const y = new Int32Array(n).map(() => Math.floor(next() * classes));
  return [{ n, x: Buffer.from(x.buffer), y: Buffer.from(y.buffer) }];
}
