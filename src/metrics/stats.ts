// Small statistics for `bench compare`: Welch's t-test with the t distribution's CDF computed
// through the regularised incomplete beta function (no dependency).

export function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Sample variance (n - 1). */
export function variance(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
}

/** ln Gamma(x) for x > 0 (Lanczos, g = 7, n = 9). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the incomplete beta function (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** P(T > t) for Student's t with df degrees of freedom. */
export function studentTUpperTail(t: number, df: number): number {
  if (t === Infinity) return 0;
  if (t === -Infinity) return 1;
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? tail : 1 - tail;
}

export interface WelchResult {
  t: number;
  df: number;
  /** One-sided p-value for "mean of b is greater than mean of a". */
  pGreater: number;
}

/** Welch's unequal-variances t-test of b against a (one-sided: is b larger?). Needs >= 2 values per side. */
export function welchTTest(a: readonly number[], b: readonly number[]): WelchResult {
  if (a.length < 2 || b.length < 2) throw new RangeError('welchTTest needs at least 2 values on each side');
  const va = variance(a) / a.length;
  const vb = variance(b) / b.length;
  const diff = mean(b) - mean(a);
  const se = Math.sqrt(va + vb);
  if (se === 0) {
    // No noise at all: the difference is either certain or absent.
    return {
      t: diff === 0 ? 0 : diff > 0 ? Infinity : -Infinity,
      df: a.length + b.length - 2,
      pGreater: diff > 0 ? 0 : 1,
    };
  }
  const t = diff / se;
  const df = (va + vb) ** 2 / ((va * va) / (a.length - 1) + (vb * vb) / (b.length - 1));
  return { t, df, pGreater: studentTUpperTail(t, df) };
}

export interface Judgement {
  baselineMean: number;
  candidateMean: number;
  /** candidateMean / baselineMean (Infinity when the baseline took no time and the candidate did). */
  factor: number;
  /** One-sided Welch p-value in the direction of the factor (slower when factor >= 1); null without the test. */
  p: number | null;
  verdict: 'ok' | 'regression' | 'faster';
}

/**
 * Baseline against candidate timings: a regression needs the factor above maxSlowdown AND, when the
 * test is run, p < alpha (a noise test, not the factor alone); 'faster' mirrors it.
 */
export function judge(
  baseline: readonly number[],
  candidate: readonly number[],
  options: { maxSlowdown: number; alpha: number; test: boolean },
): Judgement {
  const baselineMean = mean(baseline);
  const candidateMean = mean(candidate);
  const factor = baselineMean > 0 ? candidateMean / baselineMean : candidateMean > 0 ? Infinity : 1;
  const p = options.test
    ? factor >= 1
      ? welchTTest(baseline, candidate).pGreater
      : welchTTest(candidate, baseline).pGreater
    : null;
  const significant = p === null || p < options.alpha;
  const verdict =
    factor > options.maxSlowdown && significant
      ? 'regression'
      : factor < 1 / options.maxSlowdown && significant
        ? 'faster'
        : 'ok';
  return { baselineMean, candidateMean, factor, p, verdict };
}

/** The q-quantile of Student's t with df degrees of freedom (0 < q < 1), by bisection on the CDF. */
export function studentTQuantile(q: number, df: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`studentTQuantile: q must lie in (0, 1), got ${q}`);
  if (q === 0.5) return 0;
  if (q < 0.5) return -studentTQuantile(1 - q, df);
  let lo = 0;
  let hi = 1;
  while (studentTUpperTail(hi, df) > 1 - q) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTUpperTail(mid, df) > 1 - q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** How a measurement spread over repeated runs. */
export interface Spread {
  n: number;
  mean: number;
  /**
   * Half-width of the 95% confidence interval of the mean (Student's t, n - 1 degrees of freedom):
   * the mean lies in mean ± ci95 with 95% confidence. null for a single value.
   */
  ci95: number | null;
  min: number;
  median: number;
  max: number;
}

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The spread of one or more values. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('spread needs at least one value');
  const n = values.length;
  const ci95 = n < 2 ? null : studentTQuantile(0.975, n - 1) * Math.sqrt(variance(values) / n);
  return { n, mean: mean(values), ci95, min: Math.min(...values), median: median(values), max: Math.max(...values) };
}

/** The spread of the values that are not null; null when all are. */
export function spreadOrNull(values: readonly (number | null)[]): Spread | null {
  const xs = values.filter((v): v is number => v !== null);
  return xs.length === 0 ? null : spread(xs);
}
