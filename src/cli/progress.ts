// Run progress: one rewritten status line on a TTY, plain lines otherwise (CI logs, pipes).
import type { RunEvent } from '../core/events.js';

export interface ProgressOptions {
  label: string;
  totalUnits: number;
  epochs: number;
  stream?: NodeJS.WriteStream;
}

export function progressPrinter(options: ProgressOptions): (event: RunEvent) => void {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  let units = 0;
  let lastLine = '';
  const write = (line: string, final = false): void => {
    if (tty) {
      stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    } else if (line !== lastLine) {
      stream.write(`${line}\n`);
    }
    lastLine = line;
  };
  return (event) => {
    const prefix = `[${options.label}]`;
    switch (event.type) {
      case 'phase':
        write(`${prefix} ${event.phase} ${event.edge === 'start' ? 'started' : 'finished'}`, true);
        break;
      case 'unit':
        units++;
        if (tty || units === options.totalUnits || units % Math.max(1, Math.floor(options.totalUnits / 20)) === 0) {
          write(`${prefix} ${units}/${options.totalUnits} sub-epochs (epoch ${event.epoch + 1}/${options.epochs})`);
        }
        break;
      case 'epoch':
        write(`${prefix} epoch ${event.epoch + 1} config ${event.config}: train loss ${event.trainLoss.toFixed(4)}, valid loss ${event.validLoss.toFixed(4)}, valid acc ${(event.validAccuracy * 100).toFixed(1)}%`, true);
        break;
      case 'log':
        write(`${prefix} ${event.level === 'info' ? '' : `${event.level}: `}${event.message}`, true);
        break;
      default:
        break;
    }
  };
}
