// The output conventions every long command follows (docs/terminal.md). stdout carries results,
// or with --json one JSON object per line and nothing else; stderr carries progress, notes and
// errors. On a terminal the progress is a live region rewritten in place (log-update); without
// one (a pipe, a file, CI) it is plain lines. --quiet leaves errors and the final line.
import { createLogUpdate } from 'log-update';
import picocolors from 'picocolors';
import type { Argv } from 'yargs';
import { z } from 'zod';
import { runEventSchema } from '../core/events.js';

export type OutputMode = 'live' | 'lines' | 'json' | 'quiet';
export type Colors = ReturnType<typeof picocolors.createColors>;

export interface OutputFlags {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

/**
 * The last line a command other than `bench run` writes under --json: what it made, as data.
 * (`bench run --json` writes the run's events only; the first names the run folder.)
 */
export const resultLineSchema = z.looseObject({ type: z.literal('result'), command: z.string() });
export type ResultLine = z.infer<typeof resultLineSchema>;
/** Every line a command writes to stdout under --json. */
export const jsonLineSchema = z.union([runEventSchema, resultLineSchema]);

/** The --json, --quiet and --verbose flags every long command takes. */
export function withOutputFlags<T>(yargs: Argv<T>): Argv<T & OutputFlags> {
  return yargs
    .option('json', {
      type: 'boolean',
      describe: 'one JSON object per line on stdout and nothing else (errors on stderr)',
    })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print only errors and the final line' })
    .option('verbose', {
      alias: 'v',
      type: 'boolean',
      describe: 'more detail (bench run: every config after every epoch)',
    })
    .group(['json', 'quiet', 'verbose'], 'Output:')
    .conflicts('json', 'quiet') as unknown as Argv<T & OutputFlags>;
}

type Env = Readonly<Record<string, string | undefined>>;

/** A flag variable that is set: present, not empty, not "0" or "false". */
function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** A live display needs a terminal that is not a CI log or a dumb terminal. */
export function isInteractive(stream: { isTTY?: boolean }, env: Env = process.env): boolean {
  return stream.isTTY === true && !isSet(env.CI) && env.TERM !== 'dumb';
}

/** Colour on a terminal unless NO_COLOR is set (no-color.org); FORCE_COLOR turns it on anywhere. */
export function colorEnabled(stream: { isTTY?: boolean }, env: Env = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (isSet(env.FORCE_COLOR)) return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function outputMode(
  flags: OutputFlags,
  stream: { isTTY?: boolean } = process.stderr,
  env: Env = process.env,
): OutputMode {
  if (flags.json) return 'json';
  if (flags.quiet) return 'quiet';
  return isInteractive(stream, env) ? 'live' : 'lines';
}

/** The part of a terminal rewritten in place; lines written meanwhile go above it. */
export class LiveRegion {
  private readonly render: ReturnType<typeof createLogUpdate>;
  private frame = '';

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.render = createLogUpdate(stream);
  }

  get columns(): number {
    return this.stream.columns || 80;
  }

  get rows(): number {
    return this.stream.rows || 24;
  }

  show(frame: string): void {
    this.frame = frame;
    if (frame === '') this.render.clear();
    else this.render(frame);
  }

  /** Writes above the region: clears it, writes, draws it again. */
  above(write: () => void): void {
    if (this.frame !== '') this.render.clear();
    write();
    if (this.frame !== '') this.render(this.frame);
  }

  /** Clears the region for good (the cursor comes back). */
  close(): void {
    this.render.clear();
    this.render.done();
    this.frame = '';
  }
}

export interface OutputOptions {
  mode: OutputMode;
  verbose?: boolean;
  color?: boolean;
  /** Where progress goes; the live region needs it to be a terminal. */
  stderr?: NodeJS.WriteStream;
}

export class Output {
  readonly mode: OutputMode;
  readonly verbose: boolean;
  readonly colors: Colors;
  readonly stderr: NodeJS.WriteStream;
  private region: LiveRegion | undefined;

  constructor(options: OutputOptions) {
    this.mode = options.mode;
    this.verbose = options.verbose === true;
    this.stderr = options.stderr ?? process.stderr;
    const color =
      options.color ?? (options.mode === 'live' || options.mode === 'lines' ? colorEnabled(this.stderr) : false);
    this.colors = picocolors.createColors(color);
  }

  /** The conventions for these flags on this process's terminal and environment. */
  static fromFlags(flags: OutputFlags): Output {
    return new Output({ mode: outputMode(flags), verbose: flags.verbose });
  }

  /** Humans read the progress: live or plain lines. */
  get forHumans(): boolean {
    return this.mode === 'live' || this.mode === 'lines';
  }

  /** The live region on a terminal (made on first use); undefined in every other mode. */
  live(): LiveRegion | undefined {
    if (this.mode !== 'live') return undefined;
    this.region ??= new LiveRegion(this.stderr);
    return this.region;
  }

  /** Ends the live region, if there is one. */
  close(): void {
    this.region?.close();
    this.region = undefined;
  }

  private write(target: 'out' | 'err', text: string): void {
    const print = (): void => (target === 'out' ? console.log(text) : console.error(text));
    if (this.region) this.region.above(print);
    else print();
  }

  /** A result for humans (tables, summaries): stdout, unless --json or --quiet. */
  result(text: string): void {
    if (this.forHumans) this.write('out', text);
  }

  /** The command's final line: stdout in every mode but --json. */
  final(text: string): void {
    if (this.mode !== 'json') this.write('out', text);
  }

  /** Progress and notes: stderr for humans; a `log` line under --json; nothing under --quiet. */
  info(text: string): void {
    if (this.forHumans) this.write('err', text);
    else if (this.mode === 'json') this.json({ type: 'log', level: 'info', message: text, at: Date.now() });
  }

  /** A warning: stderr, unless --quiet. */
  warn(text: string): void {
    if (this.mode !== 'quiet') this.write('err', this.colors.yellow(`warning: ${text}`));
  }

  /** An error: stderr, always. */
  error(text: string): void {
    this.write('err', this.colors.red(text));
  }

  /** One JSON line on stdout, under --json only. */
  json(value: object): void {
    if (this.mode === 'json') process.stdout.write(`${JSON.stringify(value)}\n`);
  }
}
