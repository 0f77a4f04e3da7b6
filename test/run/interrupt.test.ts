// The signal policy with real signals to this process: the first stops, copies within the window
// count as that one (a Ctrl-C arrives from the terminal and from every process that forwards it),
// and one after the window forces.
import { describe, expect, it } from 'vitest';
import { RunInterrupted, watchInterrupts, type StopSignal } from '../../src/run/interrupt.js';

function delivered(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50));
}

describe('watchInterrupts', () => {
  it('stops on the first signal, ignores its copies, forces on a later one', async () => {
    const calls: string[] = [];
    const unwatch = watchInterrupts(
      { stop: (s: StopSignal) => calls.push(`stop ${s}`), force: (s: StopSignal) => calls.push(`force ${s}`) },
      300,
    );
    try {
      process.kill(process.pid, 'SIGINT');
      await delivered();
      process.kill(process.pid, 'SIGINT');
      process.kill(process.pid, 'SIGTERM');
      await delivered();
      expect(calls).toEqual(['stop SIGINT']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      process.kill(process.pid, 'SIGTERM');
      await delivered();
      expect(calls).toEqual(['stop SIGINT', 'force SIGTERM']);
    } finally {
      unwatch();
    }
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('exits as a shell expects: 128 + the signal number', () => {
    expect(new RunInterrupted('SIGINT').exitCode).toBe(130);
    expect(new RunInterrupted('SIGTERM').exitCode).toBe(143);
    expect(new RunInterrupted('SIGHUP').exitCode).toBe(129);
    expect(new RunInterrupted('SIGINT').message).toBe('interrupted by SIGINT (Ctrl-C)');
  });
});
