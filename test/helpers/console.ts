// Captures what a CLI handler prints in-process: console.log and console.error lines, fresh for
// every test, and process.exitCode reset around each (handlers set it instead of exiting).
import { afterEach, beforeEach, vi } from 'vitest';

export interface CapturedConsole {
  /** console.log lines of the current test. */
  readonly out: string[];
  /** console.error lines of the current test. */
  readonly err: string[];
}

/** Call at the top of a test file; the arrays are emptied, not replaced, before each test. */
export function captureConsole(): CapturedConsole {
  const captured: CapturedConsole = { out: [], err: [] };
  beforeEach(() => {
    captured.out.length = 0;
    captured.err.length = 0;
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void captured.out.push(a.join(' ')));
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void captured.err.push(a.join(' ')));
    process.exitCode = undefined;
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });
  return captured;
}
