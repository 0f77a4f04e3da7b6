// Writes a run folder as the run happens (docs/architecture.md, "Run folder"): run.json first, then every event is
// appended to events.jsonl the moment it is emitted, and summary.json says 'incomplete' until the
// harness writes the final one. A crash therefore loses nothing that was already measured. A write
// that fails (the folder became unwritable) is a RunFolderWriteError naming the file.
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { RunEvent } from '../core/events.js';
import { runEventSchema } from '../core/events.js';
import { runInfoSchema, summarySchema, type RunInfo, type Summary } from '../core/records.js';

export const RUN_FILES = {
  info: 'run.json',
  events: 'events.jsonl',
  samples: 'samples.jsonl',
  summary: 'summary.json',
} as const;

function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}` : String(error);
}

/** A file of a run folder could not be written. */
export class RunFolderWriteError extends Error {
  override name = 'RunFolderWriteError';
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`cannot write ${file} (${describeFsError(cause)})`, { cause });
  }
}

/** A folder that cannot hold run folders (it cannot be created, or files cannot be written in it). */
export class UnusableFolderError extends Error {
  override name = 'UnusableFolderError';
}

function writing<T>(file: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    throw new RunFolderWriteError(file, error);
  }
}

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  writing(path, () => {
    writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
    renameSync(tmp, path);
  });
}

/**
 * Makes sure `dir` exists and that files can be created in it, or throws an UnusableFolderError
 * saying why. Creates missing folders one level at a time (a recursive mkdir under /proc spins
 * forever) and proves writability by creating and removing a file. Returns the absolute path.
 */
export function prepareWritableFolder(dir: string, what: string): string {
  const target = resolve(dir);
  const missing: string[] = [];
  for (let current = target; ; current = dirname(current)) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(current).isDirectory();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(current) === current) {
        throw new UnusableFolderError(
          `${what} ${target} is unusable: cannot look at ${current} (${describeFsError(error)})`,
        );
      }
      missing.unshift(current);
      continue;
    }
    if (!isDirectory)
      throw new UnusableFolderError(`${what} ${target} is unusable: ${current} is a file, not a folder`);
    break;
  }
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && statSync(folder).isDirectory()) continue;
      throw new UnusableFolderError(
        `${what} ${target} is unusable: cannot create ${folder} (${describeFsError(error)})`,
      );
    }
  }
  const probe = join(target, `.bench-write-probe-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (error) {
    throw new UnusableFolderError(
      `${what} ${target} is unusable: cannot create files in it (${describeFsError(error)})`,
    );
  }
  return target;
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

  /** Creates the run's folder in `runsDir` (which prepareWritableFolder has checked). */
  static create(runsDir: string, info: RunInfo): RunFolder {
    const dir = join(runsDir, info.runId);
    writing(dir, () => mkdirSync(dir));
    writeJsonAtomic(join(dir, RUN_FILES.info), runInfoSchema.parse(info));
    writing(join(dir, RUN_FILES.events), () => writeFileSync(join(dir, RUN_FILES.events), ''));
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
    return new RunFolder(resolve(dir), info);
  }

  get samplesPath(): string {
    return join(this.dir, RUN_FILES.samples);
  }

  get eventsPath(): string {
    return join(this.dir, RUN_FILES.events);
  }

  append(event: RunEvent): void {
    writing(this.eventsPath, () => appendFileSync(this.eventsPath, JSON.stringify(event) + '\n'));
  }

  /**
   * Cuts a torn last line (the process died mid-write) off events.jsonl, so that the events a
   * resumed attempt appends start on a line of their own. Returns whether there was one.
   */
  dropTornLine(): boolean {
    const path = this.eventsPath;
    if (!existsSync(path)) return false;
    const text = readFileSync(path, 'utf8');
    if (text === '' || text.endsWith('\n')) return false;
    writing(path, () => writeFileSync(path, text.slice(0, text.lastIndexOf('\n') + 1)));
    return true;
  }

  /** Every event written so far; a torn last line (the process died mid-write) is dropped. */
  readEvents(): RunEvent[] {
    const path = this.eventsPath;
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
