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
import { simulateCommand } from './commands/simulate.js';
import { dataCommand } from './commands/data.js';
import { inspectCommand } from './commands/inspect.js';

await yargs(hideBin(process.argv))
  .scriptName('bench')
  .command(runCommand)
  .command(listCommand)
  .command(dbCommand)
  .command(demoCommand)
  .command(dataCommand)
  .command(simulateCommand)
  .command(reportCommand)
  .command(compareCommand)
  .command(inspectCommand)
  .demandCommand(1, 'say which command to run; see bench --help')
  .strict()
  .fail((message, error, y) => {
    if (error) {
      console.error(`bench: ${error.message}`);
    } else {
      console.error(`${y.help()}\n\nbench: ${message}`);
    }
    process.exit(2);
  })
  .help()
  .parseAsync();
