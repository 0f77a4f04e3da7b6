// The progress display of runs and of jobs made of runs (docs/terminal.md). Built from run events
// only. On a terminal: a live region (jobs, then the run: phase, bar, units, elapsed, rate, time
// left, and on wide terminals the units each worker is on) under the lines that stay (the run's
// header, phase times, one line per epoch, notes). Without one: the same lines, and a status line
// every tenth of the units. --json: the run's events, one per line on stdout. --quiet: nothing.
//
//   const progress = new Progress(Output.fromFlags(args));
//   const job = progress.startJob({ label: 'study fig9', total: 12 });   // optional, nestable
//   const run = job.startRun({ label: 'ctq criteo/small', shape });      // or progress.startRun
//   await runApproach({ ..., onEvent: run.onEvent });
//   run.finish(); ...; job.finish();
import sliceAnsi from 'slice-ansi';
import stringWidth from 'string-width';
import type { RunEvent } from '../core/events.js';
import { bar, clock, configLine, epochLine, percent, PHASE_LABELS, rate, seconds } from './format.js';
import type { Colors, Output } from './output.js';
import { JobTracker, RunTracker, type JobSnapshot, type Notice, type RunShape, type RunSnapshot } from './tracker.js';

export interface RunSpec {
  /** e.g. "ctq criteo/small". */
  label: string;
  shape: RunShape;
  /** Events of the earlier attempts of a resumed run: their units count as done. */
  prior?: readonly RunEvent[];
}

export interface JobSpec {
  label: string;
  /** Items in the job. */
  total: number;
  /** What the items are, plural: "runs" (default), "studies". */
  noun?: string;
}

/** Terminals at least this wide also show the units the workers are on. */
export const WIDE_COLUMNS = 100;
const REDRAW_MS = 200;
const LINES_STATUS_EVERY_MS = 30_000;

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Cuts a line with colours to `columns` cells, ending it with an ellipsis. */
function fit(text: string, columns: number): string {
  return stringWidth(text) <= columns ? text : `${sliceAnsi(text, 0, Math.max(0, columns - 1))}…`;
}

/**
 * The run's status as one line of text (no bar): the plain-lines form and the tail of the live bar
 * line. `terse` leaves out the rate, then the elapsed time, for narrow terminals.
 */
export function statusText(s: RunSnapshot, terse: 0 | 1 | 2 = 0): string {
  const parts = [
    `${s.unitsDone}/${s.unitsTotal} units ${percent(s.unitsTotal === 0 ? 1 : s.unitsDone / s.unitsTotal)}`,
  ];
  if (terse < 2) parts.push(`elapsed ${clock(s.elapsedMs)}`);
  if (terse < 1 && s.rate !== undefined) parts.push(rate(s.rate));
  if (s.leftMs !== undefined) parts.push(`left ~${clock(s.leftMs)}`);
  return parts.join(' · ');
}

export function phaseText(s: RunSnapshot): string {
  const training = s.phase === 'execution' || s.phase === 'validation';
  const epoch = !training
    ? ''
    : s.search
      ? ` · configs ${s.search.configs}/${s.search.trials}`
      : ` · epoch ${Math.min(s.epoch + 1, s.epochs)}/${s.epochs}`;
  return `${PHASE_LABELS[s.phase]}${epoch}`;
}

/** The units running now, as many as fit: "s0 c12 e2 3.1s  s1 c3 e2 0.4s  +6 more". */
export function workersText(s: RunSnapshot, now: number, columns: number): string {
  const items = s.active.map(
    (u) => `s${u.segment} c${u.config} e${u.epoch + 1} ${((now - u.since) / 1000).toFixed(1)}s`,
  );
  const out: string[] = [];
  let used = 'workers '.length + 2;
  for (let i = 0; i < items.length; i++) {
    const more = i < items.length - 1 ? ` +${items.length - i - 1} more`.length : 0;
    if (used + items[i].length + 2 + more > columns && out.length > 0) {
      out.push(`+${items.length - i} more`);
      break;
    }
    out.push(items[i]);
    used += items[i].length + 2;
  }
  return `workers ${out.join('  ')}`;
}

/** The live lines of a run. */
export function runFrame(label: string, s: RunSnapshot, now: number, terminalColumns: number, c: Colors): string[] {
  // One column spare: a line as wide as the terminal leaves the cursor in its pending-wrap state.
  const columns = terminalColumns - 1;
  const head = fit(`${c.bold(label)} · ${c.cyan(phaseText(s))}`, columns);
  const status =
    [statusText(s), statusText(s, 1), statusText(s, 2)].find((text) => text.length + 2 <= columns) ?? statusText(s, 2);
  const barWidth = Math.min(40, columns - stringWidth(status) - 4);
  const fraction = s.unitsTotal === 0 ? 1 : s.unitsDone / s.unitsTotal;
  const progress = barWidth >= 10 ? `  ${c.green(bar(fraction, barWidth))} ${status}` : `  ${status}`;
  const lines = [head, fit(progress, columns)];
  if (terminalColumns >= WIDE_COLUMNS && s.active.length > 0)
    lines.push(c.dim(fit(`  ${workersText(s, now, columns - 2)}`, columns)));
  return lines;
}

export function jobText(j: JobSnapshot): string {
  const parts = [`${j.noun} ${j.done}/${j.total}`, `elapsed ${clock(j.elapsedMs)}`];
  if (j.leftMs !== undefined) parts.push(`left ~${clock(j.leftMs)}`);
  return parts.join(' · ');
}

export function jobFrame(j: JobSnapshot, terminalColumns: number, c: Colors): string {
  const columns = terminalColumns - 1;
  const text = jobText(j);
  const barWidth = Math.min(20, columns - stringWidth(j.label) - stringWidth(text) - 6);
  const drawn = barWidth >= 8 ? ` ${c.magenta(bar(j.total === 0 ? 1 : j.done / j.total, barWidth))}` : '';
  return fit(`${c.bold(j.label)}${drawn} ${text}`, columns);
}

type Node = RunProgress | JobProgress | TaskProgress;

/** One display per process; every run and job of a command goes through it. */
export class Progress {
  readonly output: Output;
  private readonly now: () => number;
  /** The jobs and the run being shown, outermost first. */
  private readonly stack: Node[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(output: Output, now: () => number = Date.now) {
    this.output = output;
    this.now = now;
  }

  startJob(spec: JobSpec): JobProgress {
    return this.push(new JobProgress(this, spec, undefined));
  }

  startRun(spec: RunSpec): RunProgress {
    return this.push(new RunProgress(this, spec, undefined));
  }

  /** A step without units (loading data, building a report): its label and elapsed time, live. */
  startTask(label: string): TaskProgress {
    return this.push(new TaskProgress(this, label, undefined));
  }

  /** Ends every run and job still shown and the live region (call it in a `finally`). */
  close(): void {
    while (this.stack.length > 0) this.stack[this.stack.length - 1].finish();
    this.stopTimer();
    this.output.close();
  }

  /** @internal */
  push<T extends Node>(node: T): T {
    this.stack.push(node);
    if (this.output.mode === 'live' && this.timer === undefined) {
      this.timer = setInterval(() => this.redraw(), REDRAW_MS);
      this.timer.unref();
    }
    this.redraw();
    return node;
  }

  /** @internal */
  pop(node: Node): void {
    const at = this.stack.indexOf(node);
    if (at >= 0) this.stack.splice(at);
    if (this.stack.length === 0) {
      this.stopTimer();
      this.output.close();
    } else {
      this.redraw();
    }
  }

  /** @internal */
  clock(): number {
    return this.now();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Draws the live region from the stack. */
  redraw(): void {
    const region = this.output.live();
    if (!region) return;
    const now = this.now();
    const lines: string[] = [];
    for (const node of this.stack) lines.push(...node.frame(now, region.columns));
    region.show(lines.join('\n'));
  }
}

export class JobProgress {
  private readonly tracker: JobTracker;
  private child: Node | undefined;
  private finished = false;

  constructor(
    private readonly progress: Progress,
    readonly spec: JobSpec,
    private readonly parent: JobProgress | undefined,
  ) {
    this.tracker = new JobTracker(spec.label, spec.total, spec.noun ?? 'runs', progress.clock());
  }

  startJob(spec: JobSpec): JobProgress {
    this.begin();
    this.child = this.progress.push(new JobProgress(this.progress, spec, this));
    return this.child;
  }

  startRun(spec: RunSpec): RunProgress {
    this.begin();
    this.child = this.progress.push(new RunProgress(this.progress, spec, this));
    return this.child;
  }

  /** An item without units (a baseline measurement, a report): shown with its elapsed time. */
  startTask(label: string): TaskProgress {
    this.begin();
    this.child = this.progress.push(new TaskProgress(this.progress, label, this));
    return this.child;
  }

  /** Items that need no work (a run reused from earlier): counted as done, not timed. */
  skip(count = 1): void {
    this.tracker.skip(count);
    this.progress.redraw();
  }

  private begin(): void {
    if (this.child) this.child.finish();
    this.tracker.begin(this.progress.clock());
  }

  /** @internal A child ended. */
  childEnded(child: Node): void {
    if (child !== this.child) return;
    this.child = undefined;
    this.tracker.end(this.progress.clock());
    const { output } = this.progress;
    if (output.mode === 'lines') output.info(`${this.spec.label}: ${jobText(this.snapshot(this.progress.clock()))}`);
  }

  snapshot(now: number): JobSnapshot {
    return this.tracker.snapshot(now, this.child?.leftMs(now));
  }

  /** @internal */
  leftMs(now: number): number | undefined {
    return this.snapshot(now).leftMs;
  }

  /** @internal */
  frame(now: number, columns: number): string[] {
    return [jobFrame(this.snapshot(now), columns, this.progress.output.colors)];
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.child?.finish();
    const now = this.progress.clock();
    const { output } = this.progress;
    const s = this.snapshot(now);
    if (output.forHumans)
      output.info(output.colors.bold(`${this.spec.label}: ${s.done}/${s.total} ${s.noun} in ${clock(s.elapsedMs)}`));
    this.progress.pop(this);
    this.parent?.childEnded(this);
  }
}

export class RunProgress {
  private readonly tracker: RunTracker;
  private finished = false;
  private lastStatusUnits = 0;
  private lastStatusAt: number;

  constructor(
    private readonly progress: Progress,
    readonly spec: RunSpec,
    private readonly parent: JobProgress | undefined,
  ) {
    const now = progress.clock();
    this.tracker = new RunTracker(spec.shape, now);
    if (spec.prior) this.tracker.restore(spec.prior);
    this.lastStatusAt = now;
    const { output } = progress;
    const { configs, segments, epochs } = spec.shape;
    if (output.forHumans) {
      const done = this.tracker.snapshot(now).unitsDone;
      const resumed = spec.prior && spec.prior.length > 0 ? `, resuming with ${done} done` : '';
      const { search } = spec.shape;
      const work = search
        ? `a search of ${plural(search.trials, 'config')}, up to ${plural(epochs, 'epoch')} each, ` +
          `~${this.tracker.unitsTotal} units`
        : `${plural(configs, 'config')} × ${plural(epochs, 'epoch')} = ${this.tracker.unitsTotal} units`;
      output.info(output.colors.bold(`▶ ${spec.label}`) + ` · ${plural(segments, 'segment')} · ${work}${resumed}`);
    }
  }

  /** Hand this to the harness (`onEvent`). */
  readonly onEvent = (event: RunEvent): void => {
    const { output } = this.progress;
    if (output.mode === 'json') {
      output.json(event);
      return;
    }
    const idleBefore = this.tracker.activeCount === 0;
    const notices = this.tracker.apply(event);
    if (!output.forHumans) return;
    // The timer redraws every REDRAW_MS; a change of what the frame says is drawn at once, before
    // any line printed above it: a new phase, workers starting after none ran, a line to print.
    if (
      output.mode === 'live' &&
      (notices.length > 0 ||
        (event.type === 'phase' && event.edge === 'start') ||
        (event.type === 'unit-start' && idleBefore))
    )
      this.progress.redraw();
    for (const notice of notices) this.print(notice);
    if (output.mode === 'lines' && (event.type === 'unit' || (event.type === 'phase' && event.edge === 'start')))
      this.maybeStatusLine(event.type === 'phase');
  };

  private print(notice: Notice): void {
    const { output } = this.progress;
    const c = output.colors;
    switch (notice.kind) {
      case 'log':
        // An error-level line is the run's failure, which the command reports itself when it ends.
        if (notice.level === 'warn') output.warn(notice.message);
        else if (notice.level === 'info') output.info(c.dim(notice.message));
        break;
      case 'phase-end':
        output.info(`${PHASE_LABELS[notice.phase]} done in ${seconds(notice.seconds)}`);
        break;
      case 'epoch':
        output.info(c.bold(epochLine(notice.stats, this.spec.shape.epochs)));
        break;
      case 'config':
        // A search has no whole-run epochs to summarise: each config's validation is its line.
        if (output.verbose || this.spec.shape.search) output.info(configLine(notice.metrics));
        break;
      case 'interrupted':
        output.info(c.yellow(`interrupted: ${notice.reason}`));
        break;
    }
  }

  /** Plain lines: the status every tenth of the units, every 30 s of units otherwise, and as a phase starts. */
  private maybeStatusLine(force: boolean): void {
    const now = this.progress.clock();
    const s = this.tracker.snapshot(now);
    const step = Math.max(1, Math.ceil(s.unitsTotal / 10));
    const crossed =
      Math.floor(s.unitsDone / step) > Math.floor(this.lastStatusUnits / step) || s.unitsDone === s.unitsTotal;
    if (!force && !(crossed && s.unitsDone !== this.lastStatusUnits) && now - this.lastStatusAt < LINES_STATUS_EVERY_MS)
      return;
    this.lastStatusUnits = s.unitsDone;
    this.lastStatusAt = now;
    this.progress.output.info(`${phaseText(s)} · ${statusText(s)}`);
  }

  snapshot(now: number): RunSnapshot {
    return this.tracker.snapshot(now);
  }

  /** @internal */
  leftMs(now: number): number | undefined {
    return this.tracker.snapshot(now).leftMs;
  }

  /** @internal */
  frame(now: number, columns: number): string[] {
    return runFrame(this.spec.label, this.tracker.snapshot(now), now, columns, this.progress.output.colors);
  }

  /** The run ended (finished or failed): its live lines go; the command prints its summary next. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.progress.pop(this);
    this.parent?.childEnded(this);
  }
}

/** A step without units: shown live as its label and elapsed time; its notes go above. */
export class TaskProgress {
  private readonly startedAt: number;
  private finished = false;

  constructor(
    private readonly progress: Progress,
    readonly label: string,
    private readonly parent: JobProgress | undefined,
  ) {
    this.startedAt = progress.clock();
  }

  /** @internal */
  leftMs(): number | undefined {
    return undefined;
  }

  /** @internal */
  frame(now: number, terminalColumns: number): string[] {
    const c = this.progress.output.colors;
    return [fit(`${c.bold(this.label)} · ${c.cyan(`elapsed ${clock(now - this.startedAt)}`)}`, terminalColumns - 1)];
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.progress.pop(this);
    this.parent?.childEnded(this);
  }
}
