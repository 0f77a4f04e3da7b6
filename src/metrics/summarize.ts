// The one place where a run's summary numbers are computed (docs/measurement.md has the definitions,
// docs/architecture.md "Measurement" the data model). Pure: the same events, samples and inputs always
// give the same Summary; nothing here reads a clock or a file.
//
// Definitions (each is what the reports and `bench compare` mean by the name):
// - etlSeconds / startupSeconds / calibrationSeconds / executionSeconds: the sum of the harness's
//   'phase' intervals (start..end) of that phase (calibration, the raw loop of docs/ci.md, is
//   neither ETL nor execution). A start without an end (an attempt that stopped) is closed at the
//   last time the events know of before the next attempt (or at all), so an incomplete or resumed
//   run reports the time it did spend and not the time it lay dead.
// - epochSeconds[i]: for the i-th epoch number that spans carry (ascending), the window from
//   the earliest start to the latest end of the spans tagged with that epoch, clipped to the
//   execution phases (the pause between an interrupted attempt and its resume does not count).
//   Under an async scheduler the windows of successive epochs can overlap; each window is still
//   that epoch's wall time.
// - outsideEpochsSeconds: execution time inside no epoch window (before the first epoch's first
//   span, between epochs, after the last): time the breakdown cannot show, reported beside it.
// - breakdown[i]: machine seconds per segment in window i, averaged over the segments, by span
//   kind and by component (COMPONENT_OF_KIND). For each segment the spans of that segment (any
//   epoch tag) plus the spans without a segment (coordinator work that every worker waits on) are
//   clipped to the window and swept; where spans overlap, the instant goes to the kind with the
//   highest priority (KIND_PRIORITY); instants no span covers are "unattributed", a category of
//   their own. So the components and unattributed of every epoch sum to that epoch's window.
// - metrics: the 'epoch' events, the last one per (config, epoch) winning.
// - transportBytes: the bytes of the 'counter' events, summed per transport (exact counts).
//   bytes.byTransport splits them by the phase whose interval holds the counter's `at` (a counter
//   outside every interval belongs to the phase last started before it; with no phase marks at
//   all, to execution). bytes.execution sums the execution-phase bytes by the Table 6 column of
//   their transport (TRANSPORT_TABLE); bytes.etl and bytes.startup everything counted in ETL and
//   in start-up (any transport); calibration bytes are in byTransport only.
// - storage: the sizes the approach reported (training data only), and the blowup
//   (data + copies) / data, as stored and as logical bytes.
// - unitsCompleted: distinct (config, segment, epoch) of the 'unit' events. unitsRetried:
//   'unit' events beyond the first for the same (config, segment, epoch), i.e. sub-epochs
//   that were finished more than once (run again after a failure or a resume whose record of
//   them was lost). A failed attempt that never finished leaves no 'unit' event and is not
//   counted here.
// - resources: the samples taken inside the execution phase (all samples when the events
//   have no execution phase); null when there are none. cpuPctMean and memUsedPctMean are
//   system-wide means; runCpuPctMean and runMem* the run's own process groups (tree.memBytes:
//   private memory of every process plus each group's largest shared set; RSS for samples taken
//   before it was measured); groups the same per process group; treeRssBytesMax the largest
//   RSS sum of the run's process tree; netBytes the growth of system rx + tx bytes over the window
//   (loopback included, so a byte sent over loopback counts once as tx and once as rx) and
//   netTxBytes of tx alone; diskRead/WriteBytes the growth of the process tree's storage I/O over
//   the window (see counterGrowth). GPU means are null when no sample had a GPU.
import {
  BYTE_COLUMNS,
  COMPONENT_OF_KIND,
  PHASES,
  SPAN_KINDS,
  TRANSPORT_TABLE,
  type ByteColumn,
  type Phase,
  type RunEvent,
  type Span,
  type SpanKind,
} from '../core/events.js';
import {
  FORMAT_VERSION,
  MEASUREMENT_VERSION,
  type Breakdown,
  type DataBytes,
  type RunInfo,
  type Sample,
  type Storage,
  type Summary,
} from '../core/records.js';
import { mean } from './stats.js';

export interface SummarizeInput {
  info: RunInfo;
  events: RunEvent[];
  samples: Sample[];
  status: 'complete' | 'incomplete';
  /** The training data's sizes the approach reported; null when unknown. */
  storage: { data: DataBytes; copies: DataBytes } | null;
  finishedAt: string | null;
}

/**
 * Where spans of one segment overlap, the instant belongs to the first kind in this list. A model
 * read or written inside a statement (ctq's checkpoint, udaf's model row) lies inside the
 * statement's 'data' envelope, so model-hop must rank above data or Model Transmission reads 0.
 */
export const KIND_PRIORITY: readonly SpanKind[] = [
  'train',
  'valid',
  'engine-init',
  'model-hop',
  'data',
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

  const phases = allPhaseIntervals(events, lastAt);
  const { etl, startup, calibration, execution } = phases;

  const windows = epochWindows(spans).map((w) => clipToPhases(w, execution));
  const outsideEpochs = totalLength(subtractIntervals(execution, windows.flat()));
  const segmentIds = segmentsOf(info, spans);
  const epochSeconds = windows.map((pieces) => seconds(totalLength(pieces)));
  const bySegment = spansBySegment(spans);
  const breakdown = windows.map((pieces) =>
    addBreakdowns(pieces.map((piece) => epochBreakdown(bySegment, piece, segmentIds))),
  );

  return {
    formatVersion: FORMAT_VERSION,
    measurementVersion: MEASUREMENT_VERSION,
    runId: info.runId,
    status,
    finishedAt,
    etlSeconds: seconds(totalLength(etl)),
    startupSeconds: seconds(totalLength(startup)),
    calibrationSeconds: seconds(totalLength(calibration)),
    executionSeconds: seconds(totalLength(execution)),
    epochSeconds,
    outsideEpochsSeconds: seconds(outsideEpochs),
    breakdown,
    metrics: epochMetrics(events),
    transportBytes: transportBytes(events),
    bytes: bytesByColumn(events, phases),
    storage: storage === null ? null : storageOf(storage.data, storage.copies),
    ...units(events),
    resources: resources(samples, execution),
  };
}

/** (data + copies) / data, as stored and as logical bytes; 1 when the data has no size. */
export function storageOf(data: DataBytes, copies: DataBytes): Storage {
  const ratio = (a: number, b: number): number => (a > 0 ? (a + b) / a : 1);
  return {
    data: { ...data },
    copies: { ...copies },
    blowupStored: ratio(data.storedBytes, copies.storedBytes),
    blowupLogical: ratio(data.logicalBytes, copies.logicalBytes),
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
export function phaseIntervals(events: readonly RunEvent[], phase: Phase, openUntil: number): Interval[] {
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

/** The parts of `from` that none of `remove` covers. */
export function subtractIntervals(from: readonly Interval[], remove: readonly Interval[]): Interval[] {
  const cuts = [...remove].filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const piece of from) {
    let cursor = piece.start;
    for (const cut of cuts) {
      if (cut.end <= cursor || cut.start >= piece.end) continue;
      if (cut.start > cursor) out.push({ start: cursor, end: cut.start });
      cursor = Math.max(cursor, cut.end);
    }
    if (piece.end > cursor) out.push({ start: cursor, end: piece.end });
  }
  return out;
}

export type PhaseIntervals = Record<Phase, Interval[]>;

export function allPhaseIntervals(events: readonly RunEvent[], openUntil: number): PhaseIntervals {
  return Object.fromEntries(PHASES.map((p) => [p, phaseIntervals(events, p, openUntil)])) as PhaseIntervals;
}

/**
 * The phase a moment belongs to: the one whose interval holds it; else the one last started before
 * it (a counter emitted just after its phase closed); else the first phase to start; with no
 * phase intervals at all, execution (events written without phase marks).
 */
export function phaseAt(at: number, phases: PhaseIntervals): Phase {
  let latest: { phase: Phase; start: number } | null = null;
  let earliest: { phase: Phase; start: number } | null = null;
  for (const phase of PHASES) {
    for (const interval of phases[phase]) {
      if (at >= interval.start && at <= interval.end) return phase;
      const startedBefore = interval.start <= at && (latest === null || interval.start > latest.start);
      if (startedBefore) latest = { phase, start: interval.start };
      if (earliest === null || interval.start < earliest.start) earliest = { phase, start: interval.start };
    }
  }
  return latest?.phase ?? earliest?.phase ?? 'execution';
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

/** The sum of breakdowns, kind by kind. */
export function addBreakdowns(parts: readonly Breakdown[]): Breakdown {
  const total = emptyBreakdown();
  for (const part of parts) {
    for (const kind of SPAN_KINDS) total.kinds[kind] += part.kinds[kind];
    total.unattributed += part.unattributed;
  }
  return withComponents(total.kinds, total.unattributed);
}

/** The run's segments 0..segments-1, plus any other segment number a span names. */
function segmentsOf(info: RunInfo, spans: readonly Span[]): number[] {
  const ids = new Set<number>();
  for (let i = 0; i < info.segments; i++) ids.add(i);
  for (const s of spans) if (s.segment !== undefined) ids.add(s.segment);
  return [...ids].sort((a, b) => a - b);
}

function zeroKinds(): Record<SpanKind, number> {
  return Object.fromEntries(SPAN_KINDS.map((k) => [k, 0])) as Record<SpanKind, number>;
}

function emptyBreakdown(): Breakdown {
  return withComponents(zeroKinds(), 0);
}

/** A breakdown from seconds by kind: each component is the sum of its kinds. */
export function withComponents(kinds: Record<SpanKind, number>, unattributed: number): Breakdown {
  const b: Breakdown = {
    trainValid: 0,
    dataTransmission: 0,
    modelTransmission: 0,
    approachSpecific: 0,
    unattributed,
    kinds: { ...kinds },
  };
  for (const kind of SPAN_KINDS) b[COMPONENT_OF_KIND[kind]] += kinds[kind];
  return b;
}

/** Milliseconds of a window by kind, and the milliseconds no span covers. */
export type KindSweep = Record<SpanKind | 'unattributed', number>;

/** Milliseconds of `window` spent on each kind by one worker, given the spans that apply to it. */
export function sweepKinds(spans: readonly Span[], window: Interval): KindSweep {
  const out: KindSweep = { ...zeroKinds(), unattributed: 0 };
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
  const credit = (until: number): void => {
    if (until <= cursor) return;
    const top = active.findIndex((n) => n > 0);
    out[top === -1 ? 'unattributed' : KIND_PRIORITY[top]] += until - cursor;
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

/** Per-segment machine seconds of one epoch window by kind and component, averaged over segments. */
export function epochBreakdown(spans: SpansBySegment, window: Interval, segmentIds: readonly number[]): Breakdown {
  if (segmentIds.length === 0) return emptyBreakdown();
  const kinds = zeroKinds();
  let unattributed = 0;
  for (const segment of segmentIds) {
    const swept = sweepKinds((spans.own.get(segment) ?? []).concat(spans.shared), window);
    for (const kind of SPAN_KINDS) kinds[kind] += swept[kind];
    unattributed += swept.unattributed;
  }
  const n = segmentIds.length;
  for (const kind of SPAN_KINDS) kinds[kind] = seconds(kinds[kind] / n);
  return withComponents(kinds, seconds(unattributed / n));
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

/**
 * Counted bytes by transport and phase, execution-phase bytes by Table 6 column, and the ETL and
 * start-up totals. Calibration bytes (if any) are in byTransport only: neither ETL nor execution.
 */
export function bytesByColumn(events: readonly RunEvent[], phases: PhaseIntervals): Summary['bytes'] {
  const byTransport: Summary['bytes']['byTransport'] = {};
  const execution = Object.fromEntries(BYTE_COLUMNS.map((c) => [c, 0])) as Record<ByteColumn, number>;
  let etl = 0;
  let startup = 0;
  for (const e of events) {
    if (e.type !== 'counter') continue;
    const phase = phaseAt(e.at, phases);
    byTransport[e.transport] ??= Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;
    const row = byTransport[e.transport];
    row[phase] += e.bytes;
    if (phase === 'execution') execution[TRANSPORT_TABLE[e.transport].column] += e.bytes;
    else if (phase === 'etl') etl += e.bytes;
    else if (phase === 'startup') startup += e.bytes;
  }
  const sorted = Object.fromEntries(Object.entries(byTransport).sort(([a], [b]) => a.localeCompare(b)));
  return { byTransport: sorted, execution, etl, startup };
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
export function counterGrowth(
  samples: readonly Sample[],
  windows: readonly Interval[],
  read: (s: Sample) => number,
): number {
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

/** The run's own memory in a sample: the groups' figure, or the RSS sum for samples without it. */
function runMemBytes(s: Sample): number {
  return s.tree.memBytes ?? s.tree.rssBytes;
}

function groupFigures(inside: readonly Sample[]): NonNullable<Summary['resources']>['groups'] {
  const names = [...new Set(inside.flatMap((s) => Object.keys(s.tree.groups ?? {})))].sort();
  return Object.fromEntries(
    names.map((name) => {
      // A group absent from a sample had no live process then: zero.
      const readings = inside.map((s) => s.tree.groups?.[name] ?? { pids: 0, cpuPct: 0, memBytes: 0 });
      return [
        name,
        {
          cpuPctMean: mean(readings.map((g) => g.cpuPct)),
          memBytesMean: mean(readings.map((g) => g.memBytes)),
          memBytesMax: Math.max(...readings.map((g) => g.memBytes)),
        },
      ];
    }),
  );
}

function resources(samples: readonly Sample[], execution: readonly Interval[]): Summary['resources'] {
  const inside = samplesWithin(samples, execution);
  if (inside.length === 0) return null;
  const gpu = inside.flatMap((s) => (s.gpu === null ? [] : [s.gpu]));
  const pctOfMemory = (bytes: number, s: Sample): number =>
    s.system.memTotalBytes > 0 ? (100 * bytes) / s.system.memTotalBytes : 0;
  return {
    samples: inside.length,
    cpuPctMean: mean(inside.map((s) => s.system.cpuPct)),
    memUsedPctMean: mean(inside.map((s) => pctOfMemory(s.system.memUsedBytes, s))),
    runCpuPctMean: mean(inside.map((s) => s.tree.cpuPct)),
    runMemBytesMean: mean(inside.map(runMemBytes)),
    runMemBytesMax: Math.max(...inside.map(runMemBytes)),
    runMemPctMean: mean(inside.map((s) => pctOfMemory(runMemBytes(s), s))),
    treeRssBytesMax: Math.max(...inside.map((s) => s.tree.rssBytes)),
    groups: groupFigures(inside),
    netBytes: counterGrowth(samples, execution, (s) => s.system.netRxBytes + s.system.netTxBytes),
    netTxBytes: counterGrowth(samples, execution, (s) => s.system.netTxBytes),
    diskReadBytes: counterGrowth(samples, execution, (s) => s.tree.readBytes),
    diskWriteBytes: counterGrowth(samples, execution, (s) => s.tree.writeBytes),
    gpuUtilPctMean: gpu.length > 0 ? mean(gpu.map((g) => g.utilPct)) : null,
    gpuMemPctMean:
      gpu.length > 0
        ? mean(gpu.map((g) => (g.memTotalBytes > 0 ? (100 * g.memUsedBytes) / g.memTotalBytes : 0)))
        : null,
  };
}
