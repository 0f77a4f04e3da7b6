// Points of a search space: sampling (seeded, dimension by dimension in the space's order) and checks.
import type { SearchParam, SearchParams, SearchSpace } from '../core/search.js';
import type { Mulberry32 } from '../sched/random.js';

export function checkSpace(space: SearchSpace): void {
  const names = Object.keys(space);
  if (names.length === 0) throw new RangeError('search: the space has no dimensions');
  for (const [name, param] of Object.entries(space)) {
    if (param.kind === 'choice') continue;
    if (!(param.low <= param.high)) throw new RangeError(`search: ${name} has low ${param.low} > high ${param.high}`);
    if (param.log && !(param.low > 0))
      throw new RangeError(`search: ${name} is log-scaled, so low must be > 0 (got ${param.low})`);
  }
}

function sampleOne(param: SearchParam, random: Mulberry32): string | number {
  switch (param.kind) {
    case 'choice':
      return param.values[random.int(param.values.length)];
    case 'float': {
      const u = random.next();
      if (!param.log) return param.low + u * (param.high - param.low);
      const lo = Math.log(param.low);
      return Math.exp(lo + u * (Math.log(param.high) - lo));
    }
    case 'int': {
      // As Optuna does: a float over [low - 0.5, high + 0.5] (in log space where asked), rounded.
      const u = random.next();
      const lo = param.log ? Math.log(Math.max(param.low - 0.5, param.low / 2)) : param.low - 0.5;
      const hi = param.log ? Math.log(param.high + 0.5) : param.high + 0.5;
      const x = lo + u * (hi - lo);
      const value = Math.round(param.log ? Math.exp(x) : x);
      return Math.min(param.high, Math.max(param.low, value));
    }
  }
}

/** A uniformly random point (log-uniform where a dimension says `log`). */
export function samplePoint(space: SearchSpace, random: Mulberry32): SearchParams {
  const point: SearchParams = {};
  for (const [name, param] of Object.entries(space)) point[name] = sampleOne(param, random);
  return point;
}

/** Whether `point` lies in `space`: every dimension present, of its kind and within its range. */
export function inSpace(space: SearchSpace, point: SearchParams): boolean {
  return Object.entries(space).every(([name, param]) => {
    const value = point[name];
    if (param.kind === 'choice') return param.values.includes(value);
    if (typeof value !== 'number' || value < param.low || value > param.high) return false;
    return param.kind === 'float' || Number.isInteger(value);
  });
}

export function samePoint(a: SearchParams, b: SearchParams): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.is(a[k], b[k]));
}
