// Writes a run folder as the run happens (docs/architecture.md, "Run folder"): run.json first, then every event is
// appended to events.jsonl the moment it is emitted, and summary.json says 'incomplete' until the
// harness writes the final one. A crash therefore loses nothing that was already measured.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from '../core/events.js';
import { runEventSchema } from '../core/events.js';
import { runInfoSchema, summarySchema, type RunInfo, type Summary } from '../core/records.js';

export const RUN_FILES = {
  info: 'run.json',
  events: 'events.jsonl',
  samples: 'samples.jsonl',
  summary: 'summary.json',
} as const;

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

export function newRunId(approach: string, workload: string, scale: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const suffix = Math.random().toString(36).slice(2, 6);
  return `${stamp}-${approach}-${workload}-${scale}-${suffix}`;
}

export class RunFolder {
  private constructor(
    readonly dir: string,
    readonly info: RunInfo,
  ) {}

  static create(runsDir: string, info: RunInfo): RunFolder {
    const dir = join(runsDir, info.runId);
    mkdirSync(dir, { recursive: true });
    writeJsonAtomic(join(dir, RUN_FILES.info), runInfoSchema.parse(info));
    writeFileSync(join(dir, RUN_FILES.events), '');
    return new RunFolder(dir, info);
  }

  /** Reopen an interrupted run to resume it. */
  static open(dir: string): RunFolder {
    const infoPath = join(dir, RUN_FILES.info);
    if (!existsSync(infoPath)) throw new Error(`${dir} is not a run folder: ${RUN_FILES.info} is missing`);
    const info = runInfoSchema.parse(JSON.parse(readFileSync(infoPath, 'utf8')));
    const summaryPath = join(dir, RUN_FILES.summary);
    if (existsSync(summaryPath)) {
      const summary = summarySchema.parse(JSON.parse(readFileSync(summaryPath, 'utf8')));
      if (summary.status === 'complete') throw new Error(`run ${info.runId} is already complete; nothing to resume`);
    }
    return new RunFolder(dir, info);
  }

  get samplesPath(): string {
    return join(this.dir, RUN_FILES.samples);
  }

  append(event: RunEvent): void {
    appendFileSync(join(this.dir, RUN_FILES.events), JSON.stringify(event) + '\n');
  }

  /** Every event written so far; a torn last line (the process died mid-write) is dropped. */
  readEvents(): RunEvent[] {
    const path = join(this.dir, RUN_FILES.events);
    if (!existsSync(path)) return [];
    const lines = readFileSync(path, 'utf8').split('\n');
    const events: RunEvent[] = [];
    for (const [i, line] of lines.entries()) {
      if (!line.trim()) continue;
      try {
        events.push(runEventSchema.parse(JSON.parse(line)));
      } catch (error) {
        if (i >= lines.length - 2) break;
        throw new Error(`${path}:${i + 1} is malformed: ${(error as Error).message}`);
      }
    }
    return events;
  }

  writeSummary(summary: Summary): void {
    writeJsonAtomic(join(this.dir, RUN_FILES.summary), summarySchema.parse(summary));
  }
}
