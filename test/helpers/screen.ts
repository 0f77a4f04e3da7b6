// What a terminal shows after a stream of output: the bytes go through a headless xterm.js (the
// terminal of VS Code), so cursor moves and erasures are applied as a real terminal would.
import xterm from '@xterm/headless';

export interface Screen {
  /** Every line the terminal holds, scrollback included, right-trimmed. */
  lines: string[];
  /** The lines in view, right-trimmed. */
  viewport: string[];
  /** Lines that continue the one above: output wider than the terminal. */
  wrapped: string[];
}

/**
 * `convertEol`: treat a bare LF as CR LF, as a terminal driver does for a program's output (bytes
 * captured from a pseudo-terminal already have the CR).
 */
export async function renderScreen(
  data: string | Uint8Array,
  cols: number,
  rows: number,
  convertEol = false,
): Promise<Screen> {
  const terminal = new xterm.Terminal({ cols, rows, scrollback: 10_000, allowProposedApi: true, convertEol });
  await new Promise<void>((resolve) => terminal.write(data, resolve));
  const buffer = terminal.buffer.active;
  const lines: string[] = [];
  const wrapped: string[] = [];
  for (let i = 0; i < buffer.length; i++) {
    const line = buffer.getLine(i);
    lines.push(line?.translateToString(true) ?? '');
    if (line?.isWrapped) wrapped.push(lines[i]);
  }
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const viewport = lines.slice(buffer.viewportY, buffer.viewportY + rows);
  terminal.dispose();
  return { lines, viewport, wrapped };
}
