// The one place where a run's summary numbers are computed (docs/architecture.md, "Measurement"). Pure: the same
// events, samples and inputs always give the same Summary; nothing here reads a clock or a file.
//
// Definitions (each is what the reports and `bench compare` mean by the name):
// - etlSeconds / executionSeconds: the sum of the harness's 'phase' intervals (start..end) of
//   that phase. A start without an end (an attempt that stopped) is closed at the last time
//   the events know of before the next attempt (or at all), so an incomplete or resumed run
//   reports the time it did spend and not the time it lay dead.
// - epochSeconds[i]: for the i-th epoch number that spans carry (ascending), the window from
//   the earliest start to the latest end of the spans tagged with that epoch, clipped to the
//   execution phases (the pause between an interrupted attempt and its resume does not count).
//   Under an async scheduler the windows of successive epochs can overlap; each window is still
//   that epoch's wall time.
// - breakdown[i]: machine seconds per segment in window i, averaged over the segments, by
//   component (COMPONENT_OF_KIND). For each segment the spans of that segment (any epoch tag)
//   plus the spans without a segment (coordinator work that every worker waits on) are
//   clipped to the window and swept; where spans overlap, the instant goes to the kind with
//   the highest priority (KIND_PRIORITY); instants no span covers are idle. So the four
//   components of every epoch sum to that epoch's window, by construction.
// - metrics: the 'epoch' events, the last one per (config, epoch) winning.
// - transportBytes: the bytes of the 'counter' events, summed per transport (exact counts).
// - unitsCompleted: distinct (config, segment, epoch) of the 'unit' events. unitsRetried:
//   'unit' events beyond the first for the same (config, segment, epoch), i.e. sub-epochs
//   that were finished more than once (run again after a failure or a resume whose record of
//   them was lost). A failed attempt that never finished leaves no 'unit' event and is not
//   counted here.
// - resources: the samples taken inside the execution phase (all samples when the events
//   have no execution phase); null when there are none. cpuPctMean and memUsedPctMean are
//   system-wide means; treeRssBytesMax the largest RSS of the run's process tree; netBytes
//   the growth of system rx + tx bytes over the window (loopback included, so a byte sent
//   over loopback counts once as tx and once as rx); diskRead/WriteBytes the growth of the
//   process tree's storage I/O over the window (see counterGrowth).
//   GPU means are null when no sample had a GPU.
import { COMPONENT_OF_KIND, type BreakdownComponent, type RunEvent, type Span, type SpanKind } from '../core/events.js';
import { FORMAT_VERSION, type Breakdown, type RunInfo, type Sample, type Summary } from '../core/records.js';

export interface SummarizeInput {
  info: RunInfo;
  events: RunEvent[];
  samples: Sample[];
  status: 'complete' | 'incomplete';
  storage: { sourceBytes: number; extraBytes: number };
  finishedAt: string | null;
}

/** Where spans of one segment overlap, the instant belongs to the first kind in this list. */
export const KIND_PRIORITY: readonly SpanKind[] = [
  'train',
  'valid',
  'engine-init',
  'data',
  'model-hop',
  'average',
  'schedule',
  'idle',
];

const PRIORITY_OF: Record<SpanKind, number> = Object.fromEntries(
  KIND_PRIORITY.map((kind, index) => [kind, index]),
) as Record<SpanKind, number>;

export interface Interval {
  start: number;
  end: number;
}

export function summarize(input: SummarizeInput): Summary {
  const { info, events, samples, status, storage, finishedAt } = input;
  const spans = events.filter((e): e is Span => e.type === 'span');
  const lastAt = lastEventTime(events);

  const etl = phaseIntervals(events, 'etl', lastAt);
  const execution = phaseIntervals(events, 'execution', lastAt);

  const windows = epochWindows(spans).map((w) => clipToPhases(w, execution));
  const segmentIds = segmentsOf(info, spans);
  const epochSeconds = windows.map((pieces) => seconds(totalLength(pieces)));
  const bySegment = spansBySegment(spans);
  const breakdown = windows.map((pieces) => addBreakdowns(pieces.map((piece) => epochBreakdown(bySegment, piece, segmentIds))));

  return {
    formatVersion: FORMAT_VERSION,
    runId: info.runId,
    status,
    finishedAt,
    etlSeconds: seconds(totalLength(etl)),
    executionSeconds: seconds(totalLength(execution)),
    epochSeconds,
    breakdown,
    metrics: epochMetrics(events),
    transportBytes: transportBytes(events),
    storage: {
      sourceBytes: storage.sourceBytes,
      extraBytes: storage.extraBytes,
      blowup: storage.sourceBytes > 0 ? (storage.sourceBytes + storage.extraBytes) / storage.sourceBytes : 1,
    },
    ...units(events),
    resources: resources(samples, execution),
  };
}

function seconds(ms: number): number {
  return ms / 1000;
}

/** The latest time any event mentions (a span's end, an event's `at`); 0 without events. */
export function lastEventTime(events: readonly RunEvent[]): number {
  let last = 0;
  for (const e of events) {
    const t = e.type === 'span' ? e.end : e.at;
    if (Number.isFinite(t) && t > last) last = t;
  }
  return last;
}

/**
 * The intervals of one phase: each start is paired with the next end. A start that is still
 * open when the next phase start of any phase comes (an attempt that died; `--resume` begins again
 * with ETL) is closed at the last measurement (span, unit, epoch, counter; not a log line) before
 * that start; a start left open at the end is closed at `openUntil`. An end without a start is
 * ignored.
 */
export function phaseIntervals(events: readonly RunEvent[], phase: 'etl' | 'execution', openUntil: number): Interval[] {
  const marks = events
    .filter((e): e is Extract<RunEvent, { type: 'phase' }> => e.type === 'phase')
    .map((e, order) => ({ e, order }))
    .sort((a, b) => a.e.at - b.e.at || a.order - b.order)
    .map(({ e }) => e);
  // Needed only for an attempt that died: one pass over the events, no sort of a million times.
  const lastBefore = (limit: number, floor: number): number => {
    let best = floor;
    for (const e of events) {
      if (e.type === 'log' || e.type === 'phase') continue;
      const t = e.type === 'span' ? e.end : e.at;
      if (Number.isFinite(t) && t < limit && t > best) best = t;
    }
    return best;
  };
  const out: Interval[] = [];
  let open: number | null = null;
  for (const mark of marks) {
    if (mark.edge === 'start') {
      if (open !== null) {
        out.push({ start: open, end: lastBefore(mark.at, open) });
        open = null;
      }
      if (mark.phase === phase) open = mark.at;
    } else if (mark.phase === phase && open !== null) {
      out.push({ start: open, end: Math.max(open, mark.at) });
      open = null;
    }
  }
  if (open !== null) out.push({ start: open, end: Math.max(open, openUntil) });
  return out;
}

function totalLength(intervals: readonly Interval[]): number {
  return intervals.reduce((sum, i) => sum + (i.end - i.start), 0);
}

export interface EpochWindow extends Interval {
  epoch: number;
}

/** One window per epoch number carried by spans, ascending by epoch. */
export function epochWindows(spans: readonly Span[]): EpochWindow[] {
  const byEpoch = new Map<number, EpochWindow>();
  for (const s of spans) {
    if (s.epoch === undefined) continue;
    const w = byEpoch.get(s.epoch);
    if (w === undefined) byEpoch.set(s.epoch, { epoch: s.epoch, start: s.start, end: Math.max(s.start, s.end) });
    else {
      w.start = Math.min(w.start, s.start);
      w.end = Math.max(w.end, s.end);
    }
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

/**
 * The parts of an epoch window that lie inside execution phases: an epoch an interrupted attempt
 * began and `--resume` finished is the time both attempts spent on it, not the pause between them.
 * A window outside every phase (events without phase marks) is kept whole.
 */
export function clipToPhases(window: Interval, phases: readonly Interval[]): Interval[] {
  const pieces = phases
    .map((p) => ({ start: Math.max(window.start, p.start), end: Math.min(window.end, p.end) }))
    .filter((p) => p.end > p.start);
  return pieces.length > 0 ? pieces : [{ start: window.start, end: window.end }];
}

function addBreakdowns(parts: readonly Breakdown[]): Breakdown {
  const total = emptyBreakdown();
  for (const part of parts) {
    total.trainValid += part.trainValid;
    total.dataTransmission += part.dataTransmission;
    total.modelTransmission += part.modelTransmission;
    total.approachSpecific += part.approachSpecific;
  }
  return total;
}

/** The run's segments 0..segments-1, plus any other segment number a span names. */
function segmentsOf(info: RunInfo, spans: readonly Span[]): number[] {
  const ids = new Set<number>();
  for (let i = 0; i < info.segments; i++) ids.add(i);
  for (const s of spans) if (s.segment !== undefined) ids.add(s.segment);
  return [...ids].sort((a, b) => a - b);
}

function emptyBreakdown(): Breakdown {
  return { trainValid: 0, dataTransmission: 0, modelTransmission: 0, approachSpecific: 0 };
}

/** Milliseconds of `window` spent on each kind by one worker, given the spans that apply to it. */
export function sweepKinds(spans: readonly Span[], window: Interval): Record<SpanKind, number> {
  const out = Object.fromEntries(KIND_PRIORITY.map((k) => [k, 0])) as Record<SpanKind, number>;
  type Edge = { t: number; delta: 1 | -1; priority: number };
  const edges: Edge[] = [];
  for (const s of spans) {
    const start = Math.max(s.start, window.start);
    const end = Math.min(s.end, window.end);
    if (!(end > start)) continue;
    const priority = PRIORITY_OF[s.kind];
    edges.push({ t: start, delta: 1, priority }, { t: end, delta: -1, priority });
  }
  edges.sort((a, b) => a.t - b.t);
  const active = new Array<number>(KIND_PRIORITY.length).fill(0);
  let cursor = window.start;
  const idle = PRIORITY_OF.idle;
  const credit = (until: number): void => {
    if (until <= cursor) return;
    const top = active.findIndex((n) => n > 0);
    out[KIND_PRIORITY[top === -1 ? idle : top]] += until - cursor;
    cursor = until;
  };
  for (const edge of edges) {
    credit(edge.t);
    active[edge.priority] += edge.delta;
  }
  credit(window.end);
  return out;
}

/** A run's spans by the segment they name; `shared` name none and apply to every segment. */
export interface SpansBySegment {
  shared: Span[];
  own: Map<number, Span[]>;
}

/** Grouped once per summary: a breakdown per segment then reads only that segment's spans. */
export function spansBySegment(spans: readonly Span[]): SpansBySegment {
  const index: SpansBySegment = { shared: [], own: new Map() };
  for (const span of spans) {
    if (span.segment === undefined) {
      index.shared.push(span);
      continue;
    }
    const list = index.own.get(span.segment);
    if (list) list.push(span);
    else index.own.set(span.segment, [span]);
  }
  return index;
}

/** Per-segment machine seconds of one epoch window by component, averaged over segments. */
export function epochBreakdown(spans: SpansBySegment, window: Interval, segmentIds: readonly number[]): Breakdown {
  const total = emptyBreakdown();
  if (segmentIds.length === 0) return total;
  for (const segment of segmentIds) {
    const byKind = sweepKinds((spans.own.get(segment) ?? []).concat(spans.shared), window);
    for (const kind of KIND_PRIORITY) {
      const component: BreakdownComponent = COMPONENT_OF_KIND[kind];
      total[component] += byKind[kind];
    }
  }
  const n = segmentIds.length;
  return {
    trainValid: seconds(total.trainValid / n),
    dataTransmission: seconds(total.dataTransmission / n),
    modelTransmission: seconds(total.modelTransmission / n),
    approachSpecific: seconds(total.approachSpecific / n),
  };
}

function epochMetrics(events: readonly RunEvent[]): Summary['metrics'] {
  const last = new Map<string, Summary['metrics'][number] & { at: number; order: number }>();
  events.forEach((e, order) => {
    if (e.type !== 'epoch') return;
    const key = `${e.config}/${e.epoch}`;
    const prev = last.get(key);
    // "Last" is by time; ties go to the later line of the file.
    if (prev !== undefined && prev.at > e.at) return;
    last.set(key, {
      config: e.config,
      epoch: e.epoch,
      trainLoss: e.trainLoss,
      validLoss: e.validLoss,
      validAccuracy: e.validAccuracy,
      at: e.at,
      order,
    });
  });
  return [...last.values()]
    .sort((a, b) => a.config - b.config || a.epoch - b.epoch)
    .map(({ config, epoch, trainLoss, validLoss, validAccuracy }) => ({
      config,
      epoch,
      trainLoss,
      validLoss,
      validAccuracy,
    }));
}

function transportBytes(events: readonly RunEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) {
    if (e.type !== 'counter') continue;
    out[e.transport] = (out[e.transport] ?? 0) + e.bytes;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

function units(events: readonly RunEvent[]): { unitsCompleted: number; unitsRetried: number } {
  let total = 0;
  const distinct = new Set<string>();
  for (const e of events) {
    if (e.type !== 'unit') continue;
    total++;
    distinct.add(`${e.config}/${e.segment}/${e.epoch}`);
  }
  return { unitsCompleted: distinct.size, unitsRetried: total - distinct.size };
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Samples taken inside any of the intervals; all samples when there are no intervals. */
function samplesWithin(samples: readonly Sample[], windows: readonly Interval[]): Sample[] {
  const sorted = [...samples].sort((a, b) => a.t - b.t);
  if (windows.length === 0) return sorted;
  return sorted.filter((s) => windows.some((w) => s.t >= w.start && s.t <= w.end));
}

/**
 * Growth of a cumulative counter over the windows (over all samples when there are none).
 * Between two consecutive samples the counter grew by b - a, or by b when it went down (a new
 * sampler started, e.g. a resumed run: its counters start from zero); that growth is spread
 * evenly over the interval and the part inside the windows counts. So ETL I/O just before the
 * execution window is not counted, and an interval straddling its edge counts in proportion.
 */
export function counterGrowth(samples: readonly Sample[], windows: readonly Interval[], read: (s: Sample) => number): number {
  const sorted = [...samples].sort((a, b) => a.t - b.t);
  if (sorted.length < 2) return 0;
  const ws = windows.length > 0 ? windows : [{ start: sorted[0].t, end: sorted[sorted.length - 1].t }];
  let total = 0;
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    const va = read(a);
    const vb = read(b);
    const delta = vb >= va ? vb - va : vb;
    if (delta === 0) continue;
    const length = b.t - a.t;
    let inside = 0;
    for (const w of ws) inside += Math.max(0, Math.min(b.t, w.end) - Math.max(a.t, w.start));
    const fraction = length > 0 ? Math.min(1, inside / length) : ws.some((w) => b.t >= w.start && b.t <= w.end) ? 1 : 0;
    total += delta * fraction;
  }
  return total;
}

function resources(samples: readonly Sample[], execution: readonly Interval[]): Summary['resources'] {
  const inside = samplesWithin(samples, execution);
  if (inside.length === 0) return null;
  const gpu = inside.flatMap((s) => (s.gpu === null ? [] : [s.gpu]));
  return {
    samples: inside.length,
    cpuPctMean: mean(inside.map((s) => s.system.cpuPct)),
    memUsedPctMean: mean(
      inside.map((s) => (s.system.memTotalBytes > 0 ? (100 * s.system.memUsedBytes) / s.system.memTotalBytes : 0)),
    ),
    treeRssBytesMax: Math.max(...inside.map((s) => s.tree.rssBytes)),
    netBytes: counterGrowth(samples, execution, (s) => s.system.netRxBytes + s.system.netTxBytes),
    diskReadBytes: counterGrowth(samples, execution, (s) => s.tree.readBytes),
    diskWriteBytes: counterGrowth(samples, execution, (s) => s.tree.writeBytes),
    gpuUtilPctMean: gpu.length > 0 ? mean(gpu.map((g) => g.utilPct)) : null,
    gpuMemPctMean:
      gpu.length > 0 ? mean(gpu.map((g) => (g.memTotalBytes > 0 ? (100 * g.memUsedBytes) / g.memTotalBytes : 0))) : null,
  };
}
