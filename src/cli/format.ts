// Plain text for the terminal: tables, durations and sizes as the report writes them, clocks,
// rates, progress bars and the compact epoch line.
import { formatBytes, formatDuration } from '../../reports/common.js';
import type { DisplayPhase, EpochStats } from './tracker.js';
import type { EpochMetrics } from '../core/events.js';

export function formatTable(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Seconds in the unit that fits, as the report writes them: "2.31 s", "4.5 min", "2.8 hr". */
export const seconds = formatDuration;
/** Decimal bytes, as the report writes them: "345 MB". */
export const bytes = formatBytes;

/** A wall clock for elapsed and remaining time: "0:07", "12:03", "1:02:09". */
export function clock(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** A rate of units: "3.2 units/s" when at least one a second, else "4.1 s/unit". */
export function rate(perSecond: number, noun = 'unit'): string {
  if (perSecond >= 1) return `${perSecond.toFixed(perSecond < 10 ? 1 : 0)} ${noun}s/s`;
  const per = 1 / perSecond;
  return `${per.toFixed(per < 10 ? 1 : 0)} s/${noun}`;
}

/** A bar of `width` cells, `fraction` of them full. `ascii`: for terminals that may lack the glyphs. */
export function bar(fraction: number, width: number, ascii = false): string {
  const cells = Math.max(0, Math.round(width));
  const full = Math.min(cells, Math.max(0, Math.floor(Math.min(1, Math.max(0, fraction)) * cells)));
  const [on, off] = ascii ? ['#', '-'] : ['█', '░'];
  const drawn = `${on.repeat(full)}${off.repeat(cells - full)}`;
  return ascii ? `[${drawn}]` : drawn;
}

export function percent(fraction: number): string {
  return `${Math.floor(Math.min(1, Math.max(0, fraction)) * 100)}%`;
}

export const PHASE_LABELS: Record<DisplayPhase, string> = {
  preparing: 'preparing',
  etl: 'ETL',
  startup: 'start-up',
  calibration: 'calibration',
  execution: 'execution',
  validation: 'validation',
  finishing: 'finishing',
};

const accuracy = (a: number): string => `${(a * 100).toFixed(1)}%`;

/** The one line an epoch gets: best and median validation loss and accuracy, the best config, the time. */
export function epochLine(stats: EpochStats, epochs: number): string {
  const time = stats.seconds === undefined ? '' : ` · ${seconds(stats.seconds)}`;
  return (
    `epoch ${stats.epoch + 1}/${epochs}${time} · ` +
    `best/median valid loss ${stats.bestLoss.toFixed(4)}/${stats.medianLoss.toFixed(4)},` +
    ` accuracy ${accuracy(stats.bestAccuracy)}/${accuracy(stats.medianAccuracy)} · best config ${stats.bestConfig}`
  );
}

/** One config's figures after an epoch (--verbose). */
export function configLine(m: EpochMetrics): string {
  return (
    `  epoch ${m.epoch + 1} config ${m.config}: train loss ${m.trainLoss.toFixed(4)}, ` +
    `valid loss ${m.validLoss.toFixed(4)}, valid acc ${accuracy(m.validAccuracy)}`
  );
}
