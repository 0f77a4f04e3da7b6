// The output conventions for the benchmark scripts under bench/ (docs/terminal.md): they take
// --json, --quiet and --verbose like the commands, show their runs as one job on stderr, and print
// their tables on stdout.
import { Output, type OutputFlags } from './output.js';
import { Progress } from './progress.js';

export interface ScriptOutput {
  output: Output;
  progress: Progress;
  /** The arguments left for the script's own parser. */
  args: string[];
}

/** Takes the output flags out of a script's arguments. */
export function scriptOutput(argv: readonly string[] = process.argv.slice(2)): ScriptOutput {
  const flags: OutputFlags = {};
  const args: string[] = [];
  for (const arg of argv) {
    if (arg === '--json') flags.json = true;
    else if (arg === '--quiet' || arg === '-q') flags.quiet = true;
    else if (arg === '--verbose' || arg === '-v') flags.verbose = true;
    else args.push(arg);
  }
  if (flags.json && flags.quiet) throw new Error('--json and --quiet exclude each other');
  const output = Output.fromFlags(flags);
  return { output, progress: new Progress(output), args };
}
