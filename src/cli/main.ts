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
import { commandFlags, unknownFlags } from './flags.js';
import type { CommandModule } from 'yargs';

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
] as unknown as CommandModule<object, object>[];

const cli = yargs(hideBin(process.argv)).scriptName('bench');
for (const command of COMMANDS) cli.command(command);
await cli
  .demandCommand(1, 'say which command to run; see bench --help')
  .strict()
  .fail((message, error, y) => {
    if (error) {
      console.error(`bench: ${error.message}`);
    } else {
      const argv = hideBin(process.argv);
      const command = COMMANDS.find((c) => String(c.command).split(' ')[0] === argv[0]);
      const unknown = command ? unknownFlags(argv.slice(1), commandFlags(command)) : [];
      // An unknown flag explains a "missing required argument" that yargs reports first (--aproach).
      const said = unknown.length > 0 ? unknown.join('\n') : message;
      console.error(`${y.help()}\n\nbench: ${said}`);
    }
    process.exit(2);
  })
  .help()
  .parseAsync();
