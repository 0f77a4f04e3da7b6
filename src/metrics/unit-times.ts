// Measured per-sub-epoch runtimes of a run's units, and from them the parameters of the paper's
// two-mode model (section 4.1, Proposition 1): l_s, l_m and p. Pure: events and configs in,
// numbers out; nothing here reads a clock or a file.
//
// Definitions:
// - A unit is one (config, segment, epoch) sub-epoch. Its spans are the spans that carry all three
//   tags, whose kind is in `kinds` (default UNIT_KINDS: train, data, model-hop) and, when the unit
//   has 'unit' (completion) events, that start no later than its last completion (`at`).
//   Left out by default, and why:
//   - 'valid': both udaf and ctq validate each config once per epoch, outside the MOP schedule, on
//     the segment that holds the model, so validation spans carry a unit's key without being part
//     of that sub-epoch. The validation aggregate also reports 'data' spans (reading the buffers),
//     which the completion cut-off drops: validation of an epoch starts after its units completed.
//     (The cut-off compares engine span times with the harness's clock: one machine, one clock.)
//   - 'engine-init': importing the engine is paid once per backend and lands on whichever unit
//     comes first there; it is no per-sub-epoch cost of that config (pass `kinds` to count it).
//   - Coordinator work without a segment or config (udaf's hop statement, schedule, idle).
// - wallMs: from the earliest start to the latest end of the unit's spans: the time the segment
//   was occupied by the unit as far as the engine sees it (buffers read, trained, checkpoint saved);
//   what happens before the first span and after the last (query dispatch and planning, the
//   result's trip back, waiting at a barrier) is not in it.
// - busyMs: the length of the union of the unit's spans (overlaps count once): wall time less the
//   gaps between spans.
// - A unit trained more than once (a retry, a resume) keeps the spans of every attempt: both
//   measures then cover all attempts; `attempts` counts its 'unit' events.
// - Per config: the mean of its units' measure (`measure`, default 'wall').
// - Fast and slow: a config's `repeat` (passes per mini-batch; 1 when absent) as run.json lists
//   it. Fast configs are those with the smallest repeat in the run, slow ones all others (the
//   `hetero` workload has repeat 1 and 8). l_s / l_m: the mean over fast / slow configs of the
//   per-config means (each config weighs the same, as l_x is one value per config). p: fast
//   configs over all configs that have at least one measured unit.
import type { RunEvent, Span, SpanKind } from '../core/events.js';
import { mean } from './stats.js';

/** Span kinds counted as a unit's own time by default. */
export const UNIT_KINDS: readonly SpanKind[] = ['train', 'data', 'model-hop'];

export type UnitMeasure = 'busy' | 'wall';

export interface UnitTimesOptions {
  /** Span kinds that make up a unit's time (default UNIT_KINDS). */
  kinds?: readonly SpanKind[];
}

export interface UnitTime {
  config: number;
  segment: number;
  epoch: number;
  /** Union length of the unit's spans, ms. */
  busyMs: number;
  /** Earliest start to latest end of the unit's spans, ms. */
  wallMs: number;
  start: number;
  end: number;
  spans: number;
  /** 'unit' events for this key (0: spans but no completion recorded). */
  attempts: number;
}

function key(config: number, segment: number, epoch: number): string {
  return `${config}/${segment}/${epoch}`;
}

/** Length of the union of intervals. */
export function unionLength(intervals: readonly { start: number; end: number }[]): number {
  const sorted = intervals.filter((i) => i.end > i.start).sort((a, b) => a.start - b.start);
  let total = 0;
  let curStart = Number.NEGATIVE_INFINITY;
  let curEnd = Number.NEGATIVE_INFINITY;
  for (const i of sorted) {
    if (i.start > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = i.start;
      curEnd = i.end;
    } else if (i.end > curEnd) curEnd = i.end;
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}

/** One entry per (config, segment, epoch) that has spans of the chosen kinds, sorted by epoch, config, segment. */
export function unitTimes(events: readonly RunEvent[], options: UnitTimesOptions = {}): UnitTime[] {
  const kinds = new Set(options.kinds ?? UNIT_KINDS);
  const spansOf = new Map<string, Span[]>();
  const attempts = new Map<string, number>();
  const lastDone = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'unit') {
      const k = key(e.config, e.segment, e.epoch);
      attempts.set(k, (attempts.get(k) ?? 0) + 1);
      lastDone.set(k, Math.max(lastDone.get(k) ?? Number.NEGATIVE_INFINITY, e.at));
      continue;
    }
    if (e.type !== 'span' || !kinds.has(e.kind)) continue;
    if (e.config === undefined || e.segment === undefined || e.epoch === undefined) continue;
    const k = key(e.config, e.segment, e.epoch);
    const list = spansOf.get(k);
    if (list) list.push(e);
    else spansOf.set(k, [e]);
  }
  const out: UnitTime[] = [];
  for (const [k, all] of spansOf) {
    const cutoff = lastDone.get(k);
    const spans = cutoff === undefined ? all : all.filter((s) => s.start <= cutoff);
    if (spans.length === 0) continue;
    const { config, segment, epoch } = spans[0] as Required<Span>;
    const start = Math.min(...spans.map((s) => s.start));
    const end = Math.max(...spans.map((s) => Math.max(s.start, s.end)));
    out.push({
      config,
      segment,
      epoch,
      busyMs: unionLength(spans),
      wallMs: end - start,
      start,
      end,
      spans: spans.length,
      attempts: attempts.get(key(config, segment, epoch)) ?? 0,
    });
  }
  return out.sort((a, b) => a.epoch - b.epoch || a.config - b.config || a.segment - b.segment);
}

/** What unit-times needs of a config (run.json's configs). */
export interface ConfigRepeat {
  id: number;
  repeat?: number;
  label?: string;
}

export interface ConfigTime {
  config: number;
  label?: string;
  repeat: number;
  kind: 'fast' | 'slow';
  units: number;
  /** Mean of the units' measure, ms. */
  meanMs: number;
  meanBusyMs: number;
  meanWallMs: number;
}

export interface HeteroParameters {
  measure: UnitMeasure;
  /** Mean sub-epoch time of the fast configs, ms (NaN when there is none). */
  ls: number;
  /** Mean sub-epoch time of the slow configs, ms (NaN when there is none). */
  lm: number;
  /** lm / ls (NaN when either is missing). */
  ratio: number;
  /** Observed share of fast configs among the measured ones. */
  p: number;
  fast: number;
  slow: number;
  configs: ConfigTime[];
}

/**
 * Per config, the mean sub-epoch time of its units, classified fast / slow by `repeat`. Configs
 * with no measured unit are left out. Units of a config missing from `configs` are an error.
 */
export function configTimes(
  units: readonly UnitTime[],
  configs: readonly ConfigRepeat[],
  measure: UnitMeasure = 'wall',
): ConfigTime[] {
  const byId = new Map(configs.map((c) => [c.id, c]));
  const minRepeat = Math.min(...configs.map((c) => c.repeat ?? 1));
  const grouped = new Map<number, UnitTime[]>();
  for (const u of units) {
    if (!byId.has(u.config))
      throw new Error(`unit-times: a unit names config ${u.config}, which the run's configs do not list`);
    const list = grouped.get(u.config);
    if (list) list.push(u);
    else grouped.set(u.config, [u]);
  }
  const out: ConfigTime[] = [];
  for (const config of configs) {
    const list = grouped.get(config.id);
    if (!list) continue;
    const repeat = config.repeat ?? 1;
    const meanBusyMs = mean(list.map((u) => u.busyMs));
    const meanWallMs = mean(list.map((u) => u.wallMs));
    out.push({
      config: config.id,
      ...(config.label !== undefined ? { label: config.label } : {}),
      repeat,
      kind: repeat === minRepeat ? 'fast' : 'slow',
      units: list.length,
      meanMs: measure === 'busy' ? meanBusyMs : meanWallMs,
      meanBusyMs,
      meanWallMs,
    });
  }
  return out.sort((a, b) => a.config - b.config);
}

/** l_s, l_m and p of the two-mode model from measured config times. */
export function heteroParametersOf(configs: readonly ConfigTime[], measure: UnitMeasure): HeteroParameters {
  const fast = configs.filter((c) => c.kind === 'fast');
  const slow = configs.filter((c) => c.kind === 'slow');
  const ls = mean(fast.map((c) => c.meanMs));
  const lm = mean(slow.map((c) => c.meanMs));
  return {
    measure,
    ls,
    lm,
    ratio: lm / ls,
    p: configs.length === 0 ? Number.NaN : fast.length / configs.length,
    fast: fast.length,
    slow: slow.length,
    configs: [...configs],
  };
}

/**
 * A run's measured l_s, l_m and p: its units (unitTimes), their per-config means (configTimes),
 * classified by the configs' repeat.
 */
export function heteroParameters(
  run: { events: readonly RunEvent[]; configs: readonly ConfigRepeat[] },
  options: UnitTimesOptions & { measure?: UnitMeasure } = {},
): HeteroParameters {
  const measure = options.measure ?? 'wall';
  return heteroParametersOf(configTimes(unitTimes(run.events, options), run.configs, measure), measure);
}

/**
 * How many units ran at once on average while any ran: the sum of the units' wall times over the
 * length of the union of their wall intervals (NaN without units). With W segments it is at most
 * W; a sync batch of W units that really runs on W segments at once gives close to W (less the
 * wait for the batch's slowest unit), one whose units run one after another (an aggregate that was
 * not pushed down to the segments) gives 1.
 */
export function unitConcurrency(units: readonly UnitTime[]): number {
  const covered = unionLength(units);
  if (units.length === 0 || !(covered > 0)) return Number.NaN;
  return units.reduce((s, u) => s + u.wallMs, 0) / covered;
}
