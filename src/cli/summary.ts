// The block that ends a run, in the report's words (Table 6's column names, Figure 9's breakdown
// components, the report's units), with the run folder and the command that builds its report.
import { isAbsolute, relative } from 'node:path';
import { BREAKDOWN_PARTS, formatPercent, mean, partSeconds, type BreakdownPart } from '../../reports/common.js';
import type { Summary } from '../core/records.js';
import { bytes, seconds } from './format.js';
import type { Colors } from './output.js';
import { epochStats } from './tracker.js';

export interface SummaryContext {
  /** e.g. "ctq criteo/small". */
  label: string;
  segments: number;
  /** Epochs the run was asked for. */
  epochs: number;
  runDir: string;
}

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** A path as the user can type it from here: relative when it is under the working directory. */
export function displayPath(path: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The command that builds the run's report. */
export function reportCommandFor(runDir: string): string {
  return `npx bench report ${displayPath(runDir)}`;
}

/** The last line of a run's output (all that --quiet prints of it): the status and the run folder. */
export function finalLine(summary: Summary, ctx: SummaryContext): string {
  return `${ctx.label} ${summary.status}: ${displayPath(ctx.runDir)}`;
}

/** Execution time over epochs, the paper's epoch time (Table 6); an incomplete run divides by the epochs it timed. */
function epochTime(summary: Summary, epochs: number): number {
  const counted = summary.status === 'complete' ? Math.max(1, epochs) : Math.max(1, summary.epochSeconds.length);
  return summary.executionSeconds / counted;
}

export function runSummaryLines(summary: Summary, ctx: SummaryContext, c: Colors): string[] {
  const label = (text: string): string => c.dim(text.padEnd(20));
  const status = summary.status === 'complete' ? c.green('complete') : c.yellow('incomplete');
  const lines = [c.bold(`${ctx.label} on ${plural(ctx.segments, 'segment')}: `) + status];
  lines.push(`  ${label('ETL time')}${seconds(summary.etlSeconds)}`);
  lines.push(`  ${label('Start-up time')}${seconds(summary.startupSeconds)}`);
  lines.push(`  ${label('Exec. time')}${seconds(summary.executionSeconds)}`);
  lines.push(`  ${label('Epoch time')}${seconds(epochTime(summary, ctx.epochs))} (execution / epochs)`);
  if (summary.breakdown.length > 0) {
    const partMean = (part: BreakdownPart): number => mean(summary.breakdown.map((b) => partSeconds(b, part)));
    const perPart = BREAKDOWN_PARTS.map((part) => [part.label, partMean(part.key)] as const);
    const total = perPart.reduce((sum, [, v]) => sum + v, 0);
    lines.push(
      `  Per-epoch breakdown, machine time per segment (mean of ${plural(summary.breakdown.length, 'epoch')}):`,
    );
    for (const [name, value] of perPart) {
      if (value === 0 && name.startsWith('Approach-specific:')) continue;
      const share = total > 0 ? formatPercent((100 * value) / total) : '-';
      lines.push(`    ${name.padEnd(30)}${seconds(value).padEnd(10)}${share.padStart(6)}`);
    }
  }
  const res = summary.resources;
  if (res) {
    const cpu = `${formatPercent(res.cpuPctMean)} machine, ${formatPercent(res.runCpuPctMean)} run`;
    const dram = `${formatPercent(res.memUsedPctMean)} machine, ${formatPercent(res.runMemPctMean)} run`;
    lines.push(`  ${label('CPU util.')}${cpu}    ${c.dim('DRAM util.')} ${dram}`);
  }
  const { execution, etl, startup } = summary.bytes;
  lines.push(`  ${label('Network')}${bytes(execution.network)} during execution (counted)`);
  lines.push(`  ${label('Disk / local IPC')}${bytes(execution.disk)} / ${bytes(execution.local)} during execution`);
  lines.push(`  ${label('ETL / start-up')}${bytes(etl)} / ${bytes(startup)} moved`);
  const { storage } = summary;
  if (storage !== null) {
    const { data, copies } = storage;
    lines.push(
      `  ${label('Storage blowup')}${storage.blowupLogical.toFixed(2)}x logical, ` +
        `${storage.blowupStored.toFixed(2)}x as stored`,
    );
    lines.push(
      `  ${label('Training data')}${bytes(data.logicalBytes)} logical, ${bytes(data.storedBytes)} stored; ` +
        `copies ${bytes(copies.storedBytes)}`,
    );
  }
  const lastEpoch = Math.max(-1, ...summary.metrics.map((m) => m.epoch));
  if (lastEpoch >= 0) {
    const s = epochStats(
      lastEpoch,
      summary.metrics.filter((m) => m.epoch === lastEpoch),
      undefined,
    );
    lines.push(
      `  ${label(`Valid. (epoch ${lastEpoch + 1})`)}` +
        `loss best ${s.bestLoss.toFixed(4)} (config ${s.bestConfig}), median ${s.medianLoss.toFixed(4)}` +
        ` · accuracy best ${(s.bestAccuracy * 100).toFixed(1)}%, median ${(s.medianAccuracy * 100).toFixed(1)}%`,
    );
  }
  lines.push(`  ${label('Report')}${reportCommandFor(ctx.runDir)}`);
  return lines;
}
