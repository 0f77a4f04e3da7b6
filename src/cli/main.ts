#!/usr/bin/env -S npx tsx
// The `bench` command line.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { dbCommand } from './commands/db.js';
import { demoCommand } from './commands/demo.js';
import { listCommand } from './commands/list.js';
import { runCommand } from './commands/run.js';
import { reportCommand } from './commands/report.js';
import { compareCommand } from './commands/compare.js';
import { baselineCommand } from './commands/baseline.js';
import { simulateCommand } from './commands/simulate.js';
import { dataCommand } from './commands/data.js';
import { inspectCommand } from './commands/inspect.js';
import { STUDY_COMMANDS, studyCommand } from './commands/study.js';
import { reproduceCommand } from './commands/reproduce.js';
import { commandFlags, unknownFlags } from './flags.js';
import type { CommandModule } from 'yargs';
import { redact } from '../core/secrets.js';
import { usePasswordFile } from '../db/credentials.js';
import { DB_COMMANDS } from './commands/db.js';

const COMMANDS = [
  runCommand,
  listCommand,
  dbCommand,
  demoCommand,
  dataCommand,
  simulateCommand,
  reportCommand,
  compareCommand,
  baselineCommand,
  inspectCommand,
  studyCommand,
  reproduceCommand,
] as unknown as CommandModule<object, object>[];

/** Flags every command accepts. */
const GLOBAL_FLAGS = ['password-file', 'passwordFile'];

/** The command (or `db` subcommand) argv names, and the arguments after its name. */
function namedCommand(argv: string[]): { command?: CommandModule<object, object>; rest: string[] } {
  const top = COMMANDS.find((c) => String(c.command).split(' ')[0] === argv[0]);
  const subcommands =
    top === (dbCommand as unknown) ? DB_COMMANDS : top === (studyCommand as unknown) ? STUDY_COMMANDS : undefined;
  if (!subcommands) return { command: top, rest: argv.slice(1) };
  const sub = (subcommands as unknown as CommandModule<object, object>[]).find(
    (c) => String(c.command).split(' ')[0] === argv[1],
  );
  return { command: sub, rest: argv.slice(2) };
}

const cli = yargs(hideBin(process.argv)).scriptName('bench');
for (const command of COMMANDS) cli.command(command);
await cli
  .option('password-file', {
    type: 'string',
    global: true,
    describe: 'passwords in ~/.pgpass format (host:port:database:user:password), instead of PGPASSFILE / ~/.pgpass',
  })
  .middleware((argv) => usePasswordFile(argv['password-file'] as string | undefined))
  .demandCommand(1, 'say which command to run; see bench --help')
  .strict()
  .fail((message, error, y) => {
    if (error) {
      console.error(`bench: ${redact(error.message)}`);
      // A run stopped by a signal exits as the shell expects (128 + the signal's number).
      const { exitCode } = error as { exitCode?: unknown };
      if (typeof exitCode === 'number') process.exit(exitCode);
    } else {
      const { command, rest } = namedCommand(hideBin(process.argv));
      const unknown = command ? unknownFlags(rest, new Set([...commandFlags(command), ...GLOBAL_FLAGS])) : [];
      // An unknown flag explains a "missing required argument" that yargs reports first (--aproach).
      const said = unknown.length > 0 ? unknown.join('\n') : message;
      console.error(`${y.help()}\n\nbench: ${redact(said)}`);
    }
    process.exit(2);
  })
  .help()
  .parseAsync();
