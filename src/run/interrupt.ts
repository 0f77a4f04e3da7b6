// How a run ends on a signal (docs/resume.md, "Signals"): the first SIGINT, SIGTERM or SIGHUP
// asks the run to stop (it finishes its bookkeeping: an `interrupted` event, the summary marked
// incomplete, workers and connections closed, the lock released); a second one forces the exit at
// once, still leaving the folder resumable. Ctrl-C reaches every process of the foreground group,
// and `npx` and `bin/bench.js` forward what they get, so one keypress can arrive here two or three
// times within milliseconds: signals within DUPLICATE_WINDOW_MS of the first count as that one.

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

const SIGNAL_NUMBERS: Record<StopSignal, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** Copies of one Ctrl-C (the terminal's, and what npx and bin/bench.js forward) arrive within this. */
export const DUPLICATE_WINDOW_MS = 1000;

/** The run was stopped by a signal. `exitCode` is the shell's convention, 128 + the signal number. */
export class RunInterrupted extends Error {
  override name = 'RunInterrupted';
  readonly exitCode: number;
  constructor(
    readonly signal: StopSignal,
    message = `interrupted by ${describeSignal(signal)}`,
  ) {
    super(message);
    this.exitCode = 128 + SIGNAL_NUMBERS[signal];
  }
}

export function describeSignal(signal: StopSignal): string {
  return signal === 'SIGINT' ? 'SIGINT (Ctrl-C)' : signal === 'SIGHUP' ? 'SIGHUP (the terminal closed)' : signal;
}

export interface InterruptHandlers {
  /** The first signal: ask the work to stop. */
  stop(signal: StopSignal): void;
  /** A later signal, at least DUPLICATE_WINDOW_MS after the first: stop now. */
  force(signal: StopSignal): void;
}

/** Installs the handlers for STOP_SIGNALS; returns the function that removes them. */
export function watchInterrupts(handlers: InterruptHandlers, windowMs = DUPLICATE_WINDOW_MS): () => void {
  let first: number | undefined;
  let forced = false;
  const listener = (signal: NodeJS.Signals): void => {
    const now = Date.now();
    if (first === undefined) {
      first = now;
      handlers.stop(signal as StopSignal);
    } else if (!forced && now - first >= windowMs) {
      forced = true;
      handlers.force(signal as StopSignal);
    }
  };
  for (const signal of STOP_SIGNALS) process.on(signal, listener);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, listener);
  };
}
