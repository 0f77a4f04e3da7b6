// Reads run folders for reports and `bench compare`. Everything is validated with the schemas of
// schema.ts; a missing or malformed file fails with a RunFolderError that names the file (and the
// line, for .jsonl files), so a broken folder never turns into numbers.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { summarize } from '../metrics/summarize.js';
import { runEventSchema } from '../core/events.js';
import {
  FORMAT_VERSION,
  MEASUREMENT_VERSION,
  runInfoSchema,
  sampleSchema,
  storageSchema,
  summarySchema,
  type LoadedRun,
} from '../core/records.js';

/** What a summary.json of older measurement definitions still tells: the run's outcome. */
const olderSummarySchema = z.object({
  formatVersion: z.literal(FORMAT_VERSION),
  measurementVersion: z.number().optional(),
  runId: z.string(),
  status: z.enum(['complete', 'incomplete']),
  finishedAt: z.string().nullable(),
  storage: z.unknown().optional(),
});

/**
 * The first measurement version whose storage sizes mean what today's do (training data only,
 * docs/measurement.md "Storage blowup"). Sizes are measured by the ETL, not derived from events,
 * so a recomputed summary keeps them from a summary of this version or later.
 */
const STORAGE_DEFINED_SINCE = 3;

export const RUN_FILE_NAMES = {
  info: 'run.json',
  events: 'events.jsonl',
  samples: 'samples.jsonl',
  summary: 'summary.json',
} as const;

export class RunFolderError extends Error {
  constructor(
    message: string,
    /** The file at fault (or the folder / pattern when there is no file). */
    readonly file: string,
    /** 1-based line of a .jsonl file, when the fault is on one line. */
    readonly line?: number,
  ) {
    super(line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`);
    this.name = 'RunFolderError';
  }
}

export interface LoadOptions {
  /** Fail instead of deriving a summary when summary.json is missing (bench compare). */
  requireSummary?: boolean;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') + ': ' : ''}${issue.message}`)
    .join('; ');
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RunFolderError(`cannot be read: ${(error as Error).message}`, path);
  }
}

async function readJsonFile<T>(path: string, schema: z.ZodType<T>): Promise<T | null> {
  const text = await readIfExists(path);
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RunFolderError(`is not valid JSON (${(error as Error).message})`, path);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new RunFolderError(`does not match the run-folder schema: ${describeIssues(parsed.error)}`, path);
  return parsed.data;
}

/**
 * Parses a .jsonl file line by line. A malformed last line that lacks its newline is a write
 * the process did not finish (it died): it is dropped with a warning. Any other malformed line
 * is an error naming the line.
 */
export function parseJsonLines<T>(text: string, path: string, schema: z.ZodType<T>, warnings: string[]): T[] {
  const lines = text.split('\n');
  const out: T[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    const torn = i === lines.length - 1; // no newline after it
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      if (torn) {
        warnings.push(`${path}:${i + 1}: dropped a torn last line (the run stopped mid-write)`);
        continue;
      }
      throw new RunFolderError(`is not valid JSON (${(error as Error).message})`, path, i + 1);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw new RunFolderError(`does not match the run-folder schema: ${describeIssues(parsed.error)}`, path, i + 1);
    out.push(parsed.data);
  }
  return out;
}

/** Loads and validates one run folder. */
export async function loadRun(dir: string, options: LoadOptions = {}): Promise<LoadedRun> {
  const warnings: string[] = [];
  if (!existsSync(dir)) throw new RunFolderError('no such run folder', dir);
  if (!statSync(dir).isDirectory()) throw new RunFolderError('is not a folder', dir);
  const path = (name: string): string => join(dir, name);

  const info = await readJsonFile(path(RUN_FILE_NAMES.info), runInfoSchema);
  if (info === null) throw new RunFolderError('missing: this is not a run folder', path(RUN_FILE_NAMES.info));

  const eventsText = await readIfExists(path(RUN_FILE_NAMES.events));
  if (eventsText === null) throw new RunFolderError('missing', path(RUN_FILE_NAMES.events));
  const events = parseJsonLines(eventsText, path(RUN_FILE_NAMES.events), runEventSchema, warnings);

  // A run with the sampler turned off has no samples file.
  const samplesText = await readIfExists(path(RUN_FILE_NAMES.samples));
  const samples =
    samplesText === null ? [] : parseJsonLines(samplesText, path(RUN_FILE_NAMES.samples), sampleSchema, warnings);

  const summaryPath = path(RUN_FILE_NAMES.summary);
  const older = await readJsonFile(summaryPath, olderSummarySchema);
  const current = older !== null && older.measurementVersion === MEASUREMENT_VERSION;
  let summary = current ? await readJsonFile(summaryPath, summarySchema) : null;
  let summarySource: LoadedRun['summarySource'] = 'file';
  if (older === null) {
    if (options.requireSummary) throw new RunFolderError('missing (the run did not finish)', summaryPath);
    summary = summarize({ info, events, samples, status: 'incomplete', storage: null, finishedAt: null });
    summarySource = 'derived';
    warnings.push(`${summaryPath}: missing; summary derived from the events and marked incomplete`);
  } else if (summary === null) {
    // Written with older measurement definitions: the same events under today's definitions.
    const kept =
      (older.measurementVersion ?? 1) >= STORAGE_DEFINED_SINCE ? storageSchema.safeParse(older.storage) : undefined;
    const storage = kept?.success ? { data: kept.data.data, copies: kept.data.copies } : null;
    summary = summarize({ info, events, samples, status: older.status, storage, finishedAt: older.finishedAt });
    summary.runId = older.runId;
    summarySource = 'recomputed';
    const sizes = storage ? ' (storage sizes kept)' : ' (storage sizes unknown)';
    warnings.push(
      `${summaryPath}: computed with measurement definitions v${older.measurementVersion ?? 1}; ` +
        `recomputed from the events with v${MEASUREMENT_VERSION}${sizes}`,
    );
  }
  if (summary.runId !== info.runId) {
    throw new RunFolderError(`belongs to run ${summary.runId}, but run.json says ${info.runId}`, summaryPath);
  }
  return { dir, info, events, samples, summary, summarySource, warnings };
}

function isRunFolder(dir: string): boolean {
  return existsSync(join(dir, RUN_FILE_NAMES.info));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const GLOB_CHARS = /[*?]/;

/** `*` (any run of characters but '/') and `?` (one character), matched against one path segment. */
export function segmentMatcher(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function expandGlob(pattern: string): string[] {
  const absolute = isAbsolute(pattern);
  const parts = pattern.split(/[\\/]+/).filter((p, i) => p !== '' || i === 0);
  let current = [absolute ? sep : '.'];
  for (const part of parts) {
    if (part === '') continue;
    if (!GLOB_CHARS.test(part)) {
      current = current.map((base) => join(base, part)).filter((p) => existsSync(p));
      continue;
    }
    const re = segmentMatcher(part);
    const next: string[] = [];
    for (const base of current) {
      if (!isDirectory(base)) continue;
      for (const name of readdirSync(base).sort()) {
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (re.test(name)) next.push(join(base, name));
      }
    }
    current = next;
  }
  return current;
}

/**
 * Turns run folders, folders of run folders and glob patterns (`*` and `?` in any path
 * segment; no `**`) into a sorted list of run folders. A literal folder that is not a run
 * folder but holds run folders stands for them. A pattern that matches no run folder, or a
 * path that does not exist, is an error.
 */
export async function expandRunPaths(patterns: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const pattern of patterns) {
    if (GLOB_CHARS.test(pattern)) {
      const matches = expandGlob(pattern).filter((p) => isDirectory(p) && isRunFolder(p));
      if (matches.length === 0) throw new RunFolderError('matches no run folder', pattern);
      for (const m of matches) out.add(resolve(m));
      continue;
    }
    if (!existsSync(pattern)) throw new RunFolderError('no such run folder', pattern);
    if (!isDirectory(pattern)) {
      // A file inside a run folder (e.g. runs/x/summary.json) names its folder.
      if ((Object.values(RUN_FILE_NAMES) as string[]).includes(basename(pattern)) && isRunFolder(dirname(pattern))) {
        out.add(resolve(dirname(pattern)));
        continue;
      }
      throw new RunFolderError('is not a folder', pattern);
    }
    if (isRunFolder(pattern)) {
      out.add(resolve(pattern));
      continue;
    }
    const children = readdirSync(pattern)
      .sort()
      .map((name) => join(pattern, name))
      .filter((p) => isDirectory(p) && isRunFolder(p));
    if (children.length === 0)
      throw new RunFolderError(
        `is neither a run folder (no ${RUN_FILE_NAMES.info}) nor a folder of run folders`,
        pattern,
      );
    for (const c of children) out.add(resolve(c));
  }
  return [...out].sort();
}

/** A run folder that could not be read, and why. */
export interface UnreadableRun {
  dir: string;
  error: RunFolderError;
}

/**
 * Loads every folder that can be read and names the ones that cannot, so one broken folder does
 * not hide the others. Throws (a RunFolderError listing them) only when none can be read.
 */
export async function loadReadableRuns(
  dirs: readonly string[],
  options: LoadOptions = {},
): Promise<{ runs: LoadedRun[]; unreadable: UnreadableRun[] }> {
  const runs: LoadedRun[] = [];
  const unreadable: UnreadableRun[] = [];
  for (const dir of dirs) {
    try {
      runs.push(await loadRun(dir, options));
    } catch (error) {
      const folderError =
        error instanceof RunFolderError
          ? error
          : new RunFolderError(`cannot be read: ${(error as Error).message}`, dir);
      unreadable.push({ dir, error: folderError });
    }
  }
  if (runs.length === 0 && unreadable.length > 0) {
    const reasons = unreadable.map((u) => `  - ${u.error.message}`).join('\n');
    throw new RunFolderError(`no run folder could be read:\n${reasons}`, unreadable[0].dir);
  }
  return { runs, unreadable };
}

/** loadRun over expandRunPaths. */
export async function loadRuns(patterns: readonly string[], options: LoadOptions = {}): Promise<LoadedRun[]> {
  const dirs = await expandRunPaths(patterns);
  const runs: LoadedRun[] = [];
  for (const dir of dirs) runs.push(await loadRun(dir, options));
  return runs;
}
