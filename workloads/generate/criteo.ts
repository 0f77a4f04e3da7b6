// A seeded, streaming, learnable generator of Criteo-schema rows.
//
// Schema (the public click-log format): label, 13 count-like integer features (some missing, one
// that may go negative), 26 categorical features as 8-hex-digit strings (Zipf-distributed over a
// per-feature vocabulary, some missing).
//
// Hidden teacher: a sparse random linear function of exactly the features a model sees (the
// bucketised integers and the hashed categories of workloads/featurize.ts at the dataset's
// intBuckets/hashBuckets). The teacher says "click" for the top ~25% of scores (a threshold
// calibrated on a fixed sample), and each label is flipped with probability labelNoise. So the
// Bayes accuracy is 1 - labelNoise and a logistic regression can, in principle, reach it.
//
// Row i of a split depends only on (seed, split, i): rows can be produced in any order, in
// parallel, and millions of them stream without being held.
import type { CriteoSpec } from '../../src/core/workload.js';
import {
  CRITEO_CAT_FEATURES,
  CRITEO_INT_FEATURES,
  type CriteoRow,
  catBucket,
  intBoundaries,
  intBucket,
} from '../featurize.js';
import { Rng, hash32, hashString } from '../random.js';

export type Split = 'train' | 'valid';

const STREAM = { train: 1, valid: 2, calibrate: 3 } as const;
/** Bump when the rows a seed gives change (it is part of the dataset spec hash). */
export const CRITEO_GENERATOR_VERSION = 1;
/** Fraction of positive (click) labels the teacher aims at before label noise. */
export const CRITEO_POSITIVE_RATE = 0.25;

interface IntFeature {
  missing: number;
  mu: number;
  sigma: number;
  offset: number;
}

interface CatFeature {
  missing: number;
  /** Cumulative Zipf probabilities over the vocabulary. */
  cdf: Float64Array;
  /** Seed of the feature's vocabulary: token k is hex8(hash32(vocabSeed, k)). */
  vocabSeed: number;
  /** Tokens made so far (lazily: most of a long Zipf tail is never drawn in small datasets). */
  tokens: (string | undefined)[];
}

function hex8(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

export class CriteoGenerator {
  private readonly ints: IntFeature[] = [];
  private readonly cats: CatFeature[] = [];
  private readonly wInt: Float64Array[] = [];
  private readonly wCat: Float64Array[] = [];
  private readonly boundaries: number[];
  readonly threshold: number;

  constructor(
    readonly spec: CriteoSpec,
    readonly seed: number,
  ) {
    const base = hash32(seed, hashString('criteo'), CRITEO_GENERATOR_VERSION);
    const rng = new Rng(base, 0);
    this.boundaries = intBoundaries(spec.intBuckets);
    for (let f = 0; f < CRITEO_INT_FEATURES; f++) {
      this.ints.push({
        missing: rng.float() < 0.3 ? rng.range(0.2, 0.45) : rng.range(0, 0.05),
        mu: rng.range(0, 3.5),
        sigma: rng.range(0.6, 1.8),
        // The second feature of the public data goes down to -3; keep one like it.
        offset: f === 1 ? 3 : 0,
      });
    }
    for (let f = 0; f < CRITEO_CAT_FEATURES; f++) {
      const vocab = Math.max(3, Math.round(Math.exp(rng.range(Math.log(3), Math.log(20000)))));
      const exponent = rng.range(0.9, 1.3);
      const cdf = new Float64Array(vocab);
      let total = 0;
      for (let k = 0; k < vocab; k++) {
        total += 1 / (k + 1) ** exponent;
        cdf[k] = total;
      }
      for (let k = 0; k < vocab; k++) cdf[k] /= total;
      this.cats.push({
        missing: rng.float() < 0.25 ? rng.range(0.1, 0.45) : 0,
        cdf,
        vocabSeed: hash32(base, 0xca7, f),
        tokens: new Array(vocab),
      });
    }
    // The teacher: a sparse random linear function of the one-hot features.
    const teacher = new Rng(base, 1);
    const informativeInts = new Set(teacher.shuffle([...Array(CRITEO_INT_FEATURES).keys()]).slice(0, 7));
    const informativeCats = new Set(teacher.shuffle([...Array(CRITEO_CAT_FEATURES).keys()]).slice(0, 12));
    for (let f = 0; f < CRITEO_INT_FEATURES; f++) {
      const w = new Float64Array(spec.intBuckets);
      if (informativeInts.has(f)) for (let b = 0; b < w.length; b++) w[b] = teacher.normal();
      this.wInt.push(w);
    }
    for (let f = 0; f < CRITEO_CAT_FEATURES; f++) {
      const w = new Float64Array(spec.hashBuckets);
      if (informativeCats.has(f)) for (let b = 0; b < w.length; b++) w[b] = teacher.normal();
      this.wCat.push(w);
    }
    // Threshold: the (1 - positive rate) quantile of the teacher's scores on a fixed sample.
    const scores: number[] = [];
    for (let i = 0; i < 4000; i++) scores.push(this.score(this.features(hash32(base, STREAM.calibrate, i))));
    scores.sort((a, b) => a - b);
    this.threshold = scores[Math.floor((1 - CRITEO_POSITIVE_RATE) * scores.length)];
  }

  private features(rowSeed: number): { rng: Rng; ints: (number | null)[]; cats: string[] } {
    const rng = new Rng(rowSeed);
    const ints: (number | null)[] = [];
    for (const f of this.ints) {
      if (rng.float() < f.missing) {
        ints.push(null);
        continue;
      }
      const v = Math.floor(Math.exp(f.mu + f.sigma * rng.normal())) - 1 - f.offset;
      ints.push(v);
    }
    const cats: string[] = [];
    for (const f of this.cats) {
      if (rng.float() < f.missing) {
        cats.push('');
        continue;
      }
      const u = rng.float();
      let lo = 0;
      let hi = f.cdf.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (f.cdf[mid] < u) lo = mid + 1;
        else hi = mid;
      }
      const token = f.tokens[lo] ?? hex8(hash32(f.vocabSeed, lo));
      f.tokens[lo] = token;
      cats.push(token);
    }
    return { rng, ints, cats };
  }

  /** The teacher's score of a row (its label, before noise, is score > threshold). */
  score(row: Pick<CriteoRow, 'ints' | 'cats'>): number {
    let s = 0;
    for (let f = 0; f < CRITEO_INT_FEATURES; f++)
      s += this.wInt[f][intBucket(row.ints[f], this.spec.intBuckets, this.boundaries)];
    for (let f = 0; f < CRITEO_CAT_FEATURES; f++) s += this.wCat[f][catBucket(row.cats[f], this.spec.hashBuckets)];
    return s;
  }

  /** The teacher's answer (no noise). */
  teacher(row: Pick<CriteoRow, 'ints' | 'cats'>): number {
    return this.score(row) > this.threshold ? 1 : 0;
  }

  rowCount(split: Split): number {
    return split === 'train' ? this.spec.trainRows : this.spec.validRows;
  }

  /** Row i of a split. */
  row(split: Split, i: number): CriteoRow {
    const { rng, ints, cats } = this.features(
      hash32(this.seed, hashString('criteo-row'), CRITEO_GENERATOR_VERSION, STREAM[split], i),
    );
    let label = this.teacher({ ints, cats });
    if (rng.float() < this.spec.labelNoise) label = 1 - label;
    return { label, ints, cats };
  }

  /** Rows [start, end) of a split, one at a time. */
  *rows(split: Split, start = 0, end = this.rowCount(split)): Generator<CriteoRow> {
    for (let i = start; i < end; i++) yield this.row(split, i);
  }
}
