// The generators: deterministic from the seed, in the real schema, and learnable (a plain
// TypeScript model fitted on generated rows clearly beats chance on held-out rows).
import { describe, expect, it } from 'vitest';
import type { CriteoSpec, ImagenetSpec } from '../../src/core/workload.js';
import { CRITEO_SPECS, IMAGENET_SPECS } from '../../workloads/presets.js';
import { CriteoGenerator } from '../../workloads/generate/criteo.js';
import { ImagenetGenerator } from '../../workloads/generate/imagenet.js';
import { criteoActiveIndices, criteoDimension, featurizeImage, intBoundaries } from '../../workloads/featurize.js';
import { Permutation, SegmentAssigner } from '../../workloads/random.js';

describe('seeded shuffles', () => {
  it('Permutation is a bijection of [0, n), differs by seed, and is deterministic', () => {
    for (const n of [1, 2, 3, 17, 1000, 4097]) {
      const p = new Permutation(n, 5);
      const seen = new Set<number>();
      for (let i = 0; i < n; i++) seen.add(p.at(i));
      expect(seen.size).toBe(n);
      expect(Math.min(...seen)).toBe(0);
      expect(Math.max(...seen)).toBe(n - 1);
    }
    const a = Array.from({ length: 100 }, (_, i) => new Permutation(100, 1).at(i));
    const b = Array.from({ length: 100 }, (_, i) => new Permutation(100, 2).at(i));
    expect(a).not.toEqual(b);
    expect(a).toEqual(Array.from({ length: 100 }, (_, i) => new Permutation(100, 1).at(i)));
  });

  it('SegmentAssigner balances rows over segments', () => {
    for (const [n, s] of [
      [2048, 2],
      [1001, 4],
      [7, 3],
    ]) {
      const a = new SegmentAssigner(n, s, 9);
      const counts = new Array(s).fill(0);
      for (let i = 0; i < n; i++) counts[a.segmentOf(i)]++;
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });
});

describe('Criteo generator', () => {
  const spec = CRITEO_SPECS.tiny;

  it('gives the same rows for the same seed, other rows for another seed, in any order', () => {
    const a = new CriteoGenerator(spec, 1);
    const b = new CriteoGenerator(spec, 1);
    const c = new CriteoGenerator(spec, 2);
    const rowsA = [...a.rows('train', 0, 50)];
    expect([...b.rows('train', 0, 50)]).toEqual(rowsA);
    expect([...c.rows('train', 0, 50)]).not.toEqual(rowsA);
    expect(b.row('train', 37)).toEqual(rowsA[37]);
    expect(a.row('valid', 3)).not.toEqual(a.row('train', 3));
  });

  it(
    'makes rows in the public schema: label, 13 count-like ints with some missing, ' + '26 hex strings with some empty',
    () => {
      const rows = [...new CriteoGenerator(spec, 3).rows('train', 0, 2000)];
      let missingInts = 0;
      let emptyCats = 0;
      let negative = 0;
      for (const r of rows) {
        expect([0, 1]).toContain(r.label);
        expect(r.ints).toHaveLength(13);
        expect(r.cats).toHaveLength(26);
        for (const v of r.ints) {
          if (v === null) missingInts++;
          else {
            expect(Number.isInteger(v)).toBe(true);
            if (v < 0) negative++;
          }
        }
        for (const s of r.cats) {
          if (s === '') emptyCats++;
          else expect(s).toMatch(/^[0-9a-f]{8}$/);
        }
      }
      expect(missingInts).toBeGreaterThan(0);
      expect(emptyCats).toBeGreaterThan(0);
      expect(negative).toBeGreaterThan(0);
      const positives = rows.filter((r) => r.label === 1).length / rows.length;
      expect(positives).toBeGreaterThan(0.15);
      expect(positives).toBeLessThan(0.4);
      // Categories repeat (Zipf over a vocabulary), as real click logs do.
      expect(new Set(rows.map((r) => r.cats[0])).size).toBeLessThan(rows.length / 2);
    },
  );

  it('is learnable: logistic regression on the featurised rows clearly beats the majority class', () => {
    const learn: CriteoSpec = { ...spec, trainRows: 6000, validRows: 2000 };
    const gen = new CriteoGenerator(learn, 11);
    const boundaries = intBoundaries(learn.intBuckets);
    const encode = (split: 'train' | 'valid') =>
      [...gen.rows(split)].map((r) => ({ idx: criteoActiveIndices(r, learn, boundaries), y: r.label }));
    const train = encode('train');
    const valid = encode('valid');
    const w = new Float64Array(criteoDimension(learn));
    let bias = 0;
    const lr = 0.05;
    for (let epoch = 0; epoch < 5; epoch++) {
      for (const { idx, y } of train) {
        let z = bias;
        for (const i of idx) z += w[i];
        const g = 1 / (1 + Math.exp(-z)) - y;
        bias -= lr * g;
        for (const i of idx) w[i] -= lr * g;
      }
    }
    let correct = 0;
    let logLoss = 0;
    for (const { idx, y } of valid) {
      let z = bias;
      for (const i of idx) z += w[i];
      const p = Math.min(1 - 1e-7, Math.max(1e-7, 1 / (1 + Math.exp(-z))));
      if ((p > 0.5 ? 1 : 0) === y) correct++;
      logLoss -= y ? Math.log(p) : Math.log(1 - p);
    }
    const accuracy = correct / valid.length;
    const prior = valid.filter((v) => v.y === 1).length / valid.length;
    const majority = Math.max(prior, 1 - prior);
    const priorLoss = -(prior * Math.log(prior) + (1 - prior) * Math.log(1 - prior));
    expect(accuracy).toBeGreaterThan(majority + 0.08);
    expect(logLoss / valid.length).toBeLessThan(priorLoss * 0.8);
  });
});

describe('ImageNet generator', () => {
  const spec = IMAGENET_SPECS.tiny;

  it('is deterministic from the seed and gives size x size x 3 uint8 images', () => {
    const a = new ImagenetGenerator(spec, 1);
    const b = new ImagenetGenerator(spec, 1);
    const r = a.row('train', 5);
    expect(r.image).toBeInstanceOf(Uint8Array);
    expect(r.image.length).toBe(16 * 16 * 3);
    expect(b.row('train', 5)).toEqual(r);
    expect(new ImagenetGenerator(spec, 2).row('train', 5)).not.toEqual(r);
    expect(r.label).toBeGreaterThanOrEqual(0);
    expect(r.label).toBeLessThan(spec.classes);
  });

  it('is learnable: a nearest-class-mean classifier is far above chance', () => {
    const learn: ImagenetSpec = { ...IMAGENET_SPECS.small, trainRows: 1500, validRows: 500 };
    const gen = new ImagenetGenerator(learn, 4);
    const dim = 3 * learn.imageSize * learn.imageSize;
    const sums = Array.from({ length: learn.classes }, () => new Float64Array(dim));
    const counts = new Array(learn.classes).fill(0);
    for (const r of gen.rows('train')) {
      const x = featurizeImage(r.image, learn.imageSize);
      counts[r.label]++;
      for (let i = 0; i < dim; i++) sums[r.label][i] += x[i];
    }
    const means = sums.map((s, c) => s.map((v) => v / Math.max(1, counts[c])));
    let correct = 0;
    for (const r of gen.rows('valid')) {
      const x = featurizeImage(r.image, learn.imageSize);
      let best = -1;
      let bestD = Infinity;
      means.forEach((m, c) => {
        let d = 0;
        for (let i = 0; i < dim; i++) d += (x[i] - m[i]) ** 2;
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      });
      if (best === r.label) correct++;
    }
    const accuracy = correct / learn.validRows;
    expect(accuracy).toBeGreaterThan(0.6); // chance is 0.1
  });
});
