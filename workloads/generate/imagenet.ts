// A seeded, streaming, learnable generator of ImageNet-schema rows: size x size x 3 uint8 images
// (channels last, as decoded files come) with a class label.
//
// Hidden teacher: every class has a prototype image made of a base colour, a few coloured 2-D
// sinusoids (random orientation and frequency) and a coloured Gaussian blob. An image of class c is
// its prototype under a random contrast and brightness change plus per-pixel noise; with
// probability labelNoise its label is replaced by another class. A small CNN (or even a
// nearest-class-mean classifier) separates the classes after one or two epochs.
//
// Row i of a split depends only on (seed, split, i).
import type { ImagenetSpec } from '../../src/core/workload.js';
import type { ImageRow } from '../featurize.js';
import { Rng, hash32, hashString } from '../random.js';
import type { Split } from './criteo.js';

const STREAM = { train: 1, valid: 2 } as const;
/** Bump when the rows a seed gives change (it is part of the dataset spec hash). */
export const IMAGENET_GENERATOR_VERSION = 1;

export class ImagenetGenerator {
  private readonly base: number;
  private readonly prototypes = new Map<number, Float32Array>();
  private readonly maxCached: number;

  constructor(
    readonly spec: ImagenetSpec,
    readonly seed: number,
  ) {
    this.base = hash32(seed, hashString('imagenet'), IMAGENET_GENERATOR_VERSION);
    // Keep at most ~256 MB of prototypes.
    this.maxCached = Math.max(16, Math.floor((256 << 20) / (spec.imageSize * spec.imageSize * 3 * 4)));
  }

  /** The prototype of a class: size x size x 3 floats in [0, 1], channels last. */
  prototype(cls: number): Float32Array {
    const cached = this.prototypes.get(cls);
    if (cached) return cached;
    const size = this.spec.imageSize;
    const rng = new Rng(this.base, 0x9707, cls);
    const colour = [0, 1, 2].map(() => rng.range(0.2, 0.8));
    const waves = Array.from({ length: 3 }, () => {
      let fx = rng.int(4);
      const fy = rng.int(4);
      if (fx === 0 && fy === 0) fx = 1;
      return { fx, fy, phase: rng.range(0, 2 * Math.PI), amp: [0, 1, 2].map(() => rng.normal() * 0.18) };
    });
    const blob = {
      cx: rng.range(0.2, 0.8),
      cy: rng.range(0.2, 0.8),
      r: rng.range(0.12, 0.3),
      amp: [0, 1, 2].map(() => rng.normal() * 0.35),
    };
    const p = new Float32Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const u = (x + 0.5) / size;
        const v = (y + 0.5) / size;
        const d2 = ((u - blob.cx) ** 2 + (v - blob.cy) ** 2) / (blob.r * blob.r);
        const g = Math.exp(-0.5 * d2);
        for (let ch = 0; ch < 3; ch++) {
          let value = colour[ch] + blob.amp[ch] * g;
          for (const w of waves) value += w.amp[ch] * Math.sin(2 * Math.PI * (w.fx * u + w.fy * v) + w.phase);
          p[(y * size + x) * 3 + ch] = Math.min(1, Math.max(0, value));
        }
      }
    }
    if (this.prototypes.size >= this.maxCached) this.prototypes.delete(this.prototypes.keys().next().value as number);
    this.prototypes.set(cls, p);
    return p;
  }

  rowCount(split: Split): number {
    return split === 'train' ? this.spec.trainRows : this.spec.validRows;
  }

  /** The class the teacher gives row i (before label noise). */
  private teacherClass(rng: Rng): number {
    return rng.int(this.spec.classes);
  }

  row(split: Split, i: number): ImageRow {
    const rng = new Rng(this.base, hashString('imagenet-row'), STREAM[split], i);
    const cls = this.teacherClass(rng);
    const proto = this.prototype(cls);
    const contrast = rng.range(0.75, 1.15);
    const bright = [0, 1, 2].map(() => rng.normal() * 0.06);
    const noise = 0.22;
    const image = new Uint8Array(proto.length);
    for (let k = 0; k < proto.length; k++) {
      // Triangular noise in [-noise, noise): cheaper than a Gaussian, same role.
      const e = (rng.float() + rng.float() - 1) * noise;
      const value = (proto[k] - 0.5) * contrast + 0.5 + bright[k % 3] + e;
      image[k] = value <= 0 ? 0 : value >= 1 ? 255 : Math.round(value * 255);
    }
    let label = cls;
    if (this.spec.classes > 1 && rng.float() < this.spec.labelNoise)
      label = (cls + 1 + rng.int(this.spec.classes - 1)) % this.spec.classes;
    return { label, image };
  }

  *rows(split: Split, start = 0, end = this.rowCount(split)): Generator<ImageRow> {
    for (let i = start; i < end; i++) yield this.row(split, i);
  }
}
