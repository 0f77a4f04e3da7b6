#!/usr/bin/env -S npx tsx
// The `bench` command line.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { dbCommand } from './commands/db.js';
import { demoCommand } from './commands/demo.js';
import { listCommand } from './commands/list.js';
import { runCommand } from './commands/run.js';

await yargs(hideBin(process.argv))
  .scriptName('bench')
  .command(runCommand)
  .command(listCommand)
  .command(dbCommand)
  .command(demoCommand)
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
